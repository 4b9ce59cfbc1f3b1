"""The command line refuses what it cannot do, in one line, and never harms
the previous output: unknown flags, help and version, a file as --output,
publishing without credentials, a closed stdout, input with no documents,
and --overwrite that swaps the new tables in only once the run succeeded.
Also: the local runner is pinned, so no run tries to fetch Beam's Prism."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import cli
from pipeline import run as run_module
from pipeline.options import flag_parser
from tests.conftest import PINNED_INGEST, ROOT, SEEDS


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder``: relative path -> sha256 (or 'dir')."""
    if not folder.exists():
        return {}
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        found[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> Path:
    """A finished run's output, copied afresh for each test that needs one."""
    out = tmp_path_factory.mktemp("previous") / "out"
    assert run_module.main(["--input", str(SEEDS), "--output", str(out), "--ingested_at", PINNED_INGEST]) == 0
    (out / "notes.txt").write_text("the user's own file")
    return out


@pytest.fixture
def old(previous, tmp_path) -> Path:
    import shutil

    dest = tmp_path / "old"
    shutil.copytree(previous, dest)
    return dest


# --- 11: the local runner is pinned -----------------------------------------


def test_default_runner_never_tries_prism(monkeypatch, tmp_path):
    from apache_beam.runners.portability import prism_runner
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    tried, used = [], []

    def no_prism(self, pipeline, options):
        tried.append(True)
        raise RuntimeError("Prism was asked for: it would download its binary")

    original = fn_runner.FnApiRunner.run_pipeline

    def fn_api(self, pipeline, options):
        used.append(type(self).__name__)
        return original(self, pipeline, options)

    monkeypatch.setattr(prism_runner.PrismRunner, "run_pipeline", no_prism)
    monkeypatch.setattr(fn_runner.FnApiRunner, "run_pipeline", fn_api)
    for runner in ([], ["--runner", "DirectRunner"]):
        out = tmp_path / f"out{len(used)}"
        summary = run_module.run(["--input", str(SEEDS), "--output", str(out), "--ingested_at", PINNED_INGEST, *runner])
        assert summary.articles == 5
    assert not tried, "the run tried the PrismRunner first"
    assert used == ["FnApiRunner", "FnApiRunner"]


# --- 13: --overwrite swaps the new output in only after success --------------


def test_refused_overwrite_leaves_the_previous_output(old, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("conflicts: [unclosed\n")
    before = snapshot(old)
    for flags, named in [
        (["--input", "/nonexistent"], "--input"),
        (["--input", str(SEEDS), "--taxonomy", str(bad)], "--taxonomy"),
    ]:
        code, _, err = _run(capsys, "run", *flags, "--output", str(old), "--overwrite")
        assert code == 2
        assert named in _one_line(err)
        assert snapshot(old) == before


def _fail_after_one_file(monkeypatch) -> list[int]:
    """Make the writers fail once a first Parquet file is written."""
    from transforms.write import WritePaneFn

    original = WritePaneFn._write
    calls: list[int] = []

    def fail_after_one_file(self, *args):
        calls.append(1)
        if len(calls) > 1:
            raise OSError("disk full")
        yield from original(self, *args)

    monkeypatch.setattr(WritePaneFn, "_write", fail_after_one_file)
    return calls


def test_a_run_failing_mid_way_leaves_the_previous_output(old, monkeypatch):
    calls = _fail_after_one_file(monkeypatch)
    before = snapshot(old)
    with pytest.raises(Exception, match="disk full"):
        run_module.run(["--input", str(SEEDS), "--output", str(old), "--overwrite", "--ingested_at", PINNED_INGEST])
    assert len(calls) > 1  # it did fail mid-way, after writing a file
    assert snapshot(old) == before


def test_a_failed_first_run_leaves_no_output_folder(tmp_path, monkeypatch):
    calls = _fail_after_one_file(monkeypatch)
    out = tmp_path / "fresh"
    with pytest.raises(Exception, match="disk full"):
        run_module.run(["--input", str(SEEDS), "--output", str(out)])
    assert len(calls) > 1
    assert not out.exists()


def test_old_tables_stay_until_the_new_ones_land(old, monkeypatch):
    from transforms.write import WritePaneFn

    original = WritePaneFn._write
    old_articles = sorted(p for p in (old / "articles").rglob("*.parquet"))
    seen = []

    def watching(self, *args):
        seen.append(all(p.exists() for p in old_articles))
        yield from original(self, *args)

    monkeypatch.setattr(WritePaneFn, "_write", watching)
    summary = run_module.run(["--input", str(SEEDS), "--output", str(old), "--overwrite", "--no_dedup",
                              "--ingested_at", PINNED_INGEST])  # fmt: skip
    assert summary.articles == 5
    assert seen and all(seen), "the old tables were gone while the new ones were written"
    names = {p.name for p in old.iterdir()}
    assert names == {
        "articles",
        "duplicates",
        "rejects",
        "stories",
        "_summary.json",
        "_runs",
        "_state",
        "notes.txt",
    }  # no staging left
    assert len(list((old / "_runs").iterdir())) == 1  # the old run's log went with the old tables
    assert (old / "notes.txt").read_text() == "the user's own file"
    assert '"dedup": {}' in (old / "_summary.json").read_text()  # the new summary went with the tables


def test_overwrite_is_refused_for_a_job_that_is_not_waited_for(tmp_path, capsys):
    cloud = ["--runner", "DataflowRunner", "--project", "p", "--region", "europe-west1",
             "--temp_location", "gs://b/tmp", "--setup_file", str(ROOT / "setup.py")]  # fmt: skip
    streaming = [*cloud, "--input_subscription", "projects/p/subscriptions/s", "--output", "gs://b/out"]
    for flags in (streaming, [*cloud, "--input", "gs://b/in", "--output", "gs://b/out", "--no_wait_until_finish"]):
        code, _, err = _run(capsys, "run", *flags, "--overwrite")
        assert code == 2
        assert "--overwrite" in _one_line(err)


# --- 14: unknown flags are refused -----------------------------------------


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--min_char", "100"], "unknown flag --min_char (did you mean --min_chars?)"),
        (["--runer", "DataflowRunner"], "unknown flag --runer (did you mean --runner?)"),
        (["--limit", "10"], "unknown flag --limit (newsbeam run --help lists the flags)"),
        (["--lang_seed=3", "--favor_precison"], "unknown flag --favor_precison (did you mean --favor_precision?)"),
        # A value of the wrong type: one line naming the flag, not argparse's usage text.
        (["--min_chars", "abc"], "argument --min_chars: invalid int value: 'abc'"),
        (["--dedup_containment="], "argument --dedup_containment: invalid float value: ''"),
        (["--direct_num_workers", "two"], "argument --direct_num_workers: invalid int value: 'two'"),
        # A one-value flag given twice: argparse kept the last, silently.
        (["--min_chars", "10", "--min_chars=20"], "--min_chars is given twice: give it once"),
    ],
)
def test_unknown_flags_are_refused(tmp_path, capsys, flags, message):
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "run", "--input", str(SEEDS), "--output", str(out), *flags)
    assert code == 2
    assert _one_line(err) == f"newsbeam: error: {message}"
    assert not out.exists() and stdout == ""


def test_unknown_flags_are_refused_by_plan_and_replay(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _run(capsys, "replay", str(SEEDS), "--output", str(out), "--min_char", "5")
    assert code == 2 and "unknown flag --min_char (did you mean --min_chars?)" in _one_line(err)
    code, _, err = _run(capsys, "plan", "--plan_dir", str(tmp_path / "plan"), "--runer", "DataflowRunner")
    assert code == 2 and "unknown flag --runer (did you mean --runner?)" in _one_line(err)
    assert not out.exists() and not (tmp_path / "plan").exists()


def test_a_stray_argument_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _run(capsys, "run", str(SEEDS), "--output", str(out))
    assert code == 2 and str(SEEDS) in _one_line(err)
    assert not out.exists()


def test_beam_and_newsbeam_flags_are_still_accepted(tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, _ = _run(capsys, "run", "--input", str(SEEDS), "--output", str(out), "--min_chars=100",
                           "--direct_num_workers", "1", "--no_dedup", "--job_name", "x")  # fmt: skip
    assert code == 0 and "articles written  5" in stdout


# --- 15: help, version, clear errors ----------------------------------------


def test_run_help_lists_every_flag_in_groups(capsys):
    code, out, _ = _run(capsys, "run", "--help")
    assert code == 0
    for action in flag_parser()._actions:
        assert action.option_strings[0] in out, action.option_strings[0]
    headers = ["input:", "extraction:", "language:", "dedup:", "topics:", "streaming:", "fetching:", "output:"]
    positions = [out.index(f"\n{h}\n") for h in headers]
    assert positions == sorted(positions)
    assert "Reject articles whose extracted body is shorter" in out  # the flags' own help
    assert "--help-beam" in out


def test_every_flag_is_in_exactly_one_help_section():
    from pipeline.options import FLAG_GROUPS

    grouped = [name for names in FLAG_GROUPS.values() for name in names]
    flags = [a.option_strings[0].lstrip("-") for a in flag_parser()._actions]
    assert sorted(grouped) == sorted(flags)


def test_help_beam_lists_beams_own_options(capsys):
    code, out, _ = _run(capsys, "run", "--help-beam")
    assert code == 0
    assert "--runner" in out and "--direct_num_workers" in out and "--temp_location" in out
    assert "--min_chars" not in out


def test_output_under_a_file_or_over_a_table_file_is_one_clear_line(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_bytes(b"precious")
    code, _, err = _run(capsys, "run", "--input", str(SEEDS), "--output", str(target / "out"))
    assert code == 2
    assert _one_line(err) == (
        f"newsbeam: error: --output {str(target / 'out')!r} cannot be created: {str(target)!r} is a file, not a folder"
    )
    old = tmp_path / "old"
    old.mkdir()
    (old / "articles").write_bytes(b"not a table")
    before = snapshot(old)
    code, _, err = _run(capsys, "run", "--input", str(SEEDS), "--output", str(old), "--append")
    assert code == 2
    assert (
        _one_line(err)
        == f"newsbeam: error: --output {str(old)!r} holds a file 'articles' where its articles folder goes"
    )
    assert snapshot(old) == before and target.read_bytes() == b"precious"


@pytest.mark.parametrize(
    "manifest, message",
    [
        (b"file,published\n000.txt,2020-11-09\n001.txt,not-a-date\n",
         "line 3: row for '001.txt': cannot parse published='not-a-date'"),
        (b"file,outlet\n000.txt,A\n./000.txt,Dup\n", "line 3: a second row for '000.txt' (the first is on line 2)"),
    ],
)  # fmt: skip
def test_a_manifest_row_that_cannot_be_used_is_one_line_before_the_run(tmp_path, capsys, manifest, message):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("000.txt", "001.txt"):
        (folder / name).write_text((SEEDS / "000_bbe93062319f189f.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "manifest.csv").write_bytes(manifest)
    out = tmp_path / "out"
    code, _, err = _run(capsys, "run", "--input", str(folder), "--output", str(out))
    assert code == 2
    assert _one_line(err) == f"newsbeam: error: --manifest {str(folder / 'manifest.csv')!r}: {message}"
    assert not out.exists()


def test_manifest_rows_naming_no_file_of_the_input_are_reported_and_the_run_goes_on(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "000.txt").write_text((SEEDS / "000_bbe93062319f189f.txt").read_text(encoding="utf-8"), encoding="utf-8")
    rows = [f"{name},Outlet,,2020-11-09T12:00:00Z" for name in ("000.txt", *(f"gone{i}.txt" for i in range(7)))]
    (folder / "manifest.csv").write_text("file,outlet,url,published\n" + "\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = _run(capsys, "run", "--input", str(folder), "--output", str(tmp_path / "out"))
    assert code == 0, err
    assert (
        f"newsbeam: {folder / 'manifest.csv'}: 7 of 8 rows name no file of --input "
        "(gone0.txt, gone1.txt, gone2.txt, gone3.txt, gone4.txt and 2 more); their metadata is not used"
    ) in err.splitlines()
    assert "articles written  1" in out
    assert "records in = articles + duplicates + rejects + already_ingested: 1 = 1 + 0 + 0 + 0  ok" in out
    # Every row matched: nothing said.
    (folder / "manifest.csv").write_text("file,outlet,url,published\n" + rows[0] + "\n", encoding="utf-8")
    code, _, err = _run(capsys, "run", "--input", str(folder), "--output", str(tmp_path / "out2"))
    assert code == 0 and "name no file" not in err


def test_a_manifest_that_is_not_utf8_is_named(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "000.txt").write_text("x", encoding="utf-8")
    (folder / "manifest.csv").write_bytes(b"file,outlet\n000.txt,Caf\xe9\n")
    code, _, err = _run(capsys, "run", "--input", str(folder), "--output", str(tmp_path / "out"))
    assert code == 2
    assert _one_line(err) == (
        f"newsbeam: error: --manifest {str(folder / 'manifest.csv')!r} is not UTF-8: byte 0xe9 at offset 23"
    )


def test_version(capsys):
    import importlib.metadata

    code, out, _ = _run(capsys, "--version")
    assert code == 0 and out.strip() == f"newsbeam {importlib.metadata.version('newsbeam')}"


def test_output_that_is_a_file_is_one_clear_line(tmp_path, capsys):
    target = tmp_path / "out.parquet"
    target.write_bytes(b"precious")
    code, _, err = _run(capsys, "run", "--input", str(SEEDS), "--output", str(target))
    assert code == 2
    assert _one_line(err) == f"newsbeam: error: --output {str(target)!r} is a file, not a folder"
    assert target.read_bytes() == b"precious"


def test_publish_without_credentials_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    code, out, err = _run(capsys, "publish", str(SEEDS), "--topic", "projects/p/topics/t")
    assert code == 1
    line = _one_line(err)
    assert line.startswith("newsbeam publish: error: no Google Cloud credentials") and "no-such-key.json" in line
    assert out == ""


def test_publish_refuses_a_truncated_archive_before_sending_anything(tmp_path, capsys):
    import gzip

    folder = tmp_path / "docs"
    shutil.copytree(SEEDS, folder)
    whole = gzip.compress((SEEDS / "000_bbe93062319f189f.txt").read_bytes())
    (folder / "cut.txt.gz").write_bytes(whole[: len(whole) // 2])
    code, out, err = _run(capsys, "publish", str(folder), "--topic", "projects/p/topics/t")
    line = _one_line(err)
    assert code == 2 and out == ""
    assert line.startswith("newsbeam publish: error: cannot read ") and "cut.txt.gz: unreadable: Truncated" in line


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"]])
def test_a_closed_stdout_exits_quietly(tmp_path, args):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `newsbeam ... | head` once head has gone
    try:
        exe = Path(sys.executable).parent / "newsbeam"
        done = subprocess.run([str(exe), *args], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert "BrokenPipeError" not in done.stderr and "Traceback" not in done.stderr


# --- 16: a run that reads no document says so --------------------------------


def test_a_folder_of_unsupported_files_is_refused(tmp_path, capsys):
    folder = tmp_path / "warcs"
    folder.mkdir()
    for name in ("a.warc.gz", "b.warc.gz", "c.PDF"):
        (folder / name).write_bytes(b"x")
    out = tmp_path / "out"
    code, _, err = _run(capsys, "run", "--input", str(folder), "--output", str(out))
    assert code == 2
    assert _one_line(err) == (
        f"newsbeam: error: --input {str(folder)!r} has no documents to read: 3 files skipped "
        "(.warc.gz 2, .pdf 1); newsbeam reads .html/.htm/.xhtml/.shtml, .txt, .jsonl/.ndjson, "
        "optionally compressed (.gz, .bz2, .zst, .deflate, .xz)"
    )
    assert not out.exists()


def test_a_run_that_read_no_document_fails(old, capsys, monkeypatch):
    # Documents when the graph is built, none when the workers read them
    # (gone in between, say): the run itself must notice.
    monkeypatch.setattr("transforms.read.kind_of", lambda path: None)
    before = snapshot(old)
    code, stdout, err = _run(capsys, "run", "--input", str(SEEDS), "--output", str(old), "--overwrite")
    assert code == 1
    assert "documents read    0  (6 other files skipped: .txt 5, .csv 1)" in stdout
    assert _one_line(err) == (
        f"newsbeam: error: no document was read from --input {str(SEEDS)!r} (6 other files skipped: .txt 5, .csv 1): "
        "nothing was written to --output"
    )
    assert snapshot(old) == before  # nothing swapped in


def test_a_watched_folder_may_start_empty(tmp_path, capsys):
    folder = tmp_path / "watched"
    folder.mkdir()
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "run", "--input", str(folder), "--output", str(out), "--polls", "1",
                             "--poll_seconds", "0.1")  # fmt: skip
    assert code == 0, err
    assert "documents read    0" in stdout
