"""``newsbeam replay FOLDER --output DIR``: the streaming pipeline on saved
documents, replayed as a test stream in event-time order.

Every document arrives at its own event time (so none is late), the
watermark advances between them, and windows close as they would in
production.  ``--late_copies N`` adds a copy of each of the first N
articles arriving ``--late_by_hours`` after its event time: within the
allowed lateness it is deduplicated against its first copy and written in
a late pane; beyond it, it goes to the rejects as ``late``.

Event times are worked out before the stream starts (manifest or JSONL
``published``, else the page's own date, else the file's modification
time), with the same functions the pipeline uses, so the stream's order is
the articles' order; each JSONL record is an element of its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import UTC, datetime

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.options import NewsbeamOptions
from pipeline.resolve import find_manifest, plan_input
from transforms.core.encoding import DecodeError, decode_bytes
from transforms.core.eventtime import choose_event_time
from transforms.core.extract import ExtractionError, HtmlExtractor
from transforms.core.manifest import parse_manifest
from transforms.core.records import DocMeta
from transforms.core.timeparse import parse_time
from transforms.read import READ_ERRORS, ReadProblem, jsonl_records, kind_of, read_document, relative_to, unlisted_files
from transforms.replay import ReplayDocuments, ReplayItem

USAGE = "newsbeam replay FOLDER --output DIR [--late_copies N] [--late_by_hours H] [pipeline options]"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsbeam replay", usage=USAGE, description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="Folder (or glob) of saved documents, e.g. seeds/")
    parser.add_argument(
        "--late_copies",
        type=int,
        default=0,
        help="Add a late copy of each of the first N articles (by event time); default 0.",
    )
    parser.add_argument(
        "--late_by_hours",
        type=float,
        default=None,
        help="How long after its event time each late copy arrives "
        "(default: half of --allowed_lateness_hours, so copies are late but accepted).",
    )
    return parser


def event_time_of(path: str, kind: str, meta: DocMeta, mtime: datetime | None, max_bytes: int,
                  extractor: HtmlExtractor) -> datetime:  # fmt: skip
    """When a document's article happened, as the pipeline will decide it.
    A document the pipeline will reject still needs a place in the stream:
    its manifest time, else its file time."""
    published = meta.published
    if published is None and kind == "html":
        try:
            data = read_document(path, max_bytes)
            if len(data) <= max_bytes:
                html = decode_bytes(data, is_html=True).text
                published = extractor.extract(html, url=meta.url, source=path).published
        except (*READ_ERRORS, DecodeError, ExtractionError):
            pass  # the pipeline reports it; the stream only needs an order
    now = datetime.now(UTC)
    return choose_event_time(published, mtime, now).at


def record_event_time(record: bytes | ReadProblem, mtime: datetime | None, extractor: HtmlExtractor) -> datetime:
    """When a JSONL record's article happened, as the pipeline will decide
    it: its ``published``, else (an ``html`` record) the page's own date,
    else the file's time, which is also the place of a record the pipeline
    will reject."""
    published = None
    obj = None
    if isinstance(record, bytes):
        try:
            obj = json.loads(record)
        except (UnicodeDecodeError, json.JSONDecodeError):
            pass  # a bad_json reject: it only needs a place in the stream
    if isinstance(obj, dict):
        url, html, when = obj.get("url"), obj.get("html"), obj.get("published")
        published = parse_time(when) if isinstance(when, str) else None
        if published is None and isinstance(html, str) and html.strip():
            try:
                published = extractor.extract(html, url=url if isinstance(url, str) else None, source="jsonl").published
            except ExtractionError:
                pass  # the pipeline reports it
    return choose_event_time(published, mtime, datetime.now(UTC)).at


def plan_replay(opts: NewsbeamOptions, late_copies: int, late_by_hours: float) -> ReplayDocuments:
    plan = plan_input(opts.input)
    found = find_manifest(opts.manifest, plan.root)
    manifest: dict[str, DocMeta] = {}
    manifest_dir = None
    if found:
        manifest_dir = found.folder
        with FileSystems.open(found.path) as fh:
            manifest = parse_manifest(fh.read().decode("utf-8-sig"))
    extractor = HtmlExtractor(favor_precision=opts.favor_precision)
    items: list[ReplayItem] = []
    listed = FileSystems.match([plan.pattern])[0].metadata_list + unlisted_files(plan.pattern)
    for metadata in listed:
        kind = kind_of(metadata.path)
        if kind is None:
            continue
        mtime_s = metadata.last_updated_in_seconds
        mtime = datetime.fromtimestamp(mtime_s, UTC) if mtime_s else None
        key = relative_to(metadata.path, manifest_dir or plan.root)
        meta = manifest.get(key, DocMeta())
        if kind == "jsonl":  # one element per record, each at its own time
            for line, record in jsonl_records(metadata.path, opts.max_bytes):
                at = record_event_time(record, mtime, extractor)
                items.append(ReplayItem(metadata.path, metadata.size_in_bytes, mtime_s, at.timestamp(),
                                        line=line, record=record))  # fmt: skip
            continue
        at = event_time_of(metadata.path, kind, meta, mtime, opts.max_bytes, extractor)
        items.append(ReplayItem(metadata.path, metadata.size_in_bytes, mtime_s, at.timestamp()))
    items.sort(key=lambda i: (i.arrival, i.path, i.line or 0))
    for n, item in enumerate(items[:late_copies], start=1):
        late = dataclasses.replace(item, arrival=item.arrival + late_by_hours * 3600, copy_tag=f"late-copy-{n}")
        items.append(late)
    return ReplayDocuments(items, plan.root, max_bytes=opts.max_bytes, manifest=manifest, manifest_dir=manifest_dir)


def main(argv: list[str]) -> int:
    from pipeline import run as run_module

    args, rest = _parser().parse_known_args(argv)
    if args.late_copies < 0:
        print("newsbeam replay: error: --late_copies must be 0 or more", file=sys.stderr)
        return 2
    flags = ["--input", args.folder, *rest, "--streaming"]
    options = PipelineOptions(flags)
    runner = options.view_as(StandardOptions).runner
    if runner not in (None, "DirectRunner", "BundleBasedDirectRunner"):
        print(f"newsbeam replay: error: --runner {runner!r}: a test stream runs on the DirectRunner only",
              file=sys.stderr)  # fmt: skip
        return 2
    opts = options.view_as(NewsbeamOptions)
    late_by = args.late_by_hours if args.late_by_hours is not None else opts.allowed_lateness_hours / 2
    return run_module.main(flags, source_factory=lambda o: plan_replay(o, args.late_copies, late_by))
