"""Partitioned Parquet through WriteToFiles: every row lands, none half-written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import apache_beam as beam
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from apache_beam.io.fileio import FileResult
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms.write import VerifyLandedFn, WriteParquet

SCHEMA = pa.schema([("n", pa.int64()), ("event_time", pa.timestamp("us", tz="UTC"))])
START = datetime(2020, 9, 27, tzinfo=UTC)


def _by_day(row):
    return "date=" + row["event_time"].strftime("%Y-%m-%d")


def test_rows_over_many_new_partition_folders_all_land(tmp_path):
    # 45 days x 7 rows: every day is a folder that does not exist beforehand,
    # the case where Beam's rename fails quietly without the naming fix.
    rows = [{"n": i, "event_time": START + timedelta(days=i % 45, hours=i % 24)} for i in range(315)]
    table_path = tmp_path / "articles"
    with TestPipeline() as p:
        written = (
            p
            | beam.Create(rows)
            | WriteParquet(
                str(table_path),
                SCHEMA,
                temp_directory=str(tmp_path / ".tmp"),
                rows_metric="test_rows_written",
                files_metric="test_files_written",
                partition_fn=_by_day,
                row_group_size=4,
            )
        )
        assert_that(written | beam.combiners.Count.Globally(), lambda counts: None)
    table = ds.dataset(table_path, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == len(rows)
    assert sorted(table.column("n").to_pylist()) == list(range(315))
    assert len({str(d) for d in table.column("date").to_pylist()}) == 45
    assert not list((tmp_path / ".tmp").rglob("*.*")), "temporary files left behind"
    assert all(p.suffix == ".parquet" for p in table_path.rglob("*") if p.is_file())


def test_verify_landed_fails_loudly_when_a_file_is_missing(tmp_path):
    fn = VerifyLandedFn(str(tmp_path), "rows", "files")
    fn.setup()
    missing = FileResult("date=2020-01-01/part-00000-of-00001.parquet", 0, 1, None, None, "date=2020-01-01")
    with pytest.raises(OSError, match="did not land"):
        list(fn.process(missing))


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
