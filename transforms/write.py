"""Write stage: Hive-partitioned Parquet, one file per partition and pane.

Rows are grouped by partition folder (and, for unbounded input, by
event-time window: :class:`WindowSpec`), and each group becomes one file,
its rows sorted by ``doc_id``, so the same input gives the same files
whatever the bundling.  A batch run writes one pane per partition,
``part-00000-of-00001.parquet`` (an --append run names it after the run,
``part-<run id>-00000.parquet``, so it lands beside earlier runs' files); a streaming run one file per firing of a
window (the on-time pane when the watermark passes its end, one more per
late arrival), named after the window and the pane index so a late pane
never overwrites the on-time one.

Each file is written under a temporary name and renamed into place, so a
reader never sees a half-written file, and its name is fixed by (folder,
window, pane), so a retried bundle rewrites the same file instead of adding
a second copy.  The worker writing a partition holds that partition's rows
of the run (or of the window pane) in memory to sort them.

Grouping replaced Beam's ``fileio.WriteToFiles`` for batch runs: with one
destination per (day, topic) that writer spilled most rows through a
shuffle anyway, listed the whole temporary folder once per destination
(quadratic in partitions) and split a partition's rows over files
according to bundling (``make bench`` measured it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms import trigger
from apache_beam.transforms.window import FixedWindows, GlobalWindow, IntervalWindow
from apache_beam.utils.windowed_value import PaneInfo, PaneInfoTiming

from transforms.common import StageDoFn, counter, timed_stage

DEFAULT_ROW_GROUP_SIZE = 10_000
BATCH_FILE = "part-00000-of-00001.parquet"


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


class WritePaneFn(StageDoFn):
    """(partition folder, rows of one pane) -> one Parquet file, rows sorted
    (see the module docstring for names, temporary files and retries)."""

    STAGE = "write"

    def __init__(self, table_path: str, temp_directory: str, schema: pa.Schema, row_group_size: int,
                 rows_metric: str, files_metric: str, batch_name: str = BATCH_FILE):  # fmt: skip
        self.batch_name = batch_name
        self.rows_metric = rows_metric
        self.files_metric = files_metric
        self.table_path = table_path
        self.temp_directory = temp_directory
        self.schema = schema
        self.row_group_size = row_group_size

    def setup(self) -> None:
        super().setup()
        self._rows = counter(self.rows_metric)
        self._files = counter(self.files_metric)
        self._late_panes = counter("late_panes_written")

    @timed_stage
    def process(
        self,
        element: tuple[str, Iterable[dict]],
        window=beam.DoFn.WindowParam,
        pane: PaneInfo = beam.DoFn.PaneInfoParam,
    ) -> Iterator[tuple[str, int]]:
        yield from self._write(element, window, pane)

    def _write(self, element: tuple[str, Iterable[dict]], window, pane: PaneInfo) -> Iterator[tuple[str, int]]:
        # Its own method: tests make the writer fail or watch it here.
        folder, rows = element
        ordered = sorted(rows, key=_row_order)
        late = window != GlobalWindow() and pane.timing == PaneInfoTiming.LATE
        if window == GlobalWindow():
            name = self.batch_name  # a bounded run fires each partition's pane once
        else:
            name = f"part-{window_name(window)}-pane{pane.index:03d}{'-late' if late else ''}.parquet"
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
        if late:  # what the file's name says
            self._late_panes.inc()
        yield final, len(ordered)


class WriteParquet(beam.PTransform):
    """Rows -> Parquet files under ``table_path``, partitioned by
    ``partition_fn(row)`` (a Hive folder such as ``date=2020-11-09``, or None
    for a flat table).  ``batch_name``: the file name of a bounded run's
    pane.  Returns (path, rows) per file written."""

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
        batch_name: str = BATCH_FILE,
    ):
        super().__init__()
        self.batch_name = batch_name
        self.window = window
        self.table_path = table_path
        self.schema = schema
        self.temp_directory = temp_directory
        self.rows_metric = rows_metric
        self.files_metric = files_metric
        self.partition_fn = partition_fn
        self.row_group_size = row_group_size

    def expand(self, rows):
        partition = self.partition_fn or _no_partition
        write = WritePaneFn(
            self.table_path, self.temp_directory, self.schema, self.row_group_size,
            self.rows_metric, self.files_metric, self.batch_name,
        )  # fmt: skip
        if self.window is not None:
            spec = self.window
            rows = rows | "Window" >> beam.WindowInto(
                FixedWindows(spec.size_seconds),
                trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                accumulation_mode=trigger.AccumulationMode.DISCARDING,
                allowed_lateness=spec.allowed_lateness_seconds,
            )
        # A bounded run is one global window with one pane per partition.
        return (
            rows
            | "KeyByPartition" >> beam.Map(lambda row: (partition(row), row))
            | "GroupPanes" >> beam.GroupByKey()
            | "WritePanes" >> beam.ParDo(write)
        )


def _no_partition(row: dict) -> str:
    return ""
