"""The Dataflow Flex Template: its launcher entry point and its metadata.

The template's launcher runs ``deploy/dataflow/main.py``, which calls
:func:`main` with the launch's parameters as ``--name=value`` flags.  Two
things differ from a shell: Dataflow passes every value as a string, so a
switch arrives as ``--no_dedup=true``, which argparse refuses for a flag
that takes no value (:func:`template_args` turns it back into ``--no_dedup``
or drops it); and the job is always a streaming job, since the template
exists to run one on Dataflow.

``deploy/dataflow/metadata.json`` is generated from :class:`NewsbeamOptions`
(``python -m pipeline.template --write``) so its help texts and defaults
are the flags' own; a test checks the committed file is current.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline import run as run_module
from pipeline.options import PUBSUB_SUBSCRIPTION, PUBSUB_TOPIC, REQUIRED_FLAGS, SOURCE_FLAGS, flag_parser

METADATA_PATH = Path(__file__).resolve().parents[1] / "deploy" / "dataflow" / "metadata.json"

# Flags a streaming template cannot honour, and why.
NOT_IN_TEMPLATE = {
    "once": "reads the feeds once and ends: a batch run",
    "polls": "polls a fixed number of times and ends: a bounded run",
    "overwrite": "deletes the output folder at launch, which an --update would turn against the running job's output",
    "append": "moves a batch run's files in at its end: a streaming job writes into the output as it goes",
}

GCS = r"^gs://[a-z0-9][-_.a-z0-9]*[a-z0-9](/.*)?$"
INTEGER = r"^[0-9]+$"
NUMBER = r"^[0-9]+(\.[0-9]+)?$"
SWITCH = r"^(true|false)$"

# Regexes the Dataflow UI and launch API check values against, beyond the
# flag's type.  Everything a worker or the launcher opens lives in Cloud
# Storage: the launcher's own disk is gone once the job is submitted.
REGEXES = {
    "input_subscription": "^" + PUBSUB_SUBSCRIPTION.pattern + "$",
    "input_topic": "^" + PUBSUB_TOPIC.pattern + "$",
    "input": GCS,
    "output": GCS,
    "feeds": GCS,
    "taxonomy": GCS,
    "manifest": r"^(none|gs://.+)$",
    "allow_networks": r"^[0-9a-fA-F:./]+(,[0-9a-fA-F:./]+)*$",
    "ingested_at": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+)?(Z|[+-][0-9:]+)?$",
}

LABELS = {
    "input_subscription": "Pub/Sub subscription to read",
    "input_topic": "Pub/Sub topic to read",
    "input": "Cloud Storage folder to watch",
    "feeds": "Feed list to poll (gs://)",
    "output": "Output folder (gs://)",
    "no_dedup": "Skip deduplication",
    "favor_precision": "Favour precision in extraction",
    "lang_seed": "Language detection seed",
    "allow_networks": "Private networks fetching may reach",
}


def _switches(parser: argparse.ArgumentParser) -> set[str]:
    """Flags that take no value (store_true / store_false)."""
    return {option.lstrip("-") for action in parser._actions if action.nargs == 0 for option in action.option_strings}


def template_parameters() -> list[dict]:
    """One metadata entry per flag the template accepts, in the flags' order."""
    parser = flag_parser()
    formatter = parser._get_formatter()
    switches = _switches(parser)
    entries = []
    for action in parser._actions:
        name = action.option_strings[0].lstrip("-")
        if name in NOT_IN_TEMPLATE:
            continue
        if name in switches:
            regex = SWITCH
        elif action.type is int:
            regex = INTEGER
        elif action.type is float:
            regex = NUMBER
        else:
            regex = REGEXES.get(name)
        help_text = formatter._expand_help(action)
        if name in SOURCE_FLAGS:
            help_text += f" Give exactly one of: {', '.join(SOURCE_FLAGS)}."
        entry = {
            "name": name,
            "label": LABELS.get(name, name.replace("_", " ").capitalize()),
            "helpText": help_text,
            "isOptional": name not in REQUIRED_FLAGS,
        }
        if regex:
            entry["regexes"] = [regex]
        entries.append(entry)
    return entries


def template_metadata() -> dict:
    return {
        "name": "newsbeam",
        "description": "Streaming news ingest: reads pages from Pub/Sub (or polls RSS/Atom feeds, or watches a "
        "Cloud Storage folder), extracts articles, detects their language, folds near-identical wire copy "
        "into one story, tags conflict topics and writes partitioned Parquet to Cloud Storage.",
        "streaming": True,
        "parameters": template_parameters(),
    }


def render_metadata() -> str:
    return json.dumps(template_metadata(), indent=2, ensure_ascii=False) + "\n"


def template_args(argv: list[str]) -> list[str]:
    """The launcher's ``--name=value`` parameters as newsbeam's flags.

    ``--flag=true`` becomes ``--flag`` and ``--flag=false`` is dropped for
    switches; the runner defaults to Dataflow and the job streams.
    """
    switches = _switches(flag_parser())
    out: list[str] = []
    for arg in argv:
        name, _, value = arg.partition("=")
        flag = name.lstrip("-")
        if flag in NOT_IN_TEMPLATE:
            raise ValueError(f"--{flag} does not apply to the streaming template: it {NOT_IN_TEMPLATE[flag]}")
        if flag in switches and value:
            if value.lower() not in ("true", "false"):
                raise ValueError(f"--{flag} takes true or false, got {value!r}")
            if value.lower() == "true":
                out.append(name)
            continue
        out.append(arg)
    flags = {a.partition("=")[0] for a in out}
    if "--runner" not in flags:
        out.append("--runner=DataflowRunner")
    if "--streaming" not in flags:
        out.append("--streaming")
    return out


def main(argv: list[str] | None = None) -> int:
    """The Flex Template launcher's entry point: submit the job and return."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        args = template_args(args)
    except ValueError as exc:
        print(f"newsbeam: error: {exc}", file=sys.stderr)
        return 2
    return run_module.main(args)


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check deploy/dataflow/metadata.json.")
    parser.add_argument("--write", action="store_true", help="Rewrite the file from the flags.")
    parser.add_argument("--check", action="store_true", help="Exit 1 if the file is not current.")
    args = parser.parse_args(argv)
    text = render_metadata()
    if args.write:
        METADATA_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {METADATA_PATH}")
        return 0
    if args.check:
        current = METADATA_PATH.read_text(encoding="utf-8") if METADATA_PATH.exists() else ""
        if current != text:
            print(f"{METADATA_PATH} is out of date: python -m pipeline.template --write", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
