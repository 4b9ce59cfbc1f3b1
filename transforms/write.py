"""Write stage: Hive-partitioned Parquet through ``fileio.WriteToFiles``.

Files are written into a temporary folder and renamed into place, so a reader
never sees a half-written file.  Two guards against losing rows:

* ``WriteToFiles`` creates only its base folder; on the local filesystem the
  rename into ``date=YYYY-MM-DD/`` fails when that folder does not exist, and
  Beam only logs it at debug level.  :class:`PartitionedFileNaming` creates
  the partition folder when the final name is chosen, right before the move.
* :class:`VerifyLandedFn` opens every final file's Parquet footer, counts its
  rows into a metric, and fails the run loudly if a file is missing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.value_provider import StaticValueProvider
from apache_beam.transforms.window import GlobalWindow

from transforms.common import counter

DEFAULT_ROW_GROUP_SIZE = 10_000


class ParquetSink(fileio.FileSink):
    """Buffers rows and writes them as row groups of ``row_group_size``."""

    def __init__(self, schema: pa.Schema, destination: Any = None, row_group_size: int = DEFAULT_ROW_GROUP_SIZE):
        self._schema = schema
        self._row_group_size = row_group_size
        self._rows: list[dict[str, Any]] = []
        self._writer: pq.ParquetWriter | None = None

    def open(self, fh) -> None:
        # Beam owns ``fh`` and closes it after flush(); pyarrow leaves a
        # caller's file object open when its writer closes.
        self._writer = pq.ParquetWriter(fh, self._schema, compression="snappy")
        self._rows = []

    def write(self, record: dict[str, Any]) -> None:
        self._rows.append(record)
        if len(self._rows) >= self._row_group_size:
            self._write_rows()

    def flush(self) -> None:
        self._write_rows()
        assert self._writer is not None
        self._writer.close()

    def _write_rows(self) -> None:
        if self._rows:
            assert self._writer is not None
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
            self._rows = []


class PartitionedFileNaming:
    """``<destination>/part-[<window>-]<shard>-of-<total>.parquet`` under the
    table folder, creating the destination folder first (see module doc)."""

    def __init__(self, table_path: str, prefix: str = "part", suffix: str = ".parquet"):
        self.table_path = table_path
        self.prefix = prefix
        self.suffix = suffix

    def __call__(self, window, pane, shard_index, total_shards, compression, destination) -> str:
        name = self.prefix
        if window is not None and window != GlobalWindow():
            start = window.start.to_utc_datetime().strftime("%Y%m%dT%H%M%S")
            end = window.end.to_utc_datetime().strftime("%Y%m%dT%H%M%S")
            name += f"-{start}-{end}"
        name += f"-{int(shard_index or 0):05d}-of-{int(total_shards or 1):05d}{self.suffix}"
        if not destination:
            return name
        folder = FileSystems.join(self.table_path, destination)
        try:
            FileSystems.mkdirs(folder)
        except OSError:
            pass  # already there (object stores have no folders to create)
        return f"{destination}/{name}"


class VerifyLandedFn(beam.DoFn):
    """FileResult -> (final path, row count); raises if the file is missing."""

    def __init__(self, table_path: str, rows_metric: str, files_metric: str):
        self.table_path = table_path
        self.rows_metric = rows_metric
        self.files_metric = files_metric

    def setup(self) -> None:
        self._rows = counter(self.rows_metric)
        self._files = counter(self.files_metric)

    def process(self, result: fileio.FileResult) -> Iterator[tuple[str, int]]:
        path = FileSystems.join(self.table_path, result.file_name)
        if not FileSystems.exists(path):
            raise OSError(f"written file did not land at {path}; its rows would be lost")
        with FileSystems.open(path) as fh:
            rows = pq.read_metadata(fh).num_rows
        self._rows.inc(rows)
        self._files.inc()
        yield path, rows


class WriteParquet(beam.PTransform):
    """Rows -> Parquet files under ``table_path``, partitioned by
    ``partition_fn(row)`` (a Hive folder such as ``date=2020-11-09``, or None
    for a flat table).  Returns (path, rows) per file written."""

    def __init__(
        self,
        table_path: str,
        schema: pa.Schema,
        *,
        temp_directory: str,
        rows_metric: str,
        files_metric: str,
        partition_fn: Callable[[dict], str | None] | None = None,
        row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
    ):
        super().__init__()
        self.table_path = table_path
        self.schema = schema
        self.temp_directory = temp_directory
        self.rows_metric = rows_metric
        self.files_metric = files_metric
        self.partition_fn = partition_fn
        self.row_group_size = row_group_size

    def expand(self, rows):
        written = rows | "WriteFiles" >> fileio.WriteToFiles(
            path=self.table_path,
            destination=self.partition_fn or _no_partition,
            sink=functools.partial(_make_sink, self.schema, self.row_group_size),
            file_naming=PartitionedFileNaming(self.table_path),
            # WriteToFiles calls .get() on it: it must be a ValueProvider.
            temp_directory=StaticValueProvider(str, self.temp_directory),
        )
        verify = VerifyLandedFn(self.table_path, self.rows_metric, self.files_metric)
        return written | "VerifyLanded" >> beam.ParDo(verify)


def _no_partition(row: dict) -> str:
    return ""


def _make_sink(schema: pa.Schema, row_group_size: int, destination: Any) -> ParquetSink:
    return ParquetSink(schema, destination, row_group_size)
