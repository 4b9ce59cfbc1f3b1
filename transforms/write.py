"""Write stage: Hive-partitioned Parquet through ``fileio.WriteToFiles``.

Files are written into a temporary folder and renamed into place, so a reader
never sees a half-written file.  Two guards against losing rows:

* ``WriteToFiles`` creates only its base folder; on the local filesystem the
  rename into ``date=YYYY-MM-DD/`` fails when that folder does not exist, and
  Beam only logs it at debug level.  :class:`PartitionedFileNaming` creates
  the partition folder when the final name is chosen, right before the move.
* :class:`VerifyLandedFn` opens every final file's Parquet footer, counts its
  rows into a metric, and fails the run loudly if a file is missing.

Unbounded input is written per event-time window instead
(:class:`WindowSpec`): rows are grouped by (partition folder, window), and
each firing of a window (the on-time pane when the watermark passes its
end, one more pane per late arrival) becomes its own file, named after the
window and the pane index so a late pane never overwrites the on-time one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.value_provider import StaticValueProvider
from apache_beam.transforms import trigger
from apache_beam.transforms.window import FixedWindows, GlobalWindow, IntervalWindow
from apache_beam.utils.windowed_value import PaneInfo, PaneInfoTiming

from transforms.common import StageClock, counter

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
        self._clock = StageClock("write")
        with self._clock:
            self._writer = pq.ParquetWriter(fh, self._schema, compression="snappy")
        self._rows = []

    def write(self, record: dict[str, Any]) -> None:
        self._rows.append(record)
        if len(self._rows) >= self._row_group_size:
            self._write_rows()

    def flush(self) -> None:
        self._write_rows()
        assert self._writer is not None
        with self._clock:
            self._writer.close()

    def _write_rows(self) -> None:
        if self._rows:
            assert self._writer is not None
            with self._clock:
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


class _CountsLanded(beam.DoFn):
    """Counts the rows and files a writer landed into the table's metrics."""

    def __init__(self, rows_metric: str, files_metric: str):
        self.rows_metric = rows_metric
        self.files_metric = files_metric

    def setup(self) -> None:
        self._rows = counter(self.rows_metric)
        self._files = counter(self.files_metric)


class VerifyLandedFn(_CountsLanded):
    """FileResult -> (final path, row count); raises if the file is missing."""

    def __init__(self, table_path: str, rows_metric: str, files_metric: str):
        super().__init__(rows_metric, files_metric)
        self.table_path = table_path

    def process(self, result: fileio.FileResult) -> Iterator[tuple[str, int]]:
        path = FileSystems.join(self.table_path, result.file_name)
        if not FileSystems.exists(path):
            raise OSError(f"written file did not land at {path}; its rows would be lost")
        with FileSystems.open(path) as fh:
            rows = pq.read_metadata(fh).num_rows
        self._rows.inc(rows)
        self._files.inc()
        yield path, rows


@dataclass(frozen=True)
class WindowSpec:
    """Event-time windows for unbounded writes: ``size_seconds`` long,
    accepting late rows for ``allowed_lateness_seconds`` after they close."""

    size_seconds: int
    allowed_lateness_seconds: int


def window_name(window: IntervalWindow) -> str:
    start = window.start.to_utc_datetime().strftime("%Y%m%dT%H%M%S")
    end = window.end.to_utc_datetime().strftime("%Y%m%dT%H%M%S")
    return f"{start}-{end}"


def _row_order(row: dict) -> tuple:
    # Rows in a file in a fixed order, whatever order the runner delivered them.
    return (row.get("doc_id") or "", row.get("source_uri") or "", row.get("stage") or "")


class WritePaneFn(_CountsLanded):
    """(partition folder, rows of one window pane) -> one Parquet file.

    The file is written under a temporary name and renamed into place, and
    its name is fixed by (folder, window, pane index), so a retried bundle
    rewrites the same file instead of adding a second copy.
    """

    def __init__(self, table_path: str, temp_directory: str, schema: pa.Schema, row_group_size: int,
                 rows_metric: str, files_metric: str):  # fmt: skip
        super().__init__(rows_metric, files_metric)
        self.table_path = table_path
        self.temp_directory = temp_directory
        self.schema = schema
        self.row_group_size = row_group_size

    def setup(self) -> None:
        super().setup()
        self._late_panes = counter("late_panes_written")
        self._clock = StageClock("write")

    def process(
        self,
        element: tuple[str, Iterable[dict]],
        window=beam.DoFn.WindowParam,
        pane: PaneInfo = beam.DoFn.PaneInfoParam,
    ) -> Iterator[tuple[str, int]]:
        yield from self._clock.timed(self._write(element, window, pane))

    def _write(self, element: tuple[str, Iterable[dict]], window, pane: PaneInfo) -> Iterator[tuple[str, int]]:
        folder, rows = element
        ordered = sorted(rows, key=_row_order)
        late = "-late" if pane.timing == PaneInfoTiming.LATE else ""
        name = f"part-{window_name(window)}-pane{pane.index:03d}{late}.parquet"
        relative = f"{folder}/{name}" if folder else name
        final = FileSystems.join(self.table_path, relative)
        temp = FileSystems.join(self.temp_directory, relative.replace("/", "__"))
        for path in (final, temp):
            try:
                FileSystems.mkdirs(path.rsplit("/", 1)[0])
            except OSError:
                pass  # already there (object stores have no folders to create)
        with FileSystems.create(temp) as fh:
            writer = pq.ParquetWriter(fh, self.schema, compression="snappy")
            for start in range(0, len(ordered), self.row_group_size):
                chunk = ordered[start : start + self.row_group_size]
                writer.write_table(pa.Table.from_pylist(chunk, schema=self.schema))
            writer.close()
        if FileSystems.exists(final):
            FileSystems.delete([final])  # a retry of this very pane
        FileSystems.rename([temp], [final])
        self._rows.inc(len(ordered))
        self._files.inc()
        if pane.index > 0:
            self._late_panes.inc()
        yield final, len(ordered)


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
        window: WindowSpec | None = None,
    ):
        super().__init__()
        self.window = window
        self.table_path = table_path
        self.schema = schema
        self.temp_directory = temp_directory
        self.rows_metric = rows_metric
        self.files_metric = files_metric
        self.partition_fn = partition_fn
        self.row_group_size = row_group_size

    def expand(self, rows):
        if self.window is not None:
            return self._expand_windowed(rows)
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

    def _expand_windowed(self, rows):
        spec = self.window
        assert spec is not None
        partition = self.partition_fn or _no_partition
        write = WritePaneFn(
            self.table_path, self.temp_directory, self.schema, self.row_group_size,
            self.rows_metric, self.files_metric,
        )  # fmt: skip
        return (
            rows
            | "Window"
            >> beam.WindowInto(
                FixedWindows(spec.size_seconds),
                trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                accumulation_mode=trigger.AccumulationMode.DISCARDING,
                allowed_lateness=spec.allowed_lateness_seconds,
            )
            | "KeyByPartition" >> beam.Map(lambda row: (partition(row), row))
            | "GroupPanes" >> beam.GroupByKey()
            | "WritePanes" >> beam.ParDo(write)
        )


def _no_partition(row: dict) -> str:
    return ""


def _make_sink(schema: pa.Schema, row_group_size: int, destination: Any) -> ParquetSink:
    return ParquetSink(schema, destination, row_group_size)
