"""``newsbeam publish FOLDER --topic projects/P/topics/T``: saved documents
as Pub/Sub messages, for replaying them into a running streaming job.

One message per document, in event-time order: the file's bytes as data;
``kind``, ``path`` (so doc_ids match a batch run of the folder) and what the
manifest knows (``url``, ``outlet``, ``published``, ``lang``) as attributes.
A ``.jsonl`` file gives one ``kind=jsonl`` message per record, the record's
line as data (a line that is no valid record goes too: the job rejects
it, as a batch run would).
With ``PUBSUB_EMULATOR_HOST`` set, messages go to the local emulator.

Old articles are late for a job that reads them now: give the job an
``--allowed_lateness_hours`` that covers their age, or they go to its
rejects as ``late``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.options import PUBSUB_TOPIC, NewsbeamOptions
from pipeline.resolve import find_manifest, plan_input
from pipeline.run import error_line
from transforms.core.manifest import parse_manifest
from transforms.core.records import DocMeta, RawDocument
from transforms.read import (
    READ_ERRORS,
    ReadProblem,
    jsonl_document,
    jsonl_records,
    kind_of,
    problem_of,
    read_document,
    relative_to,
)

MAX_MESSAGE_BYTES = 10_000_000  # Pub/Sub's limit is 10 MB per message


def messages(folder: str, manifest_flag: str | None = None) -> list[tuple[bytes, dict[str, str]]]:
    """(data, attributes) of every document under ``folder``, oldest first."""
    opts = PipelineOptions(["--input", folder] + (["--manifest", manifest_flag] if manifest_flag else []))
    nopts = opts.view_as(NewsbeamOptions)
    plan = plan_input(folder)
    found = find_manifest(nopts.manifest, plan.root)
    manifest: dict[str, DocMeta] = {}
    manifest_dir = plan.root
    if found:
        with FileSystems.open(found.path) as fh:
            manifest = parse_manifest(fh.read().decode("utf-8-sig"))
        manifest_dir = found.folder
    out = []
    for metadata in FileSystems.match([plan.pattern])[0].metadata_list:
        kind = kind_of(metadata.path)
        if kind == "jsonl":
            out += _records(metadata.path, relative_to(metadata.path, plan.root))
            continue
        if kind not in ("html", "text"):
            continue
        try:  # a truncated archive must not go out as a shorter document
            data = read_document(metadata.path, MAX_MESSAGE_BYTES)
        except READ_ERRORS as exc:
            problem = problem_of(exc)
            raise ValueError(f"cannot read {metadata.path}: {problem.reason}: {problem.detail}") from exc
        meta = manifest.get(relative_to(metadata.path, manifest_dir), DocMeta())
        attrs = {"kind": kind, "path": relative_to(metadata.path, plan.root)}
        for key in ("url", "outlet", "title", "lang"):
            if getattr(meta, key):
                attrs[key] = getattr(meta, key)
        if meta.published:
            attrs["published"] = meta.published.isoformat()
        out.append((data, attrs))
    epoch = datetime.min.replace(tzinfo=UTC).isoformat()
    out.sort(key=lambda m: (m[1].get("published", epoch), m[1]["path"]))
    return out


def _records(path: str, rel: str) -> list[tuple[bytes, dict[str, str]]]:
    """One message per record of a JSONL file; a file that cannot be read
    whole, or a record over Pub/Sub's limit, stops the publish."""
    out = []
    for lineno, line in jsonl_records(path, MAX_MESSAGE_BYTES):
        if isinstance(line, ReadProblem):
            where = f"{path}#L{lineno}" if lineno else path
            raise ValueError(f"cannot read {where}: {line.reason}: {line.detail}")
        attrs = {"kind": "jsonl", "path": f"{rel}#L{lineno}"}
        doc = jsonl_document(path, line, attrs["path"])
        if isinstance(doc, RawDocument) and doc.meta.published:
            attrs["published"] = doc.meta.published.isoformat()
        out.append((line.rstrip(b"\r\n"), attrs))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="newsbeam publish", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="Folder (or glob) of saved documents, e.g. seeds/")
    parser.add_argument("--topic", required=True, help="Pub/Sub topic: projects/P/topics/T")
    parser.add_argument("--manifest", default=None, help="Sidecar CSV (default: manifest.csv in the folder)")
    args = parser.parse_args(argv)
    if not PUBSUB_TOPIC.fullmatch(args.topic):
        print(f"newsbeam publish: error: --topic {args.topic!r} is not projects/P/topics/T", file=sys.stderr)
        return 2
    try:
        batch = messages(args.folder, args.manifest)
    except ValueError as exc:
        print(f"newsbeam publish: error: {exc}", file=sys.stderr)
        return 2
    too_big = [a["path"] for d, a in batch if len(d) > MAX_MESSAGE_BYTES]
    if too_big:
        print(f"newsbeam publish: error: over Pub/Sub's 10 MB message limit: {too_big}", file=sys.stderr)
        return 2
    # Only this command needs the client.
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError
    from google.cloud import pubsub_v1

    try:
        publisher = pubsub_v1.PublisherClient()
        futures = [publisher.publish(args.topic, data, **attrs) for data, attrs in batch]
        ids = [f.result(timeout=60) for f in futures]
    except DefaultCredentialsError as exc:
        print(
            f"newsbeam publish: error: no Google Cloud credentials: {error_line(exc)} (run gcloud auth "
            "application-default login, set GOOGLE_APPLICATION_CREDENTIALS, or PUBSUB_EMULATOR_HOST for the emulator)",
            file=sys.stderr,
        )
        return 1
    except (GoogleAuthError, GoogleAPIError, TimeoutError) as exc:
        print(f"newsbeam publish: error: publishing to {args.topic} failed: {error_line(exc)}", file=sys.stderr)
        return 1
    print(f"published {len(ids)} documents to {args.topic}")
    return 0
