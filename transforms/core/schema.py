"""The output contract: one explicit pyarrow schema per table.

Types are chosen so that DuckDB, Spark, pandas and BigQuery read the files
as they are: timestamps in microseconds with a UTC zone (BigQuery has no
nanoseconds), strings as UTF-8, no unsigned integers.  The partition column
``date`` lives only in the folder names (Hive style), never in the files, so
readers with ``hive_partitioning`` do not see it twice.
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")

ARTICLE_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("story_id", pa.string(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("canonical_url", pa.string()),
        pa.field("outlet", pa.string()),
        pa.field("title", pa.string()),
        pa.field("author", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("lang", pa.string()),
        pa.field("lang_prob", pa.float64()),
        pa.field("lang_source", pa.string()),
        pa.field("published_at", TIMESTAMP),
        pa.field("event_time", TIMESTAMP, nullable=False),
        pa.field("event_time_source", pa.string(), nullable=False),
        pa.field("ingested_at", TIMESTAMP, nullable=False),
        pa.field("word_count", pa.int32(), nullable=False),
        pa.field("extractor", pa.string(), nullable=False),
        pa.field("encoding", pa.string()),
    ]
)

# Later copies of a story: the article columns, plus the copy they were
# matched against and how similar they are (1.0 for the same normalized text).
DUPLICATE_SCHEMA = ARTICLE_SCHEMA.append(pa.field("duplicate_of", pa.string(), nullable=False)).append(
    pa.field("similarity", pa.float64(), nullable=False)
)

REJECT_SCHEMA = pa.schema(
    [
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("head", pa.binary()),
        pa.field("url", pa.string()),
        pa.field("size_bytes", pa.int64()),
        pa.field("ingested_at", TIMESTAMP, nullable=False),
    ]
)


def partition_date(row: dict) -> str:
    """Hive partition folder of an article: the UTC day of its event time."""
    return "date=" + row["event_time"].strftime("%Y-%m-%d")
