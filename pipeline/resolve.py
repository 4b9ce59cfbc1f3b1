"""Resolving a run: flags and environment -> one frozen :class:`RunPlan`.

:func:`resolve` is the one step that turns options into decisions: it
runs every check (the flags, the Dataflow settings, the parameter sets of
``transforms.core.params``) and every read a run needs before any worker
starts (the --input listing, the manifest's header, the feed list, the
taxonomy), and raises ``ValueError`` naming the flag at fault.  What it
returns is all ``pipeline.graph.wire`` needs: the graph reads no option
and no file of its own.

Call it before ``beam.Pipeline(options)`` is built: Beam's own validation
goes looking for a default bucket over the network, which the Dataflow
checks here refuse first.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, StandardOptions, TestOptions

from pipeline.commit import LOCK_FILE, RUNS_FOLDER, STATE_FOLDER, append_file_name, new_run_id
from pipeline.options import NewsbeamOptions, validate, validate_dataflow
from transforms.core.agencies import packaged_agencies_text
from transforms.core.feeds import parse_feed_list
from transforms.core.fetch import FetchPolicy, parse_networks
from transforms.core.manifest import MANIFEST_NAME, ManifestError, check_rows
from transforms.core.params import DedupParams, LanguageParams, ScoringParams
from transforms.core.taxonomy import TaxonomyError, decode_taxonomy, packaged_taxonomy_text, parse_taxonomy
from transforms.core.timeparse import parse_time
from transforms.extract import StreamTiming
from transforms.feeds import FeedSettings
from transforms.read import (
    COMPRESSED_SUFFIXES,
    HTML_SUFFIXES,
    JSONL_SUFFIXES,
    TEXT_SUFFIXES,
    WatchSpec,
    file_extension,
    kind_of,
    relative_to,
    unlisted_files,
)
from transforms.write import BATCH_FILE, WindowSpec

TEMP_FOLDER = ".newsbeam-tmp"
# A batch run writes its tables into OUTPUT/<STAGING_PREFIX><run id>/ and
# swaps them in once it succeeded (pipeline.run), so a failed run never
# leaves OUTPUT half-replaced.
STAGING_PREFIX = ".newsbeam-staging-"
LOCAL_RUNNERS = (None, "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner", "FnApiRunner")
_GLOB_CHARS = "*?["


# --- the plan ----------------------------------------------------------------


@dataclass(frozen=True)
class InputPlan:
    """What --input resolves to: the pattern to match, the root that relative
    paths (and doc ids) are taken from, and how many files match now."""

    pattern: str
    root: str
    matched: int


@dataclass(frozen=True)
class Manifest:
    """The sidecar manifest: its file, the folder its paths are relative
    to, and its header line (checked; the workers parse the rows)."""

    path: str
    folder: str
    header: str
    rows: int = 0
    # Rows naming no file the input lists (the first few of them), and how
    # many: a typo in a path, or a file not copied, which the run reports.
    unmatched: tuple[str, ...] = ()
    unmatched_rows: int = 0


@dataclass(frozen=True)
class FilesSource:
    """Documents in files: --input (listed once, or watched) with its manifest."""

    input: InputPlan
    manifest: Manifest | None
    max_bytes: int
    watch: WatchSpec | None = None

    @property
    def expected_files(self) -> int | None:
        """Files the read should find (a watched folder's are not known)."""
        return None if self.watch else self.input.matched


@dataclass(frozen=True)
class FeedsSource:
    """RSS/Atom feeds polled ``polls`` times (None: until the job is stopped)."""

    urls: tuple[str, ...]
    settings: FeedSettings
    poll_seconds: float
    polls: int | None


@dataclass(frozen=True)
class PubSubSource:
    """A Pub/Sub subscription or topic whose messages are pages, texts or URLs to fetch."""

    subscription: str | None
    topic: str | None
    settings: FeedSettings
    max_bytes: int


Source = FilesSource | FeedsSource | PubSubSource


@dataclass(frozen=True)
class Extraction:
    min_chars: int
    favor_precision: bool


@dataclass(frozen=True)
class Topics:
    """The taxonomy's YAML text (read and checked here, so workers need no
    file of their own) and the score's parameters; the agency list's YAML
    text, for attribution."""

    taxonomy_text: str = field(repr=False)
    scoring: ScoringParams
    agencies_text: str = field(repr=False, default_factory=packaged_agencies_text)


@dataclass(frozen=True)
class Timing:
    """Event time: ``lateness_seconds`` is how long a late record may still
    come (dedup keeps its state that long, batch too); ``stream`` (the
    lateness gate) and ``window`` (the write windows) are set for a
    streaming run only."""

    streaming: bool
    lateness_seconds: int
    stream: StreamTiming | None = None
    window: WindowSpec | None = None


@dataclass(frozen=True)
class OutputPlan:
    """Where the tables go and what their rows are stamped with.

    ``tables_at`` is where they are written: ``output`` itself, or the
    staging folder a run commits at its end.  ``pinned_ingest``: every row
    carries ``ingested_at`` (a batch run, or a pinned --ingested_at);
    otherwise each carries its arrival (streaming).

    ``append`` (--append): the run adds files named ``file_name`` (unique
    to ``run_id``) beside the output's.  Memory across runs: ``state_in``
    is the folder earlier runs left their state in (OUTPUT/_state, when
    appending and it exists; None otherwise), ``state_out`` the folder this
    run writes its new state into (<tables_at>/_state), whose files the
    commit step moves into OUTPUT/_state/, one rename per file.  Each
    stage keeps its own subfolder (``feeds/``, ``dedup/``).
    """

    output: str
    tables_at: str
    temp: str
    row_group_size: int
    ingested_at: datetime
    pinned_ingest: bool
    run_id: str = "unstaged"
    append: bool = False
    state_in: str | None = None
    state_out: str = ""

    @property
    def file_name(self) -> str:
        """The name of each batch file: unique to the run when appending."""
        return append_file_name(self.run_id) if self.append else BATCH_FILE

    @property
    def pinned(self) -> datetime | None:
        """The ingest time stamped on every row, or None when rows carry their arrival."""
        return self.ingested_at if self.pinned_ingest else None


@dataclass(frozen=True)
class RunPlan:
    """Everything a run's graph is built from.  ``source`` is None when the
    caller gives the Read step itself (``newsbeam replay``)."""

    source: Source | None
    extraction: Extraction
    language: LanguageParams
    topics: Topics
    dedup: DedupParams
    deduplicate: bool  # False with --no_dedup: every article its own story
    timing: Timing
    output: OutputPlan


# --- resolving ---------------------------------------------------------------


def resolve(
    options: PipelineOptions, source_given: bool = False, tables_at: str | None = None, run_id: str | None = None
) -> RunPlan:
    """The plan the options describe, checked, with every build-time file read.

    ``source_given``: the caller brings its own Read step, so no source flag
    is needed (or read).  ``tables_at``: where the tables are written when
    not straight into --output (a staging folder).  ``run_id``: the run's
    id (the staging folder's, and an --append run's file names); one is
    made when not given.
    """
    opts = options.view_as(NewsbeamOptions)
    validate_dataflow(options)
    validate(opts, needs_input=not source_given)
    language = LanguageParams.from_options(opts)
    dedup = DedupParams.from_options(opts)
    scoring = ScoringParams.from_options(opts)
    standard = options.view_as(StandardOptions)
    streaming = bool(standard.streaming)
    # A dry run (newsbeam plan) reads nothing from Cloud Storage: it may have no credentials.
    offline = bool(options.view_as(TestOptions).dry_run)
    check_output(opts.output)
    if not (opts.overwrite or opts.append or updating(options) or (offline and _is_remote(opts.output))):
        if not output_is_empty(opts.output):
            raise ValueError(
                f"--output {opts.output!r} is not empty; choose another folder, pass --append to add to its "
                "tables or --overwrite to replace them"
            )
    source = None if source_given else resolve_source(opts, streaming, standard.runner, offline)
    taxonomy = resolve_taxonomy(opts, offline)
    pinned_ingest = not streaming or opts.ingested_at is not None
    stream, window = stream_timing(opts, pinned_ingest) if streaming else (None, None)
    tables = _absolute(tables_at or opts.output)
    output = _absolute(opts.output)
    prior = FileSystems.join(output, STATE_FOLDER)
    state_in = prior if opts.append and not offline and FileSystems.exists(prior) else None
    return RunPlan(
        source=source,
        extraction=Extraction(min_chars=opts.min_chars, favor_precision=opts.favor_precision),
        language=language,
        topics=Topics(taxonomy, scoring),
        dedup=dedup,
        deduplicate=opts.dedup,
        timing=Timing(streaming, round(opts.allowed_lateness_hours * 3600), stream, window),
        output=OutputPlan(
            output=output,
            tables_at=tables,
            temp=temp_root(options, tables),
            row_group_size=opts.row_group_size,
            ingested_at=run_ingested_at(opts),
            pinned_ingest=pinned_ingest,
            run_id=run_id or new_run_id(),
            append=bool(opts.append),
            state_in=state_in,
            state_out=FileSystems.join(tables, STATE_FOLDER),
        ),
    )


def resolve_source(opts: NewsbeamOptions, streaming: bool, runner: str | None = None, offline: bool = False) -> Source:
    """The source the flags name, with its files listed and read."""
    if opts.input_subscription or opts.input_topic:
        if not streaming:
            raise ValueError("--input_subscription/--input_topic read an endless stream: pass --streaming")
        return PubSubSource(opts.input_subscription, opts.input_topic, fetch_settings(opts), opts.max_bytes)
    if opts.feeds:
        urls = read_feed_list(opts.feeds, offline)
        polls = 1 if opts.once else opts.polls
        if polls is None and not streaming:
            raise ValueError("--feeds polls until stopped: pass --streaming, or --once / --polls N for a bounded run")
        if polls is None and runner in LOCAL_RUNNERS:
            raise ValueError(
                "--feeds without --once or --polls polls forever, which needs a streaming runner "
                "(Dataflow, Flink): the local DirectRunner cannot run an endless poll. Use --polls N here."
            )
        return FeedsSource(tuple(urls), fetch_settings(opts), opts.poll_seconds, polls)
    watch = None
    if opts.polls is not None or streaming:
        watch = WatchSpec(opts.poll_seconds, opts.polls)
        if opts.polls is None and runner in LOCAL_RUNNERS:
            raise ValueError(
                "--input with --streaming watches the folder until stopped, which needs a streaming runner "
                "(Dataflow, Flink): the local DirectRunner cannot run an endless watch. Use --polls N here."
            )
    # A watched folder's files are still to come: its rows are not checked against them (nothing is listed).
    inputs, listed = _listed_input(opts.input, watch is not None, offline)
    manifest = find_manifest(opts.manifest, inputs.root, offline, listed or None)
    return FilesSource(inputs, manifest, opts.max_bytes, watch)


UNMATCHED_SHOWN = 5


def _unmatched(files: list[str], folder: str, paths: list[str]) -> list[str]:
    """The manifest's files (relative to its ``folder``) that are not among ``paths``."""
    present = {relative_to(path, folder) for path in paths}
    return [f for f in files if f not in present]


def unmatched_rows_line(manifest: Manifest) -> str:
    """The run's warning about manifest rows naming no file of the input."""
    shown = ", ".join(manifest.unmatched)
    rest = manifest.unmatched_rows - len(manifest.unmatched)
    more = f" and {rest} more" if rest else ""
    return (
        f"newsbeam: {manifest.path}: {manifest.unmatched_rows} of {manifest.rows} rows name no file of --input "
        f"({shown}{more}); their metadata is not used"
    )


def _is_remote(path: str) -> bool:
    return "://" in path


def _absolute(path: str) -> str:
    return path if _is_remote(path) else os.path.abspath(path)


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
    return _listed_input(spec, watch, offline)[0]


def _listed_input(spec: str, watch: bool, offline: bool) -> tuple[InputPlan, list[str]]:
    """:func:`plan_input`, and the paths it listed (none when it lists nothing)."""
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
        return InputPlan(pattern, root, 0), []
    if watch:  # listed by the workers, again and again; a bucket is not listed at graph-build time
        if is_file or (not _is_remote(root) and not os.path.isdir(root)):
            raise ValueError(f"--input {spec!r} is not a folder (or a glob in one) to watch: create it first")
        return InputPlan(pattern, root, 0), []
    found = FileSystems.match([pattern])[0].metadata_list + unlisted_files(pattern)
    if not found:
        raise ValueError(f"--input {spec!r} matches no files")
    if not any(kind_of(m.path) for m in found):
        raise ValueError(f"--input {spec!r} has no documents to read: {_skipped(m.path for m in found)}; {READABLE}")
    return InputPlan(pattern, root, len(found)), [m.path for m in found]


READABLE = (
    "newsbeam reads "
    + ", ".join("/".join(group) for group in (HTML_SUFFIXES, TEXT_SUFFIXES, JSONL_SUFFIXES))
    + f", optionally compressed ({', '.join(COMPRESSED_SUFFIXES)})"
)


def by_count(counts: dict[str, int], limit: int | None = None) -> str:
    """'.warc.gz 2, .pdf 1': names, most frequent first; past ``limit``, the rest as 'N more'."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ranked if limit is None else ranked[:limit]
    listed = [f"{name} {n}" for name, n in shown]
    if len(ranked) > len(shown):
        listed.append(f"{sum(n for _, n in ranked[len(shown) :])} more")
    return ", ".join(listed)


def _skipped(paths) -> str:
    """'3 files skipped (.warc.gz 2, .pdf 1)': what a folder holds instead of documents."""
    counts: dict[str, int] = {}
    for path in paths:
        counts[file_extension(path)] = counts.get(file_extension(path), 0) + 1
    total = sum(counts.values())
    return f"{total} file{'s' if total != 1 else ''} skipped ({by_count(counts)})"


def find_manifest(
    flag: str | None, root: str, offline: bool = False, input_files: list[str] | None = None
) -> Manifest | None:
    """The sidecar manifest --manifest names (``flag``), else manifest.csv in
    the input's ``root`` if there is one; None for 'none' or no manifest.
    With the input's listed files, the rows naming none of them are noted."""
    if flag and flag.lower() == "none":
        return None
    path = _absolute(flag) if flag else FileSystems.join(root, MANIFEST_NAME)
    if offline and _is_remote(path):
        if flag:
            raise _offline_refusal("manifest", flag)
        return None  # whether the bucket has one is not known offline
    if not FileSystems.exists(path):
        if flag:
            raise ValueError(f"--manifest {flag!r} does not exist")
        return None
    with FileSystems.open(path) as fh:
        data = fh.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"--manifest {path!r} is not UTF-8: byte {data[exc.start]:#04x} at offset {exc.start}"
        ) from None
    header = text.split("\n", 1)[0].rstrip("\r")
    try:
        # Every row is checked before any worker starts, so a bad one is one line here, not a failed run.
        files = check_rows(text)
    except ManifestError as exc:
        raise ValueError(f"--manifest {path!r}: {exc}") from exc
    folder = path.rsplit("/", 1)[0]
    missing = _unmatched(files, folder, input_files) if input_files else []
    return Manifest(path, folder, header, len(files), tuple(missing[:UNMATCHED_SHOWN]), unmatched_rows=len(missing))


def output_is_empty(output: str) -> bool:
    """Whether ``output`` holds no file (a killed run's staging folder and
    lock aside: they are newsbeam's own, and no table of the output)."""
    root = _absolute(output).rstrip("/") + "/"
    found = FileSystems.match([FileSystems.join(_absolute(output), "**")])[0].metadata_list
    return all(m.path.startswith((root + STAGING_PREFIX, root + LOCK_FILE)) for m in found)


# The folders a run writes into --output (pipeline.graph.TABLES and the commit's own).
_OUTPUT_FOLDERS = ("articles", "duplicates", "rejects", STATE_FOLDER, RUNS_FOLDER)


def check_output(output: str) -> None:
    """An --output that names a file, or lies under one, or whose tables'
    places hold a file, cannot become a folder of tables; nor can one that
    cannot be created."""
    path = _absolute(output)
    if _is_remote(path):
        return
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"--output {output!r} is a file, not a folder")
    parent = os.path.dirname(path.rstrip("/"))
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        raise ValueError(f"--output {output!r} cannot be created: {parent!r} is a file, not a folder")
    if not os.path.exists(path) and parent and not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--output {output!r} cannot be created: {parent!r} is not writable")
    for name in _OUTPUT_FOLDERS:
        inside = os.path.join(path, name)
        if os.path.exists(inside) and not os.path.isdir(inside):
            raise ValueError(f"--output {output!r} holds a file {name!r} where its {name} folder goes")


def resolve_taxonomy(opts: NewsbeamOptions, offline: bool = False) -> str:
    """The taxonomy's YAML text, read and checked at graph-build time so a
    bad --taxonomy fails before any worker starts, and workers never need
    the file itself."""
    if not opts.taxonomy:
        return packaged_taxonomy_text()
    try:
        text = decode_taxonomy(read_at_build("taxonomy", opts.taxonomy, offline))
        parse_taxonomy(text)
    except TaxonomyError as exc:
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


def stream_timing(opts: NewsbeamOptions, pinned_ingest: bool) -> tuple[StreamTiming, WindowSpec]:
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
    return StreamTiming(lateness, pinned_ingest=pinned_ingest), window


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
