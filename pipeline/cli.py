"""The ``newsbeam`` command: subcommands in front of the pipeline's flags.

``newsbeam run --input PATH --output DIR [any Beam option]`` runs the
pipeline; every flag after ``run`` goes to Beam's option parser unchanged.
``newsbeam plan``, ``newsbeam replay``, ``newsbeam publish`` and ``newsbeam
tag`` are described in their modules.
"""

from __future__ import annotations

import sys

from pipeline import plan as plan_module
from pipeline import publish as publish_module
from pipeline import replay as replay_module
from pipeline import run as run_module
from pipeline import tag as tag_module

USAGE = """usage: newsbeam COMMAND [flags]

commands:
  run     --input PATH_OR_GLOB --output DIR [options]   extract articles to Parquet
          (newsbeam run --help lists every option, Beam's included)
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
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
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
    print(f"newsbeam: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
