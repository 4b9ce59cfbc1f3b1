"""Running the pipeline: ``run(argv)`` builds, runs and summarises a job.

Usable as ``python -m pipeline.run --input ... --output ...`` and through the
``newsbeam run`` command.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, StandardOptions
from apache_beam.runners.runner import PipelineState

from pipeline.graph import TABLE_SPECS, TABLES, TEMP_FOLDER, build_pipeline, temp_root
from pipeline.options import NewsbeamOptions, endless, is_dataflow, validate_dataflow
from transforms.common import (
    ARTICLE_FILES,
    ARTICLE_ROWS,
    DOCUMENTS_IN,
    DUPLICATE_ROWS,
    FILES_SKIPPED,
    NAMESPACE,
    REJECT_ROWS,
    STAGE_TIME_PREFIX,
    TOPICS_PREFIX,
)
from transforms.write import BATCH_FILE

_LOG = logging.getLogger(__name__)


@dataclass
class Summary:
    state: str
    elapsed_seconds: float
    documents_in: int = 0
    files_skipped: int = 0
    articles: int = 0
    duplicates: int = 0
    rejects: int = 0
    article_files: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    extracted_by: dict[str, int] = field(default_factory=dict)
    dedup: dict[str, int] = field(default_factory=dict)
    topics: dict[str, int] = field(default_factory=dict)
    # Seconds spent in each stage's own code, summed over workers.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # Handed to Dataflow and not waited for (a streaming job), or only
    # translated (--dry_run=True); job_id is None for the latter.
    detached: bool = False
    job_id: str | None = None

    @property
    def balanced(self) -> bool:
        return self.documents_in == self.articles + self.duplicates + self.rejects

    def render(self, output: str) -> str:
        lines = [
            f"newsbeam run {self.state.lower()} in {self.elapsed_seconds:.1f} s",
            f"  documents read    {self.documents_in}"
            + (f"  ({self.files_skipped} other files skipped)" if self.files_skipped else ""),
            f"  articles written  {self.articles}  in {self.article_files} file(s)"
            f" under {FileSystems.join(output, 'articles')}",
            f"  duplicates        {self.duplicates}  under {FileSystems.join(output, 'duplicates')}",
            f"  rejects           {self.rejects}  under {FileSystems.join(output, 'rejects')}",
        ]
        for reason, n in sorted(self.rejects_by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"    {reason:<28} {n}")
        if self.extracted_by:
            lines.append("  extracted by      " + ", ".join(f"{k} {v}" for k, v in sorted(self.extracted_by.items())))
        if self.languages:
            langs = sorted(self.languages.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append("  languages         " + ", ".join(f"{k} {v}" for k, v in langs))
        check = "ok" if self.balanced else "MISMATCH: some records are unaccounted for"
        if self.dedup:
            lines.append("  dedup             " + ", ".join(f"{k} {v}" for k, v in sorted(self.dedup.items())))
        if self.topics:
            topics = sorted(self.topics.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append("  primary topics    " + ", ".join(f"{k} {v}" for k, v in topics))
        if self.stage_seconds:
            stages = sorted(self.stage_seconds.items(), key=lambda kv: -kv[1])
            lines.append("  time in stages    " + ", ".join(f"{k} {_seconds(v)}" for k, v in stages))
        lines.append(
            "  records in = articles + duplicates + rejects: "
            f"{self.documents_in} = {self.articles} + {self.duplicates} + {self.rejects}  {check}"
        )
        return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def _counters(result) -> dict[str, int]:
    try:
        queried = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    except (NotImplementedError, AttributeError):
        return {}
    totals: dict[str, int] = {}
    for c in queried["counters"]:
        value = c.committed if c.committed is not None else c.attempted
        totals[c.key.metric.name] = totals.get(c.key.metric.name, 0) + (value or 0)
    return totals


def summarize(result, elapsed: float) -> Summary:
    counters = _counters(result)
    summary = Summary(
        state=str(result.state),
        elapsed_seconds=round(elapsed, 2),
        documents_in=counters.get(DOCUMENTS_IN, 0),
        files_skipped=counters.get(FILES_SKIPPED, 0),
        articles=counters.get(ARTICLE_ROWS, 0),
        duplicates=counters.get(DUPLICATE_ROWS, 0),
        rejects=counters.get(REJECT_ROWS, 0),
        article_files=counters.get(ARTICLE_FILES, 0),
    )
    for name, value in counters.items():
        if name.startswith("rejects.") and value:
            summary.rejects_by_reason[name.removeprefix("rejects.")] = value
        elif name.startswith("lang.") and value:
            summary.languages[name.removeprefix("lang.")] = value
        elif name.startswith("dedup.") and value:
            summary.dedup[name.removeprefix("dedup.")] = value
        elif name.startswith(TOPICS_PREFIX) and value:
            summary.topics[name.removeprefix(TOPICS_PREFIX)] = value
        elif name.startswith("extracted.") and value:
            summary.extracted_by[name.removeprefix("extracted.")] = value
        elif name.startswith(STAGE_TIME_PREFIX) and value:
            summary.stage_seconds[name.removeprefix(STAGE_TIME_PREFIX)] = round(value / 1e6, 3)
    return summary


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        key = value if value is not None else "unknown"
        counts[key] = counts.get(key, 0) + 1
    return counts


def summarize_tables(output: str, documents_in: int, state: str, elapsed: float) -> Summary:
    """A summary read back from the Parquet written, for streaming runs.

    The DirectRunner's streaming mode under-reports user counters (a
    counter incremented in five bundles reads 1), so a bounded streaming
    run (a replay) is summarised from what actually landed; the number of
    documents in comes from the source, so the balance check still means
    something.
    """
    import pyarrow.dataset as ds

    def table(name: str, columns: list[str]):
        path = FileSystems.join(output, name)
        return ds.dataset(path, format="parquet", partitioning="hive").to_table(columns=columns)

    articles = table("articles", ["lang", "primary_topic", "extractor"])
    duplicates = table("duplicates", ["doc_id"])
    rejects = table("rejects", ["stage", "reason"])
    found = FileSystems.match([FileSystems.join(output, "articles", "**")])[0].metadata_list
    files = [m for m in found if m.path.endswith(".parquet")]
    reasons = [f"{s}.{r}" for s, r in zip(rejects["stage"].to_pylist(), rejects["reason"].to_pylist(), strict=True)]
    return Summary(
        state=state,
        elapsed_seconds=round(elapsed, 2),
        documents_in=documents_in,
        articles=articles.num_rows,
        duplicates=duplicates.num_rows,
        rejects=rejects.num_rows,
        article_files=len(files),
        rejects_by_reason=_count(reasons),
        languages=_count(articles["lang"].to_pylist()),
        extracted_by=_count(articles["extractor"].to_pylist()),
        topics=_count(articles["primary_topic"].to_pylist()),
    )


def clear_output(output: str) -> None:
    """Remove newsbeam's own tables from ``output`` (for --overwrite); other
    files the user keeps there are left alone."""
    targets = [FileSystems.join(output, t) for t in (*TABLES, TEMP_FOLDER, "_summary.json")]
    existing = [t for t in targets if FileSystems.exists(t)]
    if existing:
        FileSystems.delete(existing)


def ensure_table(output: str, name: str) -> None:
    """A run with no rejects (or no duplicates) writes no files for them;
    leave an empty table so queries on OUTPUT/<name>/ work either way."""
    table = FileSystems.join(output, name)
    found = FileSystems.match([FileSystems.join(table, "**")])[0].metadata_list
    if any(m.path.endswith(".parquet") for m in found):
        return
    if not FileSystems.exists(table):
        FileSystems.mkdirs(table)
    with FileSystems.create(FileSystems.join(table, BATCH_FILE)) as fh:
        pq.write_table(TABLE_SPECS[name].schema.empty_table(), fh)


SourceFactory = Callable[[NewsbeamOptions], beam.PTransform]


def prepare_options(argv: list[str] | None) -> PipelineOptions:
    """The run's options: streaming switched on for an endless source, and
    the Dataflow checks done before Beam's own (which would otherwise go
    looking for a default bucket over the network)."""
    options = PipelineOptions(argv)
    if endless(options.view_as(NewsbeamOptions)):
        options.view_as(StandardOptions).streaming = True
    validate_dataflow(options)
    return options


def waits(options: PipelineOptions) -> bool:
    """Whether ``run`` waits for the job: always on local runners; on Dataflow
    only for a batch job without --no_wait_until_finish (a streaming job
    never finishes, and a Flex Template launcher must exit once the job is
    submitted)."""
    standard = options.view_as(StandardOptions)
    return not is_dataflow(options) or not (standard.streaming or standard.no_wait_until_finish)


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
    options = prepare_options(argv)
    opts = options.view_as(NewsbeamOptions)
    if opts.overwrite and opts.output:
        clear_output(opts.output)
    started = time.monotonic()
    p = beam.Pipeline(options=options)
    source = source_factory(opts) if source_factory else None
    build_pipeline(p, options, source=source)
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
    if result.state == PipelineState.DONE:
        temp = temp_root(options, opts.output)
        if FileSystems.exists(temp):
            FileSystems.delete([temp])
        for name in TABLES:
            ensure_table(opts.output, name)
        planned = getattr(source, "documents_planned", None)
        if options.view_as(StandardOptions).streaming and planned is not None:
            summary = summarize_tables(opts.output, planned, summary.state, summary.elapsed_seconds)
        with FileSystems.create(FileSystems.join(opts.output, "_summary.json")) as fh:
            fh.write(json.dumps(asdict(summary), indent=2, sort_keys=True).encode("utf-8"))
    print(summary.render(opts.output))
    return summary


def main(argv: list[str] | None = None, source_factory: SourceFactory | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("pipeline", "transforms"):
        logging.getLogger(name).setLevel(logging.INFO)
    # The multi-process DirectRunner relays each worker's start-up chatter as warnings.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    try:
        summary = run(argv if argv is not None else sys.argv[1:], source_factory)
    except ValueError as exc:
        print(f"newsbeam: error: {exc}", file=sys.stderr)
        return 2
    if summary.detached:
        return 0  # submitted; the job's own state is Dataflow's to report
    return 0 if summary.balanced and summary.state == PipelineState.DONE else 1


if __name__ == "__main__":
    sys.exit(main())
