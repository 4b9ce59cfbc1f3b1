"""Partitioned Parquet: every row lands, none half-written, one file per partition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import apache_beam as beam
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import IntervalWindow
from apache_beam.utils.windowed_value import PaneInfo, PaneInfoTiming

from transforms.write import WritePaneFn, WriteParquet

SCHEMA = pa.schema([("n", pa.int64()), ("event_time", pa.timestamp("us", tz="UTC"))])
ID_SCHEMA = pa.schema([("doc_id", pa.string()), ("event_time", pa.timestamp("us", tz="UTC"))])
START = datetime(2020, 9, 27, tzinfo=UTC)


def _by_day(row):
    return "date=" + row["event_time"].strftime("%Y-%m-%d")


def _write(rows: list[dict], table_path, temp, schema: pa.Schema = SCHEMA, partition_fn=_by_day) -> None:
    with TestPipeline() as p:
        _ = (
            p
            | beam.Create(rows)
            | WriteParquet(
                str(table_path),
                schema,
                temp_directory=str(temp),
                rows_metric="rows_written",
                files_metric="files_written",
                partition_fn=partition_fn,
                row_group_size=3,
            )
        )


def test_rows_over_many_new_partition_folders_all_land(tmp_path):
    # 45 days x 7 rows: every day is a folder that does not exist beforehand
    # (on the local filesystem a rename into a missing folder fails).
    rows = [{"n": i, "event_time": START + timedelta(days=i % 45, hours=i % 24)} for i in range(315)]
    table_path = tmp_path / "articles"
    _write(rows, table_path, tmp_path / ".tmp")
    table = ds.dataset(table_path, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == len(rows)
    assert sorted(table.column("n").to_pylist()) == list(range(315))
    assert len({str(d) for d in table.column("date").to_pylist()}) == 45
    assert not list((tmp_path / ".tmp").rglob("*.*")), "temporary files left behind"
    assert all(p.suffix == ".parquet" for p in table_path.rglob("*") if p.is_file())


def test_flat_table_without_partitions(tmp_path):
    rows = [{"n": i, "event_time": START} for i in range(10)]
    with TestPipeline() as p:
        written = (
            p
            | beam.Create(rows)
            | WriteParquet(
                str(tmp_path / "rejects"),
                SCHEMA,
                temp_directory=str(tmp_path / ".tmp"),
                rows_metric="r",
                files_metric="f",
            )
        )
        assert_that(written | beam.Map(lambda pr: pr[1]) | beam.CombineGlobally(sum), equal_to([10]))
    assert [p.parent.name for p in (tmp_path / "rejects").rglob("*.parquet")] == ["rejects"]


def test_one_file_per_partition_the_same_bytes_whatever_the_input_order(tmp_path):
    rows = [{"doc_id": f"d{i:03d}", "event_time": START + timedelta(days=i % 3, minutes=i)} for i in range(40)]
    _write(rows, tmp_path / "a", tmp_path / ".tmp", ID_SCHEMA)
    _write(rows[::-1], tmp_path / "b", tmp_path / ".tmp", ID_SCHEMA)
    files = {
        side: {str(p.relative_to(tmp_path / side)): p.read_bytes() for p in (tmp_path / side).rglob("*.parquet")}
        for side in ("a", "b")
    }
    assert sorted(files["a"]) == [f"date=2020-09-{d}/part-00000-of-00001.parquet" for d in (27, 28, 29)]
    assert files["a"] == files["b"]
    day = pq.read_table(tmp_path / "a" / "date=2020-09-28" / "part-00000-of-00001.parquet")
    assert day.column("doc_id").to_pylist() == sorted(r["doc_id"] for r in rows if r["event_time"].day == 28)


def test_a_rerun_replaces_its_files_instead_of_adding_copies(tmp_path):
    # A retried bundle writes the same partition again: still one file, same rows.
    rows = [{"doc_id": f"d{i}", "event_time": START} for i in range(5)]
    _write(rows, tmp_path / "t", tmp_path / ".tmp", ID_SCHEMA)
    _write(rows, tmp_path / "t", tmp_path / ".tmp", ID_SCHEMA)
    files = list((tmp_path / "t").rglob("*.parquet"))
    assert len(files) == 1 and pq.read_table(files[0]).num_rows == 5


class _Tally:
    def __init__(self) -> None:
        self.n = 0

    def inc(self, n: int = 1) -> None:
        self.n += n


def _write_pane(tmp_path, timing: PaneInfoTiming, index: int) -> tuple[str, int]:
    """Write one pane of an hour window; the file's name and how many late panes were counted."""
    fn = WritePaneFn(str(tmp_path / "t"), str(tmp_path / ".tmp"), SCHEMA, 10, "rows", "files")
    fn.setup()
    fn._late_panes = late = _Tally()
    pane = PaneInfo(index == 0, False, timing, index, index if timing != PaneInfoTiming.EARLY else -1)
    [(path, _)] = fn.process(("date=2020-09-27", [{"n": 1, "event_time": START}]), IntervalWindow(0, 3600), pane)
    return path.rsplit("/", 1)[1], late.n


def test_a_pane_counts_as_late_when_its_file_is_named_late(tmp_path):
    # A window's first pane can fire late (its on-time pane was empty):
    # index 0, timing LATE.  An on-time pane after an early firing has index 1.
    assert _write_pane(tmp_path, PaneInfoTiming.LATE, 0) == (
        "part-19700101T000000-19700101T010000-pane000-late.parquet",
        1,
    )
    assert _write_pane(tmp_path, PaneInfoTiming.ON_TIME, 1) == (
        "part-19700101T000000-19700101T010000-pane001.parquet",
        0,
    )
    assert _write_pane(tmp_path, PaneInfoTiming.LATE, 2)[1] == 1
