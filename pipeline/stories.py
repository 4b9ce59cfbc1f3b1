"""The stories table, built after a batch run from the tables it wrote
(and, for --append, the tables already in the output): one Parquet file,
``OUTPUT/stories/stories.parquet``, one row per story_id.

It is derived data, rebuilt whole by every batch run and committed with
the run: swapped in with the other tables, or for --append put over the
previous one (kept aside until the commit is done).  Files are read through
Beam's FileSystems, so the same code reads a local folder or Cloud Storage;
only the columns a story needs are read, a row group at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipeline.commit import files_under
from transforms.core.schema import STORY_SCHEMA
from transforms.core.stories import COLUMNS, LEAD_CHARS, StoryBuilder

STORIES = "stories"
STORIES_FILE = f"{STORIES}/stories.parquet"
SOURCE_TABLES = ("articles", "duplicates")
BATCH_ROWS = 8192
# Of a text, the lead and a margin (lead() collapses runs of whitespace first).
TEXT_CHARS = 4 * LEAD_CHARS


def table_files(root: str, table: str) -> list[str]:
    """The Parquet files of one table under ``root``, sorted."""
    return [path for path in files_under(FileSystems.join(root, table)) if path.endswith(".parquet")]


def rows_of(paths: list[str], columns: tuple[str, ...] = COLUMNS) -> Iterator[dict]:
    """The rows of these files, with ``columns`` (None where a file, written
    by an older version, lacks one).  ``text`` is cut to what a story's lead
    needs before it becomes Python strings."""
    for path in paths:
        with FileSystems.open(path) as fh:
            parquet = pq.ParquetFile(fh)
            names = set(parquet.schema_arrow.names)
            present = [c for c in columns if c in names]
            # One thread: a table's files are small (one per bundle and date), and
            # pyarrow's pool costs more to start per file than it saves.
            for batch in parquet.iter_batches(columns=present, batch_size=BATCH_ROWS, use_threads=False):
                if "text" in present:
                    cut = pc.utf8_slice_codeunits(batch.column("text"), 0, TEXT_CHARS)
                    batch = batch.set_column(present.index("text"), "text", cut)
                for row in batch.to_pylist():
                    yield {c: row.get(c) for c in columns}


def build_stories(roots: list[str]) -> pa.Table:
    """The stories of the articles and duplicates under every root."""
    builder = StoryBuilder()
    for root in roots:
        for table in SOURCE_TABLES:
            builder.add_all(rows_of(table_files(root, table)))
    return pa.Table.from_pylist(builder.rows(), schema=STORY_SCHEMA)


def write_stories(tables: str, roots: list[str]) -> int:
    """Write ``tables``/stories/stories.parquet from ``roots``; the number of stories."""
    table = build_stories(roots)
    folder = FileSystems.join(tables, STORIES)
    if not FileSystems.exists(folder):
        FileSystems.mkdirs(folder)
    with FileSystems.create(FileSystems.join(tables, STORIES_FILE)) as fh:
        pq.write_table(table, fh)
    return table.num_rows
