"""Flags are validated at graph-build time; the CLI runs as users call it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.graph import build_pipeline
from tests.conftest import ROOT, SEEDS


def _build(tmp_path, *flags):
    options = PipelineOptions(["--input", str(SEEDS), "--output", str(tmp_path / "o"), *flags])
    build_pipeline(beam.Pipeline(options=options), options)


@pytest.mark.parametrize(
    "flags,named",
    [
        (["--min_chars", "-1"], "--min_chars"),
        (["--max_bytes", "0"], "--max_bytes"),
        (["--lang_min_prob", "1.5"], "--lang_min_prob"),
        (["--lang_prefix_chars", "0"], "--lang_prefix_chars"),
        (["--ingested_at", "last tuesday"], "--ingested_at"),
        (["--manifest", "/no/such/manifest.csv"], "--manifest"),
        (["--input", "/no/such/folder"], "--input"),
        (["--dedup_containment_anywhere", "0.3"], "--dedup_containment_anywhere"),
        (["--dedup_lead", "0"], "--dedup_lead"),
        (["--dedup_anchor_every", "0"], "--dedup_anchor_every"),
        (["--dedup_containment", "1.2"], "--dedup_containment"),
        (["--dedup_horizon_days", "0"], "--dedup_horizon_days"),
        (["--dedup_max_anchors", "0"], "--dedup_max_anchors"),
        (["--dedup_max_reps", "0"], "--dedup_max_reps"),
        (["--taxonomy", "/no/such/taxonomy.yaml"], "--taxonomy"),
        (["--topic_min_score", "0"], "--topic_min_score"),
        (["--topic_min_share", "1.5"], "--topic_min_share"),
        (["--allowed_lateness_hours", "0"], "--allowed_lateness_hours"),
        (["--window_minutes", "-1"], "--window_minutes"),
        (["--requests_per_host", "0"], "--requests_per_host"),
        (["--fetch_retries", "-1"], "--fetch_retries"),
        (["--allow_networks", "intranet"], "--allow_networks"),
        (["--once"], "--once"),
        (["--feeds", "/no/such/feeds.txt"], "--feeds cannot be combined with --input"),
    ],
)
def test_bad_flags_raise_value_error_naming_the_flag(tmp_path, flags, named):
    with pytest.raises(ValueError, match=named):
        _build(tmp_path, *flags)


def test_missing_required_flags(tmp_path):
    with pytest.raises(ValueError, match="--input"):
        build_pipeline(beam.Pipeline(), PipelineOptions(["--output", str(tmp_path)]))
    with pytest.raises(ValueError, match="--output"):
        build_pipeline(beam.Pipeline(), PipelineOptions(["--input", str(SEEDS)]))


def test_manifest_without_file_column_is_refused(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("name,url\n")
    with pytest.raises(ValueError, match="--manifest"):
        _build(tmp_path, "--manifest", str(bad))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "newsbeam"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_console_script_runs_and_prints_the_summary(tmp_path):
    done = _cli("run", "--input", str(SEEDS), "--output", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "articles written  5" in done.stdout and "languages         ar 5" in done.stdout
    assert "5 = 5 + 0 + 0 + 0  ok" in done.stdout


def test_module_entry_point_and_clear_error(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "something.txt").write_text("user data")
    cmd = [sys.executable, "-m", "pipeline.run", "--input", str(SEEDS), "--output", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "--output" in done.stderr and "--overwrite" in done.stderr and "Traceback" not in done.stderr


def test_unknown_command_and_help(tmp_path):
    assert _cli("frobnicate", cwd=tmp_path).returncode == 2
    helped = _cli("--help", cwd=tmp_path)
    assert helped.returncode == 0 and "run" in helped.stdout


def _source(tmp_path, *flags):
    options = PipelineOptions(["--output", str(tmp_path / "o"), *flags])
    build_pipeline(beam.Pipeline(options=options), options)


def test_streaming_sources_are_checked_when_the_graph_is_built(tmp_path):
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("https://news.example/rss\n")
    bad = tmp_path / "bad.txt"
    bad.write_text("https://news.example/rss\nnews.example/atom\n")
    cases = [
        (["--feeds", str(tmp_path / "missing.txt"), "--once"], "--feeds .* does not exist"),
        (["--feeds", str(bad), "--once"], "--feeds .*news.example/atom"),
        (["--feeds", str(feeds)], "--once"),
        (["--feeds", str(feeds), "--streaming"], "--polls N"),
        (["--feeds", str(feeds), "--polls", "0"], "--polls"),
        (["--feeds", str(feeds), "--once", "--polls", "2"], "--polls"),
        (["--input_subscription", "my-subscription", "--streaming"], "--input_subscription"),
        (["--input_topic", "projects/p/subscriptions/s", "--streaming"], "--input_topic"),
        (["--input_subscription", "projects/p/subscriptions/s"], "--streaming"),
        (["--input_topic", "projects/p/topics/t", "--feeds", str(feeds)], "cannot be combined"),
    ]
    for flags, message in cases:
        with pytest.raises(ValueError, match=message):
            _source(tmp_path, *flags)
