"""The ``newsbeam`` command: subcommands in front of the pipeline's flags.

``newsbeam run --input PATH --output DIR [any Beam option]`` runs the
pipeline; every flag after ``run`` goes to Beam's option parser unchanged.
``newsbeam plan``, ``newsbeam replay``, ``newsbeam publish``, ``newsbeam
tag`` and ``newsbeam report`` are described in their modules.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
from pathlib import Path

from pipeline import plan as plan_module
from pipeline import publish as publish_module
from pipeline import replay as replay_module
from pipeline import report as report_module
from pipeline import run as run_module
from pipeline import tag as tag_module

USAGE = """usage: newsbeam COMMAND [flags]   (newsbeam --version prints the version)

commands:
  run     --input PATH_OR_GLOB --output DIR [options]   extract articles to Parquet
          (newsbeam run --help lists newsbeam's flags, --help-beam Beam's)
  plan    --runner DataflowRunner [the flags of a real launch] [--plan_dir DIR]
          translate the job for Dataflow offline (no credentials, no network):
          writes job.json, pipeline.json and steps.txt, prints the step count
  replay  FOLDER --output DIR [--late_copies N] [--late_by_hours H] [options]
          run the streaming pipeline on saved documents as a test stream
          (in event-time order, windows closing between them)
  publish FOLDER --topic projects/P/topics/T
          publish saved documents as Pub/Sub messages (to replay them into a
          job reading --input_subscription; honours PUBSUB_EMULATOR_HOST)
  tag     FILE [--title T] [--lang L] [--taxonomy YAML] [--json]
          tag one saved page or text file with conflict topics, and say why
  report  OUTPUT --html report.html
          one self-contained HTML page about an output: coverage per day and
          conflict, the most syndicated stories, outlets, rejects, counts
"""


# The shell's exit status for a process killed by SIGPIPE (128 + 13), which is
# what `newsbeam ... | head` would give if Python did not turn SIGPIPE into
# BrokenPipeError.
BROKEN_PIPE_STATUS = 141


def version() -> str:
    """The installed package's version, else setup.py's (a source tree that
    was never installed)."""
    try:
        return importlib.metadata.version("newsbeam")
    except importlib.metadata.PackageNotFoundError:
        setup = (Path(__file__).resolve().parents[1] / "setup.py").read_text(encoding="utf-8")
        found = re.search(r"version=\"([^\"]+)\"", setup)
        return found.group(1) if found else "unknown"


def main(argv: list[str] | None = None) -> int:
    """The console script: run a command; exit quietly if stdout is closed
    early (``newsbeam run --help | head``)."""
    try:
        code = _dispatch(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # a closed pipe shows here, not at exit where it cannot be caught
        return code
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE_STATUS


def _dispatch(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if args[0] in ("-V", "--version", "version"):
        print(f"newsbeam {version()}")
        return 0
    command, rest = args[0], args[1:]
    if command == "run":
        return run_module.main(rest)
    if command == "plan":
        return plan_module.main(rest)
    if command == "replay":
        return replay_module.main(rest)
    if command == "publish":
        return publish_module.main(rest)
    if command == "tag":
        return tag_module.main(rest)
    if command == "report":
        return report_module.main(rest)
    print(f"newsbeam: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
