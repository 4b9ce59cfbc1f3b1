"""Running the pipeline: ``run(argv)`` builds, runs and summarises a job.

Usable as ``python -m pipeline.run --input ... --output ...`` and through the
``newsbeam run`` command.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, StandardOptions, TestOptions
from apache_beam.runners.direct.direct_runner import SwitchingDirectRunner
from apache_beam.runners.runner import PipelineRunner, PipelineState

from pipeline.commit import (
    EMPTY_PARTITION,
    RUNS_FOLDER,
    STATE_FOLDER,
    SUMMARY_FILE,
    OutputLock,
    append_in,
    new_run_id,
    present,
    remove,
    staged_state_files,
    staged_table_files,
    swap_in,
    write_json,
)
from pipeline.graph import TABLE_SPECS, TABLES, wire
from pipeline.options import NewsbeamOptions, beam_help, check_flags, endless, is_dataflow, run_help
from pipeline.resolve import STAGING_PREFIX, TEMP_FOLDER, RunPlan, by_count, resolve, temp_root, unmatched_rows_line
from pipeline.stories import STORIES, STORIES_FILE, write_stories
from transforms.agencies import AGENCY_PREFIX, NO_AGENCY
from transforms.common import (
    ALREADY_INGESTED,
    ARTICLE_FILES,
    ARTICLE_ROWS,
    DOCUMENTS_IN,
    DUPLICATE_ROWS,
    FEED_REPEATED_ENTRIES,
    FILES_SKIPPED,
    IGNORED_PREFIX,
    NAMESPACE,
    REJECT_ROWS,
    SKIPPED_PREFIX,
    STAGE_TIME_PREFIX,
    TOPICS_PREFIX,
)
from transforms.core.schema import NO_TOPIC
from transforms.write import BATCH_FILE

_LOG = logging.getLogger(__name__)

# What a run without --append replaces in --output (other files the user keeps there stay).
OWN_NAMES = (*TABLES, STORIES, SUMMARY_FILE, STATE_FOLDER, RUNS_FOLDER, TEMP_FOLDER)
# --runner values that mean Beam's DirectRunner, which local_runner pins.
DIRECT_RUNNERS = (None, "DirectRunner", "SwitchingDirectRunner")


@dataclass
class Summary:
    """What a run did.  A count that is None is not known: the runner
    reported no metrics (``result.metrics()`` not implemented) and it could
    not be read back from the tables either (see :func:`summarize_tables`)."""

    state: str
    elapsed_seconds: float
    documents_in: int | None = 0
    files_skipped: int = 0
    skipped_by_suffix: dict[str, int] = field(default_factory=dict)  # by transforms.read.file_extension
    # Fields of records that could not be read and were left out, the records kept.
    ignored_fields: dict[str, int] = field(default_factory=dict)
    # Feed entries listed again (by the same feed, another feed or a later
    # poll): the same record, so not a document in, but shown.
    repeated_entries: int = 0
    articles: int | None = 0
    duplicates: int | None = 0
    rejects: int | None = 0
    # Records an earlier run already wrote into the output (an --append
    # run's identity step finds them): accounted for, not written again.
    already_ingested: int | None = 0
    article_files: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    extracted_by: dict[str, int] = field(default_factory=dict)
    dedup: dict[str, int] = field(default_factory=dict)
    topics: dict[str, int] = field(default_factory=dict)
    # Records credited to each agency, counted as they are read (before dedup: an already-ingested record too).
    agencies: dict[str, int] = field(default_factory=dict)
    stories: int | None = None  # rows of the stories table a batch run wrote (None: none written)
    # Seconds spent in each stage's own code, summed over workers.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # Handed to Dataflow and not waited for (a streaming job), or only
    # translated (--dry_run=True); job_id is None for the latter.
    detached: bool = False
    job_id: str | None = None
    # A batch run of a fixed --input that found no document in it: it fails,
    # and nothing is swapped into --output (not part of _summary.json).
    read_nothing: bool = False

    @property
    def balanced(self) -> bool | None:
        """Whether every record in is an article, a duplicate, a reject or
        already in the output; None when a count is unknown (it cannot be
        checked)."""
        counts = (self.documents_in, self.articles, self.duplicates, self.rejects, self.already_ingested)
        if any(n is None for n in counts):
            return None
        return self.documents_in == self.articles + self.duplicates + self.rejects + self.already_ingested

    def skipped_text(self) -> str:
        """'100 other files skipped: (none) 99, .json 1'."""
        text = f"{self.files_skipped} other files skipped"
        return f"{text}: {by_count(self.skipped_by_suffix, 5)}" if self.skipped_by_suffix else text

    def render(self, output: str) -> str:
        articles = "unknown" if self.articles is None else f"{self.articles}  in {self.article_files} file(s)"
        lines = [
            f"newsbeam run {self.state.lower()} in {self.elapsed_seconds:.1f} s",
            f"  documents read    {_known(self.documents_in)}"
            + (f"  ({self.skipped_text()})" if self.files_skipped else "")
            + (f"  ({self.repeated_entries} repeated feed entries skipped)" if self.repeated_entries else ""),
            f"  articles written  {articles} under {FileSystems.join(output, 'articles')}",
            f"  duplicates        {_known(self.duplicates)}  under {FileSystems.join(output, 'duplicates')}",
            f"  rejects           {_known(self.rejects)}  under {FileSystems.join(output, 'rejects')}",
        ]
        if self.stories is not None:
            lines.append(f"  stories           {self.stories}  in {FileSystems.join(output, STORIES_FILE)}")
        if self.ignored_fields:
            fields = ", ".join(f"{k} {v}" for k, v in sorted(self.ignored_fields.items()))
            lines.append(f"  fields ignored    {fields}  (could not be read; the records are kept without them)")
        if self.already_ingested:
            lines.append(f"  already ingested  {self.already_ingested}  (in the output from an earlier run)")
        for reason, n in sorted(self.rejects_by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"    {reason:<28} {n}")
        if self.extracted_by:
            lines.append("  extracted by      " + ", ".join(f"{k} {v}" for k, v in sorted(self.extracted_by.items())))
        if self.languages:
            langs = sorted(self.languages.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append("  languages         " + ", ".join(f"{k} {v}" for k, v in langs))
        balanced = self.balanced
        if self.dedup:
            lines.append("  dedup             " + ", ".join(f"{k} {v}" for k, v in sorted(self.dedup.items())))
        if self.topics:
            topics = sorted(self.topics.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append("  primary topics    " + ", ".join(f"{k} {v}" for k, v in topics))
        if self.agencies:
            credited = sorted(self.agencies.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append(
                "  agency copy       " + ", ".join(f"{k} {v}" for k, v in credited) + "  (records read, before dedup)"
            )
        if self.stage_seconds:
            stages = sorted(self.stage_seconds.items(), key=lambda kv: -kv[1])
            lines.append("  time in stages    " + ", ".join(f"{k} {_seconds(v)}" for k, v in stages))
        check = "records in = articles + duplicates + rejects + already_ingested:"
        rows = (self.articles, self.duplicates, self.rejects, self.already_ingested)
        if balanced is None and all(n is None for n in rows):
            lines.append(f"  {check} unknown (this runner reports no metrics)")
        elif balanced is None:
            written = " + ".join(_known(n) for n in rows)
            lines.append(f"  {check} unknown = {written}  (this runner reports no metrics)")
        else:
            verdict = "ok" if balanced else "MISMATCH: some records are unaccounted for"
            written = " + ".join(str(n) for n in rows)
            lines.append(f"  {check} {self.documents_in} = {written}  {verdict}")
        return "\n".join(lines)


def _known(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def _counters(result) -> dict[str, int] | None:
    """The run's counters, summed over steps; None if the runner reports no metrics."""
    try:
        queried = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    except (NotImplementedError, AttributeError):
        return None
    totals: dict[str, int] = {}
    for c in queried["counters"]:
        value = c.committed if c.committed is not None else c.attempted
        totals[c.key.metric.name] = totals.get(c.key.metric.name, 0) + (value or 0)
    return totals


def summarize(result, elapsed: float) -> Summary:
    """The summary from the run's counters.  A runner without metrics
    leaves the four counts of the balance unknown (None), not 0: a run that
    ended (DONE) then has them read back from its tables (``_run_built``)."""
    counters = _counters(result)
    if counters is None:
        return Summary(
            state=str(result.state),
            elapsed_seconds=round(elapsed, 2),
            documents_in=None,
            articles=None,
            duplicates=None,
            rejects=None,
            already_ingested=None,
        )
    summary = Summary(
        state=str(result.state),
        elapsed_seconds=round(elapsed, 2),
        documents_in=counters.get(DOCUMENTS_IN, 0),
        files_skipped=counters.get(FILES_SKIPPED, 0),
        repeated_entries=counters.get(FEED_REPEATED_ENTRIES, 0),
        articles=counters.get(ARTICLE_ROWS, 0),
        duplicates=counters.get(DUPLICATE_ROWS, 0),
        rejects=counters.get(REJECT_ROWS, 0),
        already_ingested=counters.get(ALREADY_INGESTED, 0),
        article_files=counters.get(ARTICLE_FILES, 0),
    )
    for name, value in counters.items():
        if name == ALREADY_INGESTED:
            continue  # a line of its own
        if name.startswith("rejects.") and value:
            summary.rejects_by_reason[name.removeprefix("rejects.")] = value
        elif name.startswith(IGNORED_PREFIX) and value:
            summary.ignored_fields[name.removeprefix(IGNORED_PREFIX)] = value
        elif name.startswith(SKIPPED_PREFIX) and value:
            summary.skipped_by_suffix[name.removeprefix(SKIPPED_PREFIX)] = value
        elif name.startswith("lang.") and value:
            summary.languages[name.removeprefix("lang.")] = value
        elif name.startswith("dedup.") and value:
            summary.dedup[name.removeprefix("dedup.")] = value
        elif name.startswith(TOPICS_PREFIX) and value:
            summary.topics[name.removeprefix(TOPICS_PREFIX)] = value
        elif name.startswith(AGENCY_PREFIX) and value and name != AGENCY_PREFIX + NO_AGENCY:
            summary.agencies[name.removeprefix(AGENCY_PREFIX)] = value
        elif name.startswith("extracted.") and value:
            summary.extracted_by[name.removeprefix("extracted.")] = value
        elif name.startswith(STAGE_TIME_PREFIX) and value:
            summary.stage_seconds[name.removeprefix(STAGE_TIME_PREFIX)] = round(value / 1e6, 3)
    return summary


def _count(values, missing: str = "unknown") -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        key = value if value is not None else missing
        counts[key] = counts.get(key, 0) + 1
    return counts


def summarize_tables(
    output: str, documents_in: int | None, state: str, elapsed: float, already_ingested: int | None = 0
) -> Summary:
    """A summary read back from the Parquet written: for bounded streaming
    runs, and for runs on a runner that reports no metrics.

    The DirectRunner's streaming mode under-reports user counters (a
    counter incremented in five bundles reads 1), so a bounded streaming
    run (a replay) is summarised from what actually landed; the number of
    documents in comes from the source, so the balance check still means
    something (None: not known, and the balance is not checked).

    Read from the tables: articles, duplicates and rejects (rows),
    article_files, rejects_by_reason, languages, extracted_by and topics
    (of articles and duplicates, as the counters count them), and dedup: ``stories`` (article rows) and
    ``<kind>_copies`` by the duplicates' ``duplicate_kind`` (same_url,
    exact, near).  ``already_ingested`` is the caller's to give: 0 for a
    run without prior state (nothing can be in the output already), None
    otherwise (no row says so).  Not in any table, so left empty: files_skipped,
    repeated_entries, stage_seconds, and the dedup counts that are no row
    (url_variants, representatives_dropped, unresolved_copies).  The
    tables cannot tell a run without dedup either: its articles count as
    stories.
    """
    import pyarrow.dataset as ds

    def table(name: str, columns: list[str]):
        path = FileSystems.join(output, name)
        return ds.dataset(path, format="parquet", partitioning="hive").to_table(columns=columns)

    articles = table("articles", ["lang", "primary_topic", "extractor"])
    duplicates = table("duplicates", ["duplicate_kind", "lang", "primary_topic", "extractor"])
    rejects = table("rejects", ["stage", "reason"])
    found = FileSystems.match([FileSystems.join(output, "articles", "**")])[0].metadata_list
    files = [m for m in found if m.path.endswith(".parquet")]

    def both(column: str) -> list:
        return articles[column].to_pylist() + duplicates[column].to_pylist()

    reasons = [f"{s}.{r}" for s, r in zip(rejects["stage"].to_pylist(), rejects["reason"].to_pylist(), strict=True)]
    dedup = {f"{kind}_copies": n for kind, n in _count(duplicates["duplicate_kind"].to_pylist()).items()}
    if articles.num_rows:
        dedup["stories"] = articles.num_rows
    return Summary(
        state=state,
        elapsed_seconds=round(elapsed, 2),
        documents_in=documents_in,
        articles=articles.num_rows,
        duplicates=duplicates.num_rows,
        rejects=rejects.num_rows,
        already_ingested=already_ingested,
        article_files=len(files),
        rejects_by_reason=_count(reasons),
        # Of every article extracted, first copies and later ones, as the counters count them.
        languages=_count(both("lang")),
        extracted_by=_count(both("extractor")),
        topics=_count(both("primary_topic"), NO_TOPIC),
        dedup=dedup,
    )


def _absolute(path: str) -> str:
    return path if "://" in path else os.path.abspath(path)


def staging_folder(output: str, run_id: str) -> str:
    """Where a run writes its tables before they are committed into
    --output: inside --output (same disk or bucket, so the commit is
    renames), one per run."""
    return FileSystems.join(_absolute(output), STAGING_PREFIX + run_id)


def _has_parquet(table: str) -> bool:
    found = FileSystems.match([FileSystems.join(table, "**")])[0].metadata_list
    return any(m.path.endswith(".parquet") for m in found)


def ensure_table(tables: str, name: str, file_name: str = BATCH_FILE, output: str | None = None) -> None:
    """A run with no rejects (or no duplicates) writes no files for them;
    leave one empty file so queries on OUTPUT/<name>/ work either way,
    unless the output (``output``, when appending) has files of its own
    there.  A partitioned table's empty file goes into a partition folder
    of its own (``EMPTY_PARTITION``), so that every file of the table has
    the same partition keys: Hive readers (DuckDB, pyarrow, Spark) refuse a
    file at the table's root beside partition folders."""
    table = FileSystems.join(tables, name)
    if _has_parquet(table) or (output is not None and _has_parquet(FileSystems.join(output, name))):
        return
    spec = TABLE_SPECS[name]
    folder = FileSystems.join(table, EMPTY_PARTITION) if spec.partition_fn else table
    if not FileSystems.exists(folder):
        FileSystems.mkdirs(folder)
    with FileSystems.create(FileSystems.join(folder, file_name)) as fh:
        pq.write_table(spec.schema.empty_table(), fh)


SourceFactory = Callable[[NewsbeamOptions], beam.PTransform]


def prepare_options(argv: list[str] | None) -> PipelineOptions:
    """The run's options: every flag known (Beam would only log the others
    and run on), streaming switched on for an endless source, and
    --overwrite only where the new tables can be swapped in at the end.
    Every other check is ``pipeline.resolve.resolve``'s, which must run
    before ``beam.Pipeline(options)`` is built (Beam's own Dataflow checks
    would otherwise go looking for a default bucket over the network)."""
    check_flags(list(sys.argv[1:] if argv is None else argv))
    options = PipelineOptions(argv)
    opts = options.view_as(NewsbeamOptions)
    if endless(opts):
        options.view_as(StandardOptions).streaming = True
    if opts.append and not stages(options):
        raise ValueError(
            "--append only applies to a batch job newsbeam waits for to its end, when its new files are moved "
            "into --output: this one streams without end or is not waited for, and writes into --output as it goes"
        )
    if opts.overwrite and not stages(options):
        raise ValueError(
            "--overwrite only applies to a job newsbeam waits for to its end, when the new tables replace the old: "
            "this one streams without end or is not waited for; empty --output yourself or choose another folder"
        )
    return options


def local_runner(options: PipelineOptions) -> PipelineRunner | None:
    """The runner of a run that names no other (or the DirectRunner): Beam's
    DirectRunner with its Prism attempt switched off; None for any other.

    Since Beam 2.68 the DirectRunner first tries the Prism runner, which
    downloads its binary on first use: offline that costs a DNS lookup and a
    fallback, online it silently changes runners.  Without Prism it chooses
    as it falls back today: the FnApiRunner (in-process, or
    --direct_num_workers with --direct_running_mode) unless the graph needs
    the BundleBasedDirectRunner (a TestStream, as in replay, or Pub/Sub).
    """
    if options.view_as(StandardOptions).runner not in DIRECT_RUNNERS:
        return None
    runner = SwitchingDirectRunner()
    runner.is_interactive()  # the switch by which Beam's InteractiveRunner skips Prism; it changes nothing else
    return runner


def waits(options: PipelineOptions) -> bool:
    """Whether ``run`` waits for the job: always on local runners; on Dataflow
    only for a batch job without --no_wait_until_finish (a streaming job
    never finishes, and a Flex Template launcher must exit once the job is
    submitted)."""
    standard = options.view_as(StandardOptions)
    return not is_dataflow(options) or not (standard.streaming or standard.no_wait_until_finish)


def stages(options: PipelineOptions) -> bool:
    """Whether the run writes into a staging folder and swaps it in at its
    end: every run newsbeam waits for and that ends.  An endless job, or one
    handed to Dataflow and not waited for, has no end to swap at: it writes
    into --output as it goes."""
    return waits(options) and not endless(options.view_as(NewsbeamOptions))


def reads_fixed_input(options: PipelineOptions, replay: bool) -> bool:
    """A batch run of --input, which must find documents (a watched folder
    may stay empty, a feed may have nothing new)."""
    opts = options.view_as(NewsbeamOptions)
    return bool(opts.input) and not replay and opts.polls is None and not options.view_as(StandardOptions).streaming


def submitted_message(job_id: str, options: PipelineOptions) -> str:
    cloud = options.view_as(GoogleCloudOptions)
    kind = "streaming" if options.view_as(StandardOptions).streaming else "batch"
    where = f"--region {cloud.region} --project {cloud.project}"
    return "\n".join([
        f"newsbeam: submitted {kind} Dataflow job {job_id} ({cloud.job_name or 'unnamed'})",
        f"  console  https://console.cloud.google.com/dataflow/jobs/{cloud.region}/{job_id}?project={cloud.project}",
        f"  drain    gcloud dataflow jobs drain {job_id} {where}",
        f"  cancel   gcloud dataflow jobs cancel {job_id} {where}",
    ])  # fmt: skip


def run(argv: list[str] | None = None, source_factory: SourceFactory | None = None) -> Summary:
    """Build and run the pipeline with ``argv`` flags; print and return its
    summary.  ``source_factory`` builds a Read step other than the flags'
    (``newsbeam replay``)."""
    command = list(sys.argv[1:] if argv is None else argv)
    started_at = datetime.now(UTC)
    options = prepare_options(argv)
    opts = options.view_as(NewsbeamOptions)
    source = source_factory(opts) if source_factory else None
    # Nothing is written before the graph is built: a refused run touches nothing.
    # A dry run only translates the job: nothing to stage, and no bucket to look at.
    dry_run = bool(options.view_as(TestOptions).dry_run)
    run_id = new_run_id(started_at)
    staging = staging_folder(opts.output, run_id) if opts.output and stages(options) and not dry_run else None
    output = _absolute(opts.output) if opts.output else ""
    output_existed = staging is not None and present(output)
    plan = resolve(options, source_given=source is not None, tables_at=staging, run_id=run_id)  # before Beam's checks
    manifest = getattr(plan.source, "manifest", None)
    if manifest is not None and manifest.unmatched_rows:
        print(unmatched_rows_line(manifest), file=sys.stderr)
    lock = OutputLock(output, run_id, command, STAGING_PREFIX) if staging else None
    if lock:
        lock.acquire()
    try:
        p = beam.Pipeline(runner=local_runner(options), options=options)
        wire(p, plan, source)
        return _run_built(p, options, source, plan, RunRecord(run_id, started_at, command))
    finally:
        if staging:
            remove(staging)  # after a commit it holds the previous files; after a failure, the new ones
        if lock:
            lock.release()
        if staging and not output_existed and "://" not in output and os.path.isdir(output) and not os.listdir(output):
            os.rmdir(output)  # a failed first run leaves no empty folder behind


@dataclass(frozen=True)
class RunRecord:
    """What the run log says of a run besides its counts and files."""

    run_id: str
    started_at: datetime
    command: list[str]


def run_log(record: RunRecord, summary: Summary, plan: RunPlan, staging: str) -> dict:
    """``_runs/<run id>.json``: the run, its flags, the files it added
    (relative to --output; deleting them and this log rolls the run back)
    and the state files it replaced."""
    mode = "append" if plan.output.append else "new"
    return {
        "run_id": record.run_id,
        "mode": mode,
        "started_at": record.started_at.isoformat(timespec="seconds"),
        "ended_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": record.command,
        "files_added": staged_table_files(staging, TABLES),
        "state_files": staged_state_files(staging),
        "counts": {
            "documents_in": summary.documents_in,
            "articles": summary.articles,
            "duplicates": summary.duplicates,
            "rejects": summary.rejects,
            "already_ingested": summary.already_ingested,
            "repeated_entries": summary.repeated_entries,
            "files_skipped": summary.files_skipped,
        },
    }


def _run_built(p: beam.Pipeline, options: PipelineOptions, source, plan: RunPlan, record: RunRecord) -> Summary:
    opts = options.view_as(NewsbeamOptions)
    out = plan.output
    staging = out.tables_at if out.tables_at != out.output else None
    started = time.monotonic()
    result = p.run()
    if not waits(options):
        job_id = result.job_id() if callable(getattr(result, "job_id", None)) else None
        if job_id:
            print(submitted_message(job_id, options))
        else:
            print("newsbeam: dry run: the job was translated, nothing was submitted (newsbeam plan writes it out)")
        elapsed = round(time.monotonic() - started, 2)
        return Summary(state=str(result.state), elapsed_seconds=elapsed, detached=True, job_id=job_id)
    try:
        result.wait_until_finish()
    except KeyboardInterrupt:  # how an endless local streaming run is stopped
        print("newsbeam: stopping the job", file=sys.stderr)
        result.cancel()
    summary = summarize(result, time.monotonic() - started)
    tables = out.tables_at
    if result.state == PipelineState.DONE:
        temp = temp_root(options, tables)
        if FileSystems.exists(temp):
            FileSystems.delete([temp])
        summary.read_nothing = summary.documents_in == 0 and reads_fixed_input(options, source is not None)
    if result.state == PipelineState.DONE and not summary.read_nothing:
        for name in TABLES:
            ensure_table(tables, name, out.file_name, out.output if out.append else None)
        planned = getattr(source, "documents_planned", None)
        streamed = options.view_as(StandardOptions).streaming and planned is not None
        if streamed or summary.documents_in is None:  # under-reported, or not reported at all
            # Nothing is in the output already without prior state; with it, no row says.
            known = 0 if out.state_in is None else None
            summary = summarize_tables(tables, planned, summary.state, summary.elapsed_seconds, known)
        if staging:  # a batch run: the stories of the whole output, this run's rows with the earlier ones
            summary.stories = write_stories(tables, [tables, out.output] if out.append else [tables])
        saved = asdict(summary)
        del saved["read_nothing"]
        write_json(FileSystems.join(tables, SUMMARY_FILE), saved)
        if staging:
            log_name = FileSystems.join(RUNS_FOLDER, f"{record.run_id}.json")
            write_json(FileSystems.join(staging, log_name), run_log(record, summary, plan, staging))
            if out.append:
                append_in(staging, out.output, TABLES, log_name, replaced=(STORIES_FILE,))
            else:
                swap_in(staging, out.output, OWN_NAMES)
    print(summary.render(opts.output))
    if summary.read_nothing:
        skipped = f" ({summary.skipped_text()})" if summary.files_skipped else ""
        print(f"newsbeam: error: no document was read from --input {opts.input!r}{skipped}: "
              "nothing was written to --output", file=sys.stderr)  # fmt: skip
    return summary


def error_line(exc: Exception) -> str:
    """An error's message on one line (some libraries' messages span several)."""
    text = str(exc)
    return " ".join(text.split()) if "\n" in text else text


def main(argv: list[str] | None = None, source_factory: SourceFactory | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("pipeline", "transforms"):
        logging.getLogger(name).setLevel(logging.INFO)
    # The multi-process DirectRunner relays each worker's start-up chatter as warnings.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    argv = list(argv if argv is not None else sys.argv[1:])
    if "--help-beam" in argv:
        print(beam_help())
        return 0
    if "-h" in argv or "--help" in argv:
        print(run_help())
        return 0
    try:
        summary = run(argv, source_factory)
    except ValueError as exc:
        print(f"newsbeam: error: {error_line(exc)}", file=sys.stderr)
        return 2
    if summary.detached:
        return 0  # submitted; the job's own state is Dataflow's to report
    return exit_code(summary)


def exit_code(summary: Summary) -> int:
    """0 for a run that ended (DONE) with every record accounted for, or
    whose counts are unknown (a runner without metrics, where they could
    not all be read back: nothing says a record is missing); 1 otherwise,
    and for a fixed-input run that read nothing."""
    if summary.read_nothing or summary.state != PipelineState.DONE:
        return 1
    return 0 if summary.balanced is not False else 1


if __name__ == "__main__":
    sys.exit(main())
