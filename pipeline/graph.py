"""The pipeline graph: ``wire(p, plan)`` adds the stages a resolved
:class:`~pipeline.resolve.RunPlan` describes to a pipeline.

Wiring reads no option and no file: every decision and every build-time
read is ``pipeline.resolve``'s.  ``build_pipeline(p, options)`` does both
for callers that hold options.

Step labels are stable (Dataflow's ``--update`` matches steps by name):
Read, Extract, DetectLanguage, TagTopics, AttributeAgencies, Dedup, WriteArticles,
WriteDuplicates, CollectRejects, RejectRows, WriteRejects; a batch run
also has ReadDedupState and WriteDedupState (its memory across runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.resolve import (
    FeedsSource,
    FilesSource,
    OutputPlan,
    PubSubSource,
    RunPlan,
    Source,
    resolve,
)
from transforms.agencies import AttributeAgencies
from transforms.common import (
    ARTICLE_FILES,
    ARTICLE_ROWS,
    DUPLICATE_FILES,
    DUPLICATE_ROWS,
    REJECT_FILES,
    REJECT_ROWS,
    arrival_of,
)
from transforms.core.dedup_steps import STATE_SCHEMA as DEDUP_STATE_SCHEMA
from transforms.core.records import Reject
from transforms.core.schema import ARTICLE_SCHEMA, DUPLICATE_SCHEMA, REJECT_SCHEMA, partition_folder
from transforms.dedup import STATE_FOLDER as DEDUP_STATE
from transforms.dedup import Deduplicate, NewRejects, SingleStories
from transforms.dedup import ReadState as ReadDedupState
from transforms.dedup import WriteState as WriteDedupState
from transforms.extract import ExtractArticles
from transforms.feeds import FEED_STATE, FeedMemory, ReadFeeds
from transforms.language import DetectLanguage
from transforms.pubsub import ReadPubSub
from transforms.read import ReadDocuments
from transforms.topics import TagTopics
from transforms.write import BATCH_FILE, WindowSpec, WriteParquet


@dataclass(frozen=True)
class Table:
    """One output table: its schema, partitioning and the metrics its
    writer counts into."""

    schema: pa.Schema
    rows_metric: str
    files_metric: str
    partition_fn: Callable[[dict], str] | None = None


TABLE_SPECS = {
    "articles": Table(ARTICLE_SCHEMA, ARTICLE_ROWS, ARTICLE_FILES, partition_folder),
    "duplicates": Table(DUPLICATE_SCHEMA, DUPLICATE_ROWS, DUPLICATE_FILES, partition_folder),
    "rejects": Table(REJECT_SCHEMA, REJECT_ROWS, REJECT_FILES),
}
TABLES = tuple(TABLE_SPECS)


def write_table(name: str, output: OutputPlan, window: WindowSpec | None = None) -> WriteParquet:
    """The writer of table ``name`` into <tables_at>/<name>/ (per event-time
    window when ``window`` is given)."""
    spec = TABLE_SPECS[name]
    return WriteParquet(
        FileSystems.join(output.tables_at, name),
        spec.schema,
        temp_directory=FileSystems.join(output.temp, name),
        rows_metric=spec.rows_metric,
        files_metric=spec.files_metric,
        partition_fn=spec.partition_fn,
        row_group_size=output.row_group_size,
        window=window,
        batch_name=output.file_name,
    )


def write_state(name: str, schema: pa.Schema, output: OutputPlan) -> WriteParquet:
    """The writer of one stage's state into <state_out>/<name>/: one file,
    named the same every run, so the commit replaces the earlier one."""
    return WriteParquet(
        FileSystems.join(output.state_out, name),
        schema,
        temp_directory=FileSystems.join(output.temp, f"_state_{name}"),
        rows_metric=f"state.{name}_rows_written",
        files_metric=f"state.{name}_files_written",
        row_group_size=output.row_group_size,
        batch_name=BATCH_FILE,
    )


def reject_row(reject: Reject, pinned: datetime | None, run_start: datetime, ts=beam.DoFn.TimestampParam) -> dict:
    """A reject's row, stamped with the run's ingest time (batch, or a pinned
    --ingested_at), else with its arrival (streaming)."""
    return reject.to_row(pinned or arrival_of(ts, run_start))


def feed_memory(source: FeedsSource, output: OutputPlan) -> FeedMemory | None:
    """A bounded feed run's memory across runs: read from the earlier runs'
    state (an --append run), written into this run's state folder; None
    for an endless poll (its memory is Beam state)."""
    if source.polls is None:
        return None
    earlier = FileSystems.join(output.state_in, FEED_STATE) if output.state_in else None
    return FeedMemory(read_from=earlier, write_to=FileSystems.join(output.state_out, FEED_STATE))


def read_source(source: Source, output: OutputPlan | None = None) -> beam.PTransform:
    """The Read step of a resolved source: a composite giving documents and
    rejects.  ``output``: where a feed run's memory is read and written."""
    if isinstance(source, PubSubSource):
        return ReadPubSub(
            subscription=source.subscription, topic=source.topic, settings=source.settings, max_bytes=source.max_bytes
        )
    if isinstance(source, FeedsSource):
        memory = feed_memory(source, output) if output is not None else None
        return ReadFeeds(
            list(source.urls), source.settings, poll_seconds=source.poll_seconds, polls=source.polls, memory=memory
        )
    if isinstance(source, FilesSource):
        manifest = source.manifest
        return ReadDocuments(
            source.input.pattern,
            source.input.root,
            max_bytes=source.max_bytes,
            manifest_path=manifest.path if manifest else None,
            manifest_dir=manifest.folder if manifest else None,
            manifest_header=manifest.header if manifest else None,
            expected_files=source.expected_files,
            watch=source.watch,
        )
    raise TypeError(f"not a source: {source!r}")


def build_pipeline(
    p: beam.Pipeline, options: PipelineOptions, source: beam.PTransform | None = None, tables_at: str | None = None
) -> dict[str, beam.PCollection]:
    """Resolve ``options`` (:func:`pipeline.resolve.resolve`) and :func:`wire`
    the stages into ``p``.  Resolve before building ``p`` for a Dataflow
    launch: ``beam.Pipeline(options)`` runs Beam's own checks, which the
    resolve step's must come before."""
    return wire(p, resolve(options, source_given=source is not None, tables_at=tables_at), source)


def wire(p: beam.Pipeline, plan: RunPlan, source: beam.PTransform | None = None) -> dict[str, beam.PCollection]:
    """Add newsbeam's stages to ``p``, as ``plan`` says; returns the main
    PCollections by name.

    ``source`` replaces the Read step of ``plan.source`` (``newsbeam
    replay`` passes its test stream); it must give ``{'documents':
    DecodedDocument, 'rejects': Reject}``.
    """
    if source is None:
        if plan.source is None:
            raise TypeError("the plan was resolved with source_given: pass its source")
        source = read_source(plan.source, plan.output)
    timing, output = plan.timing, plan.output
    read = p | "Read" >> source
    extracted = read["documents"] | "Extract" >> ExtractArticles(
        min_chars=plan.extraction.min_chars,
        ingested_at=output.ingested_at,
        favor_precision=plan.extraction.favor_precision,
        stream=timing.stream,
    )
    articles = extracted["articles"] | "DetectLanguage" >> DetectLanguage(plan.language)
    articles = articles | "TagTopics" >> TagTopics(plan.topics.taxonomy_text, plan.topics.scoring)
    articles = articles | "AttributeAgencies" >> AttributeAgencies(plan.topics.agencies_text)
    # --no_dedup still tells apart the records that share a URL.
    stage = Deduplicate if plan.deduplicate else SingleStories
    # A batch run starts from what earlier runs of the output kept (--append), and
    # keeps what the next needs.
    keep_state = not timing.streaming
    prior = None
    if keep_state and output.state_in:
        prior = p | "ReadDedupState" >> ReadDedupState(FileSystems.join(output.state_in, DEDUP_STATE))
    deduped = articles | "Dedup" >> stage(
        plan.dedup, lateness_seconds=timing.lateness_seconds, streaming=timing.streaming, prior=prior,
        keep_state=keep_state,
    )  # fmt: skip
    articles_written = deduped["articles"] | "WriteArticles" >> write_table("articles", output, timing.window)
    duplicates_written = deduped["duplicates"] | "WriteDuplicates" >> write_table("duplicates", output, timing.window)
    rejects = (read["rejects"], extracted["rejects"]) | "CollectRejects" >> beam.Flatten()
    if keep_state:
        # A reject an earlier run wrote (the same input, read again) is already in the output.
        new_rejects = rejects | "NewRejects" >> NewRejects(prior)
        rejects = new_rejects["rejects"]
        writer = write_state(DEDUP_STATE, DEDUP_STATE_SCHEMA, output)
        state = (deduped["state"], new_rejects["state"]) | "GatherStateRows" >> beam.Flatten()
        _ = state | "WriteDedupState" >> WriteDedupState(writer)
    rejects_written = (
        rejects
        | "RejectRows" >> beam.Map(reject_row, output.pinned, output.ingested_at)
        | "WriteRejects" >> write_table("rejects", output, timing.window)
    )
    return {
        "articles": deduped["articles"],
        "duplicates": deduped["duplicates"],
        "rejects": rejects,
        "articles_written": articles_written,
        "duplicates_written": duplicates_written,
        "rejects_written": rejects_written,
    }
