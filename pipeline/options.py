"""newsbeam's command-line flags, as one Beam ``PipelineOptions`` subclass.

Every flag has help text.  The flags of a parameter set (dedup, topic
scoring, language detection) are generated from its dataclass in
``transforms.core.params``, which holds their defaults, help and checks;
the others are written here.  :func:`validate` and the parameter sets check
them when the run is resolved (``pipeline.resolve``) and raise
``ValueError`` naming the flag at fault.
"""

from __future__ import annotations

import argparse
import difflib
import re
from dataclasses import asdict

from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    WorkerOptions,
    _BeamArgumentParser,
)

from transforms.core.fetch import FetchPolicy, parse_networks
from transforms.core.params import DedupParams, LanguageParams, Params, ScoringParams, add_flags
from transforms.core.timeparse import parse_time

PUBSUB_SUBSCRIPTION = re.compile(r"projects/[^/]+/subscriptions/[^/]+")
PUBSUB_TOPIC = re.compile(r"projects/[^/]+/topics/[^/]+")

# Exactly one source is required; --output always is.
SOURCE_FLAGS = ("input", "feeds", "input_subscription", "input_topic")
REQUIRED_FLAGS = ("output",)
# Paths the workers themselves open, so on Dataflow they must be in Cloud
# Storage (--feeds and --taxonomy are read at graph-build time instead).
WORKER_PATH_FLAGS = ("input", "output", "manifest")

# Kept for callers that read the dedup defaults as a dict; DedupParams is their source.
DEDUP_DEFAULTS = asdict(DedupParams())


# --max_bytes when not given (newsbeam tag reads one file with it too).
MAX_BYTES = 10_000_000


class NewsbeamOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--input",
            help="Folder, file or glob of documents: .html/.htm/.xhtml/.shtml, .txt and .jsonl/.ndjson "
            "(optionally compressed: .gz, .bz2, .zst, .deflate, .xz). A folder is read recursively. "
            "gs:// paths work on Dataflow.",
        )
        parser.add_argument(
            "--feeds",
            default=None,
            help="File listing RSS/Atom feed URLs (one per line, # comments) or an OPML outline. "
            "Feeds are polled every --poll_seconds (a streaming job) or read once with --once.",
        )
        parser.add_argument(
            "--input_subscription",
            default=None,
            help="Pub/Sub subscription to read documents from (projects/P/subscriptions/S): each message "
            "is a page, a text or a URL to fetch, with url/outlet/published/title/lang attributes. "
            "A streaming job.",
        )
        parser.add_argument(
            "--input_topic",
            default=None,
            help="Pub/Sub topic to read from (projects/P/topics/T) through a subscription the job creates; "
            "prefer --input_subscription in production, since messages published while no job runs are lost.",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            default=False,
            help="With --feeds: read every feed once, fetch its new pages, and end (a batch run, for cron).",
        )
        parser.add_argument(
            "--polls",
            type=int,
            default=None,
            help="With --feeds: poll this many times, --poll_seconds apart, then end (a bounded run). "
            "Without it (and without --once) polling goes on until the job is stopped, which needs a "
            "streaming runner such as Dataflow. With --input: list the folder this many times and read "
            "each new file once (a bounded watch; --input with --streaming and no --polls watches until "
            "the job is stopped, on Dataflow or Flink).",
        )
        parser.add_argument(
            "--poll_seconds",
            type=float,
            default=300.0,
            help="Seconds between two polls of the --feeds, or two listings of a watched --input "
            "(default %(default)s).",
        )
        parser.add_argument(
            "--feed_seen_days",
            type=float,
            default=7.0,
            help="With --feeds: days an entry (by guid, else normalized link) is remembered after its feed "
            "last listed it, so its page is not fetched again (default %(default)s).",
        )
        parser.add_argument(
            "--requests_per_host",
            type=float,
            default=1.0,
            help="Most HTTP requests per second to one host, robots.txt and retries included (default %(default)s).",
        )
        parser.add_argument(
            "--fetch_timeout",
            type=float,
            default=FetchPolicy.timeout,
            help="Seconds to wait for a connection or for the next bytes of an answer; a body still "
            "arriving after three times this is abandoned (default %(default)s).",
        )
        parser.add_argument(
            "--fetch_retries",
            type=int,
            default=FetchPolicy.max_retries,
            help="Retries of a request answered 429 or 5xx, with exponential backoff; Retry-After is "
            "honoured up to 120 s (default %(default)s).",
        )
        parser.add_argument(
            "--fetch_backoff_seconds",
            type=float,
            default=FetchPolicy.backoff_seconds,
            help="First backoff before a retry; it doubles each time (default %(default)s).",
        )
        parser.add_argument(
            "--fetch_max_redirects",
            type=int,
            default=FetchPolicy.max_redirects,
            help="Redirects followed per request (default %(default)s).",
        )
        parser.add_argument(
            "--allow_networks",
            default=None,
            help="Comma-separated addresses or CIDR networks that fetching may reach although they are "
            "loopback, private or link-local (refused by default: feeds are untrusted input and could "
            "point at internal services or the cloud metadata server). Example: 127.0.0.1/32.",
        )
        parser.add_argument(
            "--output",
            help="Output folder: Parquet goes to OUTPUT/articles/date=YYYY-MM-DD/topic=T/, "
            "OUTPUT/duplicates/ (same partitions) and OUTPUT/rejects/.",
        )
        parser.add_argument(
            "--manifest",
            default=None,
            help="CSV sidecar with file,outlet,url,published,lang per plain file "
            "(paths relative to the manifest's folder). Default: manifest.csv in "
            "the --input folder if there is one; 'none' to ignore it.",
        )
        parser.add_argument(
            "--overwrite",
            action="store_true",
            default=False,
            help="Replace newsbeam's tables (and _summary.json) in a non-empty --output instead of refusing "
            "to run. The new tables are written beside the old ones and swapped in once the run succeeded, so a "
            "refused or failed run leaves the previous output as it was. Not for a job newsbeam does not wait "
            "for (an endless streaming job, --no_wait_until_finish): there is no end to swap at.",
        )
        parser.add_argument(
            "--append",
            action="store_true",
            default=False,
            help="Add this run's rows to the tables already in --output (a daily cron run into one table): new "
            "files land in their partitions beside the old ones, named after the run, and no existing file is "
            "rewritten. The run reads what earlier runs left in OUTPUT/_state (feed validators and entries "
            "already fetched), logs what it added in OUTPUT/_runs/<run id>.json, and moves its files in only "
            "once it succeeded; a second run appending to the same output meanwhile is refused. A batch flag: "
            "not with --overwrite, nor for a job newsbeam does not wait for to its end.",
        )
        parser.add_argument(
            "--min_chars",
            type=int,
            default=120,
            help="Reject articles whose extracted body is shorter than this many characters (default 120: a "
            "two-sentence brief passes, a disclaimer or copyright line alone does not).",
        )
        parser.add_argument(
            "--max_bytes",
            type=int,
            default=MAX_BYTES,
            help="Reject documents (or JSONL records) larger than this many bytes, "
            "measured after decompression (default 10 MB).",
        )
        parser.add_argument(
            "--favor_precision",
            action="store_true",
            default=False,
            help="Ask trafilatura for less text but less boilerplate.",
        )
        add_flags(parser, LanguageParams)
        parser.add_argument(
            "--ingested_at",
            default=None,
            help="Ingest time stamped on every row (ISO 8601). Default: when the run starts. "
            "Pin it to make reruns byte-identical.",
        )
        parser.add_argument(
            "--no_dedup",
            dest="dedup",
            action="store_false",
            default=True,
            help="Skip deduplication between articles: every article is its own story; "
            "OUTPUT/duplicates holds only same-URL copies (a record repeated or revised under its URL).",
        )
        add_flags(parser, DedupParams)
        add_flags(parser, ScoringParams)
        parser.add_argument(
            "--taxonomy",
            default=None,
            help="Conflict taxonomy YAML to tag topics with (local or gs:// path). "
            "Default: the one shipped with newsbeam (see README, Topic tagging).",
        )
        parser.add_argument(
            "--allowed_lateness_hours",
            type=float,
            default=24.0,
            help="Streaming: an article arriving more than this many hours after its event time "
            "(published, else ingest time) goes to the rejects as 'late'; later ones within it are "
            "deduplicated and written in a late pane of their window (default %(default)s).",
        )
        parser.add_argument(
            "--window_minutes",
            type=float,
            default=60.0,
            help="Streaming: length of the event-time windows Parquet files are written per; "
            "a window's files land when the watermark passes its end (default %(default)s).",
        )
        parser.add_argument(
            "--row_group_size",
            type=int,
            default=10_000,
            help="Rows per Parquet row group (default 10000).",
        )


def flag_parser() -> argparse.ArgumentParser:
    """A parser of newsbeam's own flags only (without Beam's), for what
    needs their names, types and help: the template's metadata and
    launcher."""
    parser = argparse.ArgumentParser(add_help=False)
    NewsbeamOptions._add_argparse_args(parser)
    return parser


def _flags(cls: type[Params]) -> tuple[str, ...]:
    return tuple(cls.flag(f.name) for f in cls.flag_fields())


# The sections of `newsbeam run --help`, in order; every flag is in exactly
# one (a test checks), so a new flag cannot go missing from the help.
FLAG_GROUPS: dict[str, tuple[str, ...]] = {
    "input": ("input", "feeds", "input_subscription", "input_topic", "manifest", "max_bytes"),
    "extraction": ("min_chars", "favor_precision"),
    "language": _flags(LanguageParams),
    "dedup": ("no_dedup", *_flags(DedupParams)),
    "topics": ("taxonomy", *_flags(ScoringParams)),
    "streaming": ("once", "polls", "poll_seconds", "allowed_lateness_hours", "window_minutes"),
    "fetching": ("feed_seen_days", "requests_per_host", "fetch_timeout", "fetch_retries",
                 "fetch_backoff_seconds", "fetch_max_redirects", "allow_networks"),
    "output": ("output", "overwrite", "append", "row_group_size", "ingested_at"),
}  # fmt: skip

RUN_USAGE = "newsbeam run --input PATH_OR_GLOB --output DIR [newsbeam flags] [Beam flags]"
BEAM_HELP_POINTER = """\
Beam's own options (--runner, --direct_num_workers, --temp_location, Dataflow's
...) are accepted too: `newsbeam run --help-beam` lists them, and
  https://beam.apache.org/releases/pydoc/current/apache_beam.options.pipeline_options.html
describes them.  Without --runner the job runs locally on Beam's DirectRunner
with its Prism attempt switched off (it never fetches Beam's Prism runner): a
batch job runs on the FnApiRunner, in-process or with --direct_num_workers N
--direct_running_mode multi_processing.  An unknown flag is refused, with the
closest real one."""


def run_help() -> str:
    """``newsbeam run --help``: newsbeam's flags by section, with their help."""
    actions = {a.option_strings[0].lstrip("-"): a for a in flag_parser()._actions}
    # Raw description: the closing text keeps its lines (a URL must not be cut);
    # the flags' own help is wrapped as usual.
    formatter = argparse.RawDescriptionHelpFormatter("newsbeam run", max_help_position=30)
    formatter.add_usage(RUN_USAGE, [], [])
    formatter.add_text("Extract news articles from saved pages, feeds or Pub/Sub into partitioned Parquet.")
    for title, names in FLAG_GROUPS.items():
        formatter.start_section(title)
        formatter.add_arguments([actions[name] for name in names])
        formatter.end_section()
    formatter.add_text(BEAM_HELP_POINTER)
    return formatter.format_help()


def _beam_option_classes(include_newsbeam: bool = True) -> list[type[PipelineOptions]]:
    # The classes Beam itself parses a command line with (PipelineOptions.get_all_options).
    classes: dict[str, type[PipelineOptions]] = {}
    for cls in PipelineOptions.__subclasses__():
        if include_newsbeam or cls is not NewsbeamOptions:
            classes.setdefault(str(cls), cls)
    return list(classes.values())


def all_flags_parser(include_newsbeam: bool = True) -> argparse.ArgumentParser:
    """A parser of every flag a run accepts: newsbeam's and all of Beam's."""
    parser = _BeamArgumentParser(prog="newsbeam run", add_help=False, allow_abbrev=False)
    for cls in _beam_option_classes(include_newsbeam):
        cls._add_argparse_args(parser)
    return parser


def beam_help() -> str:
    """``newsbeam run --help-beam``: Beam's own options, as Beam describes them."""
    parser = all_flags_parser(include_newsbeam=False)
    parser.usage = "newsbeam run [newsbeam flags] [Beam flags]"
    parser.description = (
        "Beam's pipeline options, passed through to Beam unchanged (newsbeam run --help lists newsbeam's)."
    )
    return parser.format_help()


def _refuse(message: str) -> None:
    raise ValueError(message)


def _refuse_repeats(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """A flag that takes one value, given twice (``--output a --output b``):
    argparse keeps the last silently, which runs on a path nobody meant."""
    single = {
        option: action.option_strings[0]
        for action in parser._actions
        if isinstance(action, argparse._StoreAction | argparse._StoreTrueAction | argparse._StoreFalseAction)
        for option in action.option_strings
    }
    seen: dict[str, str] = {}
    for arg in argv[: argv.index("--")] if "--" in argv else argv:
        name = arg.partition("=")[0]
        if name not in single:
            continue
        dest = single[name]
        if dest in seen:
            same = "is given twice" if name == seen[dest] else f"and {seen[dest]} are one flag, given twice"
            raise ValueError(f"{name} {same}: give it once")
        seen[dest] = name


def check_flags(argv: list[str]) -> None:
    """Raise ValueError for the first argument no option class knows.

    Beam only logs "Discarding unparseable args" and runs on, so a typo
    such as --min_char would silently run with the default.
    """
    parser = all_flags_parser()
    parser.error = _refuse  # a value of the wrong type: one line, not argparse's usage text
    _, unknown = parser.parse_known_args(argv)
    _refuse_repeats(parser, argv)
    if not unknown or unknown[0] == "--":
        return
    first = unknown[0]
    if not first.startswith("-"):
        raise ValueError(f"unexpected argument {first!r}: flags take the form --name value (newsbeam run --help)")
    name = first.partition("=")[0]
    known = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    hint = f"did you mean {close[0]}?" if close else "newsbeam run --help lists the flags"
    raise ValueError(f"unknown flag {name} ({hint})")


def validate(opts: NewsbeamOptions, needs_input: bool = True) -> None:
    """Raise ValueError naming the first flag whose value cannot work.

    The parameter sets (dedup, topic, language: ``transforms.core.params``)
    check their own flags when they are read back from the options
    (``DedupParams.from_options``), which ``pipeline.resolve`` does right
    after this.
    """
    sources = [flag for flag in SOURCE_FLAGS if getattr(opts, flag)]
    if needs_input and not sources:
        raise ValueError(
            "--input is required: a folder, file or glob of documents "
            "(or --feeds FILE, --input_subscription or --input_topic)"
        )
    patterns = {"input_subscription": PUBSUB_SUBSCRIPTION, "input_topic": PUBSUB_TOPIC}
    for flag, pattern in patterns.items():
        value = getattr(opts, flag)
        if value and not pattern.fullmatch(value):
            raise ValueError(f"--{flag} {value!r} is not of the form {pattern.pattern}")
    if len(sources) > 1:
        raise ValueError(f"--{sources[1]} cannot be combined with --{sources[0]}: give one source")
    if opts.once and not opts.feeds:
        raise ValueError("--once only applies to --feeds")
    if opts.polls is not None and not (opts.feeds or opts.input):
        raise ValueError("--polls only applies to --feeds and --input")
    if opts.once and opts.polls is not None:
        raise ValueError("--polls cannot be combined with --once (which is --polls 1)")
    if opts.polls is not None and opts.polls < 1:
        raise ValueError(f"--polls must be 1 or more, got {opts.polls!r}")
    if opts.append and opts.overwrite:
        raise ValueError(
            "--append cannot be combined with --overwrite: --append adds to the tables in --output, "
            "--overwrite replaces them"
        )
    if not opts.output:  # REQUIRED_FLAGS
        raise ValueError("--output is required: the folder to write Parquet into")
    for flag in ("min_chars", "max_bytes", "row_group_size"):
        value = getattr(opts, flag)
        if value is None or value < (0 if flag == "min_chars" else 1):
            raise ValueError(f"--{flag} must be a positive integer, got {value!r}")
    for flag in ("poll_seconds", "feed_seen_days", "requests_per_host", "fetch_timeout"):
        value = getattr(opts, flag)
        if value is None or not value > 0:
            raise ValueError(f"--{flag} must be positive, got {value!r}")
    for flag in ("fetch_retries", "fetch_max_redirects", "fetch_backoff_seconds"):
        value = getattr(opts, flag)
        if value is None or value < 0:
            raise ValueError(f"--{flag} must be 0 or more, got {value!r}")
    try:
        parse_networks(opts.allow_networks)
    except ValueError as exc:
        raise ValueError(f"--allow_networks {opts.allow_networks!r}: {exc}") from exc
    for flag in ("allowed_lateness_hours", "window_minutes"):
        value = getattr(opts, flag)
        if value is None or not value > 0:
            raise ValueError(f"--{flag} must be positive, got {value!r}")
    if opts.window_minutes * 60 % 1:
        raise ValueError(f"--window_minutes must be a whole number of seconds, got {opts.window_minutes!r}")
    if opts.ingested_at is not None and parse_time(opts.ingested_at) is None:
        raise ValueError(f"--ingested_at must be an ISO 8601 time, got {opts.ingested_at!r}")


def endless(opts: NewsbeamOptions) -> bool:
    """Whether the flags name a source that never ends (so the job streams)."""
    polling_forever = bool(opts.feeds) and not opts.once and opts.polls is None
    return polling_forever or bool(opts.input_subscription or opts.input_topic)


def is_dataflow(options: PipelineOptions) -> bool:
    runner = options.view_as(StandardOptions).runner or ""
    return runner.lower().removesuffix("runner") == "dataflow"


def validate_dataflow(options: PipelineOptions) -> None:
    """Checks that only matter when the workers are Dataflow's machines.

    Run before ``beam.Pipeline(options)`` is built: without --temp_location,
    Beam's own validation goes looking for a default bucket over the network
    and a plan without credentials would hang for minutes.
    """
    if not is_dataflow(options):
        return
    cloud = options.view_as(GoogleCloudOptions)
    if not cloud.project:
        raise ValueError("--project is required with --runner DataflowRunner: the Google Cloud project to run in")
    if not cloud.region:
        raise ValueError("--region is required with --runner DataflowRunner, for example --region europe-west1")
    if not (cloud.temp_location or "").startswith("gs://"):
        raise ValueError(
            f"--temp_location must be a gs:// path with --runner DataflowRunner (got {cloud.temp_location!r}): "
            "Beam stages files there and newsbeam writes its temporary Parquet there"
        )
    opts = options.view_as(NewsbeamOptions)
    if cloud.update and opts.overwrite:
        raise ValueError("--overwrite cannot be combined with --update: it would delete the running job's output")
    if cloud.update and opts.append:
        raise ValueError("--append cannot be combined with --update: the running job writes into --output as it goes")
    for flag in WORKER_PATH_FLAGS:
        value = getattr(opts, flag)
        if value and value.lower() != "none" and not value.startswith("gs://"):
            raise ValueError(f"--{flag} {value!r} is not in Cloud Storage: Dataflow workers cannot open local paths")
    if not (options.view_as(SetupOptions).setup_file or options.view_as(WorkerOptions).sdk_container_image):
        raise ValueError(
            "--setup_file ./setup.py (or --sdk_container_image with the Flex Template image) is required with "
            "--runner DataflowRunner: without one the workers do not have newsbeam's code"
        )
