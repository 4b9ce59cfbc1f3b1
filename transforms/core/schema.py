"""The output contract: one explicit pyarrow schema per table.

Types are chosen so that DuckDB, Spark, pandas and BigQuery read the files
as they are: timestamps in microseconds with a UTC zone (BigQuery has no
nanoseconds), strings as UTF-8, no unsigned integers.  The partition column
``date`` lives only in the folder names (Hive style), never in the files, so
readers with ``hive_partitioning`` do not see it twice.  Articles are also
partitioned by ``topic=`` (their primary topic, or ``none``); in the files
that column is called ``primary_topic``, so the two never clash.
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")
NO_TOPIC = "none"

# Lists of structs rather than maps: BigQuery, Spark, DuckDB and pandas all
# read them as they are.
TOPIC_SCORE = pa.struct(
    [pa.field("topic", pa.string(), nullable=False), pa.field("score", pa.float64(), nullable=False)]
)
TOPIC_EVIDENCE = pa.struct(
    [
        pa.field("topic", pa.string(), nullable=False),
        pa.field("alias", pa.string(), nullable=False),
        pa.field("tier", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("count", pa.int32(), nullable=False),
    ]
)

AGENCY_CREDIT = pa.struct(
    [
        pa.field("agency", pa.string(), nullable=False),
        pa.field("where", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
    ]
)

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
        pa.field("agencies", pa.list_(pa.field("item", pa.string(), nullable=False)), nullable=False),
        pa.field("agency_credits", pa.list_(pa.field("item", AGENCY_CREDIT, nullable=False)), nullable=False),
        pa.field("dateline", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("lang", pa.string()),
        pa.field("lang_prob", pa.float64()),
        pa.field("lang_source", pa.string()),
        pa.field("topics", pa.list_(pa.field("item", pa.string(), nullable=False)), nullable=False),
        pa.field("primary_topic", pa.string()),
        pa.field("topic_scores", pa.list_(pa.field("item", TOPIC_SCORE, nullable=False)), nullable=False),
        pa.field("topic_evidence", pa.list_(pa.field("item", TOPIC_EVIDENCE, nullable=False)), nullable=False),
        pa.field("topic_taxonomy", pa.string()),
        pa.field("published_at", TIMESTAMP),
        pa.field("published_precision", pa.string()),
        pa.field("event_time", TIMESTAMP, nullable=False),
        pa.field("event_time_source", pa.string(), nullable=False),
        pa.field("ingested_at", TIMESTAMP, nullable=False),
        pa.field("word_count", pa.int32(), nullable=False),
        pa.field("extractor", pa.string(), nullable=False),
        pa.field("encoding", pa.string()),
    ]
)

# Later copies of a story: the article columns, plus the copy they were
# matched against, how similar they are (1.0 for the same normalized text)
# and what kind of copy they are: ``same_url`` (a rerun or revision of an
# earlier record of the same URL), ``exact`` (the same normalized text
# under another URL) or ``near`` (the same story by the word 2-grams both share).
DUPLICATE_SCHEMA = (
    ARTICLE_SCHEMA.append(pa.field("duplicate_of", pa.string(), nullable=False))
    .append(pa.field("similarity", pa.float64(), nullable=False))
    .append(pa.field("duplicate_kind", pa.string(), nullable=False))
)

# One row per story (see transforms.core.stories): not partitioned, rebuilt
# from articles and duplicates after every batch run.
_STRINGS = pa.list_(pa.field("item", pa.string(), nullable=False))
STORY_SCHEMA = pa.schema(
    [
        pa.field("story_id", pa.string(), nullable=False),
        pa.field("first_doc_id", pa.string(), nullable=False),
        pa.field("first_outlet", pa.string()),
        pa.field("primary_topic", pa.string()),
        pa.field("title", pa.string()),
        pa.field("lead", pa.string(), nullable=False),
        pa.field("first_event_time", TIMESTAMP, nullable=False),
        pa.field("last_event_time", TIMESTAMP, nullable=False),
        pa.field("spread_minutes", pa.float64(), nullable=False),
        pa.field("copies", pa.int32(), nullable=False),
        pa.field("outlets", _STRINGS, nullable=False),
        pa.field("outlet_count", pa.int32(), nullable=False),
        pa.field("agencies", _STRINGS, nullable=False),
        pa.field("languages", _STRINGS, nullable=False),
    ]
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


def partition_folder(row: dict) -> str:
    """Hive partition folder of an article: the UTC day of its event time,
    then its primary topic."""
    topic = row.get("primary_topic") or NO_TOPIC
    return f"date={row['event_time'].strftime('%Y-%m-%d')}/topic={topic}"
