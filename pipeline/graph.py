"""The pipeline graph: ``build_pipeline(p, options)`` wires the stages.

Step labels are stable (Dataflow's ``--update`` matches steps by name):
Read, Extract, DetectLanguage, TagTopics, Dedup, WriteArticles,
WriteDuplicates, CollectRejects, RejectRows, WriteRejects.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, StandardOptions, TestOptions

from pipeline.options import NewsbeamOptions, validate, validate_dataflow
from transforms.common import (
    ARTICLE_FILES,
    ARTICLE_ROWS,
    DUPLICATE_FILES,
    DUPLICATE_ROWS,
    REJECT_FILES,
    REJECT_ROWS,
    arrival_of,
)
from transforms.core.feeds import parse_feed_list
from transforms.core.fetch import FetchPolicy, parse_networks
from transforms.core.manifest import MANIFEST_NAME, ManifestError, check_header
from transforms.core.minhash import SimilarityThresholds
from transforms.core.records import Reject
from transforms.core.schema import ARTICLE_SCHEMA, DUPLICATE_SCHEMA, REJECT_SCHEMA, partition_folder
from transforms.core.taxonomy import TaxonomyError, packaged_taxonomy_text, parse_taxonomy
from transforms.core.timeparse import parse_time
from transforms.dedup import Deduplicate, SingleStories
from transforms.extract import ExtractArticles, StreamTiming
from transforms.feeds import FeedSettings, ReadFeeds
from transforms.language import DetectLanguage
from transforms.pubsub import ReadPubSub
from transforms.read import (
    COMPRESSED_SUFFIXES,
    HTML_SUFFIXES,
    JSONL_SUFFIXES,
    TEXT_SUFFIXES,
    ReadDocuments,
    WatchSpec,
    kind_of,
)
from transforms.topics import TagTopics
from transforms.write import WindowSpec, WriteParquet


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
TEMP_FOLDER = ".newsbeam-tmp"
# A batch run writes its tables into OUTPUT/<STAGING_PREFIX><run id>/ and
# swaps them in once it succeeded (pipeline.run), so a failed run never
# leaves OUTPUT half-replaced.
STAGING_PREFIX = ".newsbeam-staging-"
_GLOB_CHARS = "*?["


def _is_remote(path: str) -> bool:
    return "://" in path


def _absolute(path: str) -> str:
    return path if _is_remote(path) else os.path.abspath(path)


@dataclass(frozen=True)
class InputPlan:
    """What --input resolves to: the pattern to match, the root that relative
    paths (and doc ids) are taken from, and how many files match now."""

    pattern: str
    root: str
    matched: int


def _offline_refusal(flag: str, path: str) -> ValueError:
    return ValueError(
        f"--{flag} {path!r} is read when the graph is built, and a dry run does not reach Cloud Storage: "
        "give a local copy to plan with"
    )


def read_at_build(flag: str, spec: str, offline: bool) -> bytes:
    """The bytes of a small file a flag names, read when the graph is built
    (so a missing or bad file fails before any worker starts)."""
    path = _absolute(spec)
    if offline and _is_remote(path):
        raise _offline_refusal(flag, spec)
    if not FileSystems.exists(path):
        raise ValueError(f"--{flag} {spec!r} does not exist")
    with FileSystems.open(path) as fh:
        return fh.read()


def plan_input(spec: str, watch: bool = False, offline: bool = False) -> InputPlan:
    """What --input matches; a watched folder may start empty, but must exist.

    ``offline`` (a dry run, ``newsbeam plan``) lists nothing in Cloud
    Storage: a bucket's files are then counted by the workers only.
    """
    spec = _absolute(spec)
    is_file = False
    if any(c in spec for c in _GLOB_CHARS):
        prefix = spec[: min(spec.index(c) for c in _GLOB_CHARS if c in spec)]
        root = prefix.rsplit("/", 1)[0] if "/" in prefix else "."
        pattern = spec
    elif spec.endswith("/") or (not _is_remote(spec) and os.path.isdir(spec)):
        root = spec.rstrip("/")
        pattern = root + "/**"
    else:
        root = posixpath.dirname(spec)
        pattern = spec
        is_file = True
    if offline and _is_remote(spec):
        return InputPlan(pattern, root, 0)
    if watch:  # listed by the workers, again and again; a bucket is not listed at graph-build time
        if is_file or (not _is_remote(root) and not os.path.isdir(root)):
            raise ValueError(f"--input {spec!r} is not a folder (or a glob in one) to watch: create it first")
        return InputPlan(pattern, root, 0)
    found = FileSystems.match([pattern])[0].metadata_list
    if not found:
        raise ValueError(f"--input {spec!r} matches no files")
    if not any(kind_of(m.path) for m in found):
        raise ValueError(f"--input {spec!r} has no documents to read: {_skipped(m.path for m in found)}; {READABLE}")
    return InputPlan(pattern, root, len(found))


READABLE = (
    "newsbeam reads " + ", ".join("/".join(group) for group in (HTML_SUFFIXES, TEXT_SUFFIXES, JSONL_SUFFIXES))
    + f", optionally compressed ({', '.join(COMPRESSED_SUFFIXES)})"
)


def _extension(path: str) -> str:
    """'.warc.gz' for a compressed file, '.pdf', or '(none)'."""
    parts = posixpath.basename(path).lower().split(".")[1:]
    if len(parts) >= 2 and f".{parts[-1]}" in COMPRESSED_SUFFIXES:
        return f".{parts[-2]}.{parts[-1]}"
    return f".{parts[-1]}" if parts else "(none)"


def _skipped(paths) -> str:
    """'3 files skipped (.warc.gz 2, .pdf 1)': what a folder holds instead of documents."""
    counts: dict[str, int] = {}
    for path in paths:
        counts[_extension(path)] = counts.get(_extension(path), 0) + 1
    total = sum(counts.values())
    listed = ", ".join(f"{ext} {n}" for ext, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{total} file{'s' if total != 1 else ''} skipped ({listed})"


def resolve_manifest(opts: NewsbeamOptions, plan: InputPlan, offline: bool = False) -> tuple[str, str, str] | None:
    """(path, folder, header line) of the sidecar manifest, or None."""
    if opts.manifest and opts.manifest.lower() == "none":
        return None
    path = _absolute(opts.manifest) if opts.manifest else FileSystems.join(plan.root, MANIFEST_NAME)
    if offline and _is_remote(path):
        if opts.manifest:
            raise _offline_refusal("manifest", opts.manifest)
        return None  # whether the bucket has one is not known offline
    if not FileSystems.exists(path):
        if opts.manifest:
            raise ValueError(f"--manifest {opts.manifest!r} does not exist")
        return None
    with FileSystems.open(path) as fh:
        header = fh.readline().decode("utf-8-sig").rstrip("\r\n")
    try:
        check_header(header)
    except ManifestError as exc:
        raise ValueError(f"--manifest {path!r}: {exc}") from exc
    folder = path.rsplit("/", 1)[0]
    return path, folder, header


def output_is_empty(output: str) -> bool:
    """Whether ``output`` holds no file (a killed run's staging folder aside:
    it is newsbeam's own, and no table of the output)."""
    root = _absolute(output).rstrip("/") + "/"
    found = FileSystems.match([FileSystems.join(_absolute(output), "**")])[0].metadata_list
    return all(m.path.startswith(root + STAGING_PREFIX) for m in found)


def check_output(output: str) -> None:
    """An --output that names a file cannot become a folder of tables."""
    path = _absolute(output)
    if not _is_remote(path) and os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"--output {output!r} is a file, not a folder")


def resolve_taxonomy(opts: NewsbeamOptions, offline: bool = False) -> str:
    """The taxonomy's YAML text, read and checked at graph-build time so a
    bad --taxonomy fails before any worker starts, and workers never need
    the file itself."""
    if not opts.taxonomy:
        return packaged_taxonomy_text()
    text = read_at_build("taxonomy", opts.taxonomy, offline).decode("utf-8")
    try:
        parse_taxonomy(text)
    except TaxonomyError as exc:
        mark, problem = getattr(exc.__cause__, "problem_mark", None), getattr(exc.__cause__, "problem", None)
        if mark is not None and problem:  # YAML's own message spans lines, with a drawing of the spot
            raise ValueError(
                f"--taxonomy {opts.taxonomy!r}: not valid YAML at line {mark.line + 1}, column {mark.column + 1}: "
                f"{problem}"
            ) from exc
        raise ValueError(f"--taxonomy {opts.taxonomy!r}: {exc}") from exc
    return text


def run_ingested_at(opts: NewsbeamOptions) -> datetime:
    pinned = parse_time(opts.ingested_at) if opts.ingested_at else None
    return pinned or datetime.now(UTC).replace(microsecond=0)


def updating(options: PipelineOptions) -> bool:
    """Whether this launch replaces a running Dataflow job (``--update``):
    the new job takes over the old one's windows, state and output folder."""
    return bool(options.view_as(GoogleCloudOptions).update)


def temp_root(options: PipelineOptions, output: str) -> str:
    temp_location = options.view_as(GoogleCloudOptions).temp_location
    return FileSystems.join(temp_location or _absolute(output), TEMP_FOLDER)


def write_table(
    name: str, output: str, temp: str, row_group_size: int, window: WindowSpec | None = None
) -> WriteParquet:
    """The writer of table ``name`` into OUTPUT/<name>/ (per event-time
    window when ``window`` is given)."""
    spec = TABLE_SPECS[name]
    return WriteParquet(
        FileSystems.join(output, name),
        spec.schema,
        temp_directory=FileSystems.join(temp, name),
        rows_metric=spec.rows_metric,
        files_metric=spec.files_metric,
        partition_fn=spec.partition_fn,
        row_group_size=row_group_size,
        window=window,
    )


def stream_timing(opts: NewsbeamOptions) -> tuple[StreamTiming, WindowSpec]:
    """The lateness gate and the write windows of a streaming run.

    The gate rejects what arrives more than --allowed_lateness_hours after
    its event time.  The windows accept late rows for that long plus one
    window (at least an hour) more: a row that passed the gate can still
    take a while through dedup, and the runner drops what is later than
    the windows allow without a trace.
    """
    lateness = timedelta(hours=opts.allowed_lateness_hours)
    size = round(opts.window_minutes * 60)
    slack = max(size, 3600)
    window = WindowSpec(size_seconds=size, allowed_lateness_seconds=round(lateness.total_seconds()) + slack)
    return StreamTiming(lateness, pinned_ingest=opts.ingested_at is not None), window


def reject_row(reject: Reject, pinned: datetime | None, run_start: datetime, ts=beam.DoFn.TimestampParam) -> dict:
    """A reject's row, stamped with the run's ingest time (batch, or a pinned
    --ingested_at), else with its arrival (streaming)."""
    return reject.to_row(pinned or arrival_of(ts, run_start))


def fetch_settings(opts: NewsbeamOptions) -> FeedSettings:
    policy = FetchPolicy(
        timeout=opts.fetch_timeout,
        max_bytes=opts.max_bytes,
        max_redirects=opts.fetch_max_redirects,
        max_retries=opts.fetch_retries,
        backoff_seconds=opts.fetch_backoff_seconds,
        allow_networks=parse_networks(opts.allow_networks),
    )
    return FeedSettings(policy, rate_per_host=opts.requests_per_host, seen_days=opts.feed_seen_days)


def read_feed_list(spec: str, offline: bool = False) -> list[str]:
    """The --feeds file's URLs, read at graph-build time (it is small, and a
    bad list should fail before any worker starts)."""
    text = read_at_build("feeds", spec, offline).decode("utf-8-sig", "replace")
    try:
        return parse_feed_list(text)
    except ValueError as exc:
        raise ValueError(f"--feeds {spec!r}: {exc}") from exc


LOCAL_RUNNERS = (None, "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner", "FnApiRunner")


def read_source(
    opts: NewsbeamOptions, streaming: bool, runner: str | None = None, offline: bool = False
) -> beam.PTransform:
    """The Read step the flags describe: a composite giving documents and rejects."""
    if opts.input_subscription or opts.input_topic:
        if not streaming:
            raise ValueError("--input_subscription/--input_topic read an endless stream: pass --streaming")
        return ReadPubSub(
            subscription=opts.input_subscription,
            topic=opts.input_topic,
            settings=fetch_settings(opts),
            max_bytes=opts.max_bytes,
        )
    if opts.feeds:
        feeds = read_feed_list(opts.feeds, offline)
        polls = 1 if opts.once else opts.polls
        if polls is None and not streaming:
            raise ValueError("--feeds polls until stopped: pass --streaming, or --once / --polls N for a bounded run")
        if polls is None and runner in LOCAL_RUNNERS:
            raise ValueError(
                "--feeds without --once or --polls polls forever, which needs a streaming runner "
                "(Dataflow, Flink): the local DirectRunner cannot run an endless poll. Use --polls N here."
            )
        return ReadFeeds(feeds, fetch_settings(opts), poll_seconds=opts.poll_seconds, polls=polls)
    watch = None
    if opts.polls is not None or streaming:
        watch = WatchSpec(opts.poll_seconds, opts.polls)
        if opts.polls is None and runner in LOCAL_RUNNERS:
            raise ValueError(
                "--input with --streaming watches the folder until stopped, which needs a streaming runner "
                "(Dataflow, Flink): the local DirectRunner cannot run an endless watch. Use --polls N here."
            )
    plan = plan_input(opts.input, watch=watch is not None, offline=offline)
    manifest = resolve_manifest(opts, plan, offline)
    return ReadDocuments(
        plan.pattern,
        plan.root,
        max_bytes=opts.max_bytes,
        manifest_path=manifest[0] if manifest else None,
        manifest_dir=manifest[1] if manifest else None,
        manifest_header=manifest[2] if manifest else None,
        expected_files=None if watch else plan.matched,
        watch=watch,
    )


def build_pipeline(
    p: beam.Pipeline, options: PipelineOptions, source: beam.PTransform | None = None, tables_at: str | None = None
) -> dict[str, beam.PCollection]:
    """Add newsbeam's stages to ``p``; returns the main PCollections by name.

    ``source`` replaces the Read step the flags describe (``newsbeam
    replay`` passes its test stream); it must give ``{'documents':
    DecodedDocument, 'rejects': Reject}``.  ``tables_at`` is where the
    tables are written, when not straight into --output (a staging folder).
    """
    opts = options.view_as(NewsbeamOptions)
    validate(opts, needs_input=source is None)
    validate_dataflow(options)
    streaming = options.view_as(StandardOptions).streaming
    # A dry run (newsbeam plan) reads nothing from Cloud Storage: it may have no credentials.
    offline = bool(options.view_as(TestOptions).dry_run)
    check_output(opts.output)
    if not (opts.overwrite or updating(options) or (offline and _is_remote(opts.output))):
        if not output_is_empty(opts.output):
            raise ValueError(f"--output {opts.output!r} is not empty; choose another folder or pass --overwrite")
    source = source or read_source(opts, streaming, options.view_as(StandardOptions).runner, offline)
    taxonomy = resolve_taxonomy(opts, offline)
    ingested_at = run_ingested_at(opts)
    output = _absolute(tables_at or opts.output)
    temp = temp_root(options, output)
    timing, window = stream_timing(opts) if streaming else (None, None)

    read = p | "Read" >> source
    extracted = read["documents"] | "Extract" >> ExtractArticles(
        min_chars=opts.min_chars, ingested_at=ingested_at, favor_precision=opts.favor_precision, stream=timing
    )
    articles = extracted["articles"] | "DetectLanguage" >> DetectLanguage(
        prefix_chars=opts.lang_prefix_chars, min_prob=opts.lang_min_prob, seed=opts.lang_seed
    )
    articles = articles | "TagTopics" >> TagTopics(
        taxonomy, min_score=opts.topic_min_score, min_share=opts.topic_min_share
    )
    dedup = {
        "num_perm": opts.dedup_num_perm,
        "shingle_size": opts.dedup_shingle_size,
        "bands": opts.dedup_bands,
        "rows": opts.dedup_rows,
        "thresholds": SimilarityThresholds(jaccard=opts.dedup_jaccard, containment=opts.dedup_containment),
        "horizon_seconds": round(opts.dedup_horizon_days * 86_400),
        "max_reps": opts.dedup_max_reps,
        # State waits as long as a late record may still come.
        "lateness_seconds": round(opts.allowed_lateness_hours * 3600),
        "streaming": streaming,
    }
    # --no_dedup still tells apart the records that share a URL.
    deduped = articles | "Dedup" >> (Deduplicate(**dedup) if opts.dedup else SingleStories(**dedup))
    articles_written = deduped["articles"] | "WriteArticles" >> write_table(
        "articles", output, temp, opts.row_group_size, window
    )
    duplicates_written = deduped["duplicates"] | "WriteDuplicates" >> write_table(
        "duplicates", output, temp, opts.row_group_size, window
    )
    rejects = (read["rejects"], extracted["rejects"]) | "CollectRejects" >> beam.Flatten()
    pinned = ingested_at if not streaming or opts.ingested_at else None
    rejects_written = (
        rejects
        | "RejectRows" >> beam.Map(reject_row, pinned, ingested_at)
        | "WriteRejects" >> write_table("rejects", output, temp, opts.row_group_size, window)
    )
    return {
        "articles": deduped["articles"],
        "duplicates": deduped["duplicates"],
        "rejects": rejects,
        "articles_written": articles_written,
        "duplicates_written": duplicates_written,
        "rejects_written": rejects_written,
    }
