"""The pipeline in streaming mode, driven by test streams: a replay equals
the batch run, windows close into per-window files, a late copy within the
allowed lateness lands (deduplicated) in a late pane of its own date, and
an article later than that goes to the rejects as ``late``."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import MAX_TIMESTAMP, MIN_TIMESTAMP, Timestamp

from pipeline import replay
from tests.conftest import PINNED_INGEST, SEEDS, read_table, rows_by_doc_id
from tests.dedup_eval.generate import build_set, load_stories, write_set
from transforms.common import arrival_of
from transforms.core.manifest import parse_manifest
from transforms.core.schema import REJECT_SCHEMA
from transforms.write import WindowSpec, WriteParquet

HOUR = 3600.0


def _replay(folder: Path, out: Path, *flags: str, pinned: bool = True) -> int:
    pin = ["--ingested_at", PINNED_INGEST] if pinned else []
    return replay.main([str(folder), "--output", str(out), *pin, *flags])


def _batch_and_replay(run_pipeline, folder: Path, tmp_path: Path) -> tuple[Path, Path]:
    summary, batch_out = run_pipeline(folder)
    assert summary.balanced and summary.state == "DONE"
    stream_out = tmp_path / "replayed"
    assert _replay(folder, stream_out) == 0
    return batch_out, stream_out


def test_replay_of_the_seeds_writes_what_the_batch_run_writes(run_pipeline, tmp_path):
    batch_out, stream_out = _batch_and_replay(run_pipeline, SEEDS, tmp_path)
    batch, streamed = rows_by_doc_id(read_table(batch_out)), rows_by_doc_id(read_table(stream_out))
    assert len(batch) == 5
    # Every column, story_id and topics included, is the same row for row.
    assert streamed == batch
    assert read_table(stream_out, "duplicates").num_rows == read_table(batch_out, "duplicates").num_rows == 0
    # Streaming files are per event-time window, in the same date= partitions.
    names = sorted(p.relative_to(stream_out).as_posix() for p in (stream_out / "articles").rglob("*.parquet"))
    assert names == sorted(
        f"articles/date={r['event_time']:%Y-%m-%d}/topic={r['primary_topic']}/"
        f"part-{r['event_time']:%Y%m%dT%H}0000-{r['event_time'] + timedelta(hours=1):%Y%m%dT%H}0000-pane000.parquet"
        for r in batch
    )


def test_replay_with_copies_gives_the_batch_story_ids(run_pipeline, tmp_path):
    """A set with real rewrites (cuts, edits, new headers), some copies
    published before their story's first copy: the streaming dedup, fed in
    event-time order, makes the same stories as the batch dedup."""
    stories = load_stories()[:3]
    folder = write_set(build_set(stories, per_story=3), tmp_path / "set")
    batch_out, stream_out = _batch_and_replay(run_pipeline, folder, tmp_path)

    def stories_of(out: Path) -> dict[str, tuple]:
        rows = read_table(out).to_pylist() + read_table(out, "duplicates").to_pylist()
        return {r["doc_id"]: (r["story_id"], r["primary_topic"], tuple(r["topics"])) for r in rows}

    batch = stories_of(batch_out)
    assert len(set(s for s, _, _ in batch.values())) < len(batch), "the set must contain copies"
    assert stories_of(stream_out) == batch


def _seed_times() -> dict[str, datetime]:
    manifest = parse_manifest((SEEDS / "manifest.csv").read_text(encoding="utf-8"))
    return {name: meta.published for name, meta in manifest.items()}


def test_late_copy_is_deduplicated_into_a_late_pane_of_its_own_date(tmp_path):
    """The copy of the 2020-10-20 18:00 seed arrives 12 h later, on the
    21st: the watermark has passed its window, it is within the day of
    lateness, so it joins its story and lands in date=2020-10-20."""
    out = tmp_path / "out"
    assert _replay(SEEDS, out, "--late_copies", "1", "--late_by_hours", "12") == 0
    first = min(_seed_times().items(), key=lambda kv: kv[1])
    copies = read_table(out, "duplicates").to_pylist()
    assert len(copies) == 1
    copy = copies[0]
    original = next(r for r in read_table(out).to_pylist() if r["source_uri"].endswith(first[0]))
    assert copy["source_uri"].endswith(f"{first[0]}#late-copy-1")
    assert copy["story_id"] == copy["duplicate_of"] == original["doc_id"] != copy["doc_id"]
    assert copy["event_time"] == first[1] and copy["similarity"] == pytest.approx(1.0)
    files = [p.relative_to(out / "duplicates").as_posix() for p in (out / "duplicates").rglob("*.parquet")]
    assert files == ["date=2020-10-20/topic=nagorno-karabakh/part-20201020T180000-20201020T190000-pane000-late.parquet"]
    # The on-time panes of the articles are not marked late.
    assert not [p for p in (out / "articles").rglob("*late*")]
    assert read_table(out, "rejects").num_rows == 0


def test_allowed_lateness_keeps_dedup_state_for_as_long(tmp_path):
    """--allowed_lateness_hours reaches dedup: a copy of the first seed
    arriving 5 days late (over the 3-day horizon plus the default day of
    lateness, within the 200 hours allowed here) still finds its first
    copy's state and joins its story, instead of starting a new one."""
    out = tmp_path / "out"
    flags = ("--late_copies", "1", "--late_by_hours", "120", "--allowed_lateness_hours", "200")
    assert _replay(SEEDS, out, *flags) == 0
    first = min(_seed_times().items(), key=lambda kv: kv[1])
    (copy,) = read_table(out, "duplicates").to_pylist()
    articles = read_table(out).to_pylist()
    original = next(r for r in articles if r["source_uri"].endswith(first[0]))
    assert copy["source_uri"].endswith(f"{first[0]}#late-copy-1") and copy["duplicate_kind"] == "exact"
    assert copy["story_id"] == copy["duplicate_of"] == original["doc_id"]
    assert len(articles) == 5 and read_table(out, "rejects").num_rows == 0


def test_copy_later_than_the_allowed_lateness_is_a_late_reject(tmp_path):
    out = tmp_path / "out"
    flags = ("--late_copies", "2", "--late_by_hours", "3", "--allowed_lateness_hours", "2")
    assert _replay(SEEDS, out, *flags, pinned=False) == 0
    rejects = read_table(out, "rejects").to_pylist()
    assert sorted(r["reason"] for r in rejects) == ["late", "late"]
    assert {r["stage"] for r in rejects} == {"extract"}
    assert all("#late-copy-" in r["source_uri"] and "3:00:00 later" in r["detail"] for r in rejects)
    # Stamped with their arrival, three hours after the article's time.
    times = sorted(_seed_times().values())[:2]
    assert sorted(r["ingested_at"] for r in rejects) == [t + timedelta(hours=3) for t in times]
    assert read_table(out).num_rows == 5 and read_table(out, "duplicates").num_rows == 0


def _reject_row(n: int, at: float) -> TimestampedValue:
    row = {
        "source_uri": f"doc-{n}",
        "stage": "read",
        "reason": "empty",
        "detail": None,
        "head": b"",
        "url": None,
        "size_bytes": None,
        "ingested_at": datetime.fromtimestamp(at, UTC),
    }
    return TimestampedValue(row, at)


def test_windows_close_into_files_and_a_late_pane_never_overwrites_the_on_time_one(tmp_path):
    """Rows of two windows; the first window closes when the watermark
    passes it, then a late row for it arrives: its pane is a second file
    next to the first, and both keep their rows.  A row later than the
    windows' allowed lateness never reaches the writer (the extract stage
    rejects those first), so none is sent here."""
    t0 = 1_600_000_000.0 - 1_600_000_000.0 % HOUR
    stream = (
        TestStream()
        .advance_watermark_to(t0)
        .add_elements([_reject_row(1, t0 + 60), _reject_row(2, t0 + 120)])
        .advance_watermark_to(t0 + HOUR + 10)  # closes [t0, t0+1h)
        .add_elements([_reject_row(3, t0 + HOUR + 60)])
        .add_elements([_reject_row(4, t0 + 180)])  # late for the closed window
        .advance_watermark_to(t0 + 3 * HOUR)
        .advance_watermark_to_infinity()
    )
    out = tmp_path / "rejects"
    options = PipelineOptions(["--streaming"])
    with beam.Pipeline(options=options) as p:
        _ = (
            p
            | stream
            | WriteParquet(
                str(out),
                REJECT_SCHEMA,
                temp_directory=str(tmp_path / "tmp"),
                rows_metric="r",
                files_metric="f",
                window=WindowSpec(size_seconds=3600, allowed_lateness_seconds=4 * 3600),
            )
        )
    files = {p.name: sorted(pq.read_table(p)["source_uri"].to_pylist()) for p in out.glob("*.parquet")}
    start = datetime.fromtimestamp(t0, UTC)

    def name(hours: int, pane: str) -> str:
        a, b = start + timedelta(hours=hours), start + timedelta(hours=hours + 1)
        return f"part-{a:%Y%m%dT%H%M%S}-{b:%Y%m%dT%H%M%S}-{pane}.parquet"

    assert files == {
        name(0, "pane000"): ["doc-1", "doc-2"],
        name(0, "pane001-late"): ["doc-4"],
        name(1, "pane000"): ["doc-3"],
    }
    assert not list((tmp_path / "tmp").rglob("*.parquet")), "temporary files are all moved into place"


def test_replay_refuses_runners_without_test_streams(tmp_path, capsys):
    assert _replay(SEEDS, tmp_path / "o", "--runner", "DataflowRunner") == 2
    assert "DirectRunner" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "o")


def test_an_unstamped_element_arrives_at_the_fallback_not_in_year_minus_290000():
    fallback = datetime(2026, 1, 2, tzinfo=UTC)
    assert arrival_of(MIN_TIMESTAMP, fallback) == fallback
    assert arrival_of(MAX_TIMESTAMP, fallback) == fallback
    assert arrival_of(Timestamp(micros=1_500_123_456), fallback) == datetime(1970, 1, 1, 0, 25, 0, 123_000, tzinfo=UTC)
