"""Read stage: files and JSONL records in, one decoded document per element.

Files are matched inside the pipeline (so ``gs://`` works on Dataflow),
spread over workers, read as bytes up to a size cap (compressed files are
decompressed on the fly and capped after decompression), then decoded.
Every file or record that cannot be read or decoded leaves as a
:class:`~transforms.core.records.Reject` on the ``rejects`` output.

A watched folder is listed again and again and each file is read once, when
it is first seen: endlessly with ``fileio.MatchContinuously`` on a streaming
runner (Dataflow, Flink), or ``polls`` times in a bounded run, which is the
form the local runners can execute.  Each watched file is stamped with the
time it was found: its arrival, from which a streaming run measures
lateness.
"""

from __future__ import annotations

import json
import logging
import lzma
import posixpath
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import BeamIOError, CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import TimestampedValue

from transforms.common import DOCUMENTS_IN, FILES_SKIPPED, REJECTS, RejectCounter, StageClock, counter
from transforms.core.encoding import DecodeError, decode_bytes
from transforms.core.manifest import check_header, parse_row
from transforms.core.records import DecodedDocument, DocMeta, RawDocument, Reject, head_of
from transforms.core.timeparse import parse_time

_LOG = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
TEXT_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zst", ".deflate", ".xz")
_PROGRESS_SECONDS = 5.0
# What reading a file can raise: I/O errors (BeamIOError is an OSError) and
# the decompressors' own errors for corrupt or truncated archives.
READ_ERRORS = (OSError, ValueError, EOFError, zlib.error, lzma.LZMAError)


def kind_of(path: str) -> str | None:
    """'html', 'text', 'jsonl', or None for a file that is not a document."""
    name = path.lower()
    for suffix in COMPRESSED_SUFFIXES:
        name = name.removesuffix(suffix)
    if name.endswith(HTML_SUFFIXES):
        return "html"
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    return None


def relative_to(path: str, root: str) -> str:
    root = root.rstrip("/") + "/"
    return path[len(root) :] if path.startswith(root) else posixpath.basename(path)


def _mtime(metadata: FileMetadata) -> datetime | None:
    seconds = getattr(metadata, "last_updated_in_seconds", None)
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


class ReadFilesFn(beam.DoFn):
    """FileMetadata -> RawDocument (one per file, or one per JSONL line)."""

    def __init__(self, root: str, manifest_dir: str | None, max_bytes: int, expected_files: int | None):
        self.root = root
        self.manifest_dir = manifest_dir
        self.max_bytes = max_bytes
        self.expected_files = expected_files

    def setup(self) -> None:
        self._documents_in = counter(DOCUMENTS_IN)
        self._skipped = counter(FILES_SKIPPED)
        self._count_reject = RejectCounter()
        self._files_seen = 0
        self._last_log = time.monotonic()
        self._clock = StageClock("read")

    def process(self, metadata: FileMetadata, manifest: dict[str, DocMeta]) -> Iterator:
        yield from self._clock.timed(self._read(metadata, manifest))

    def _read(self, metadata: FileMetadata, manifest: dict[str, DocMeta]) -> Iterator:
        path = metadata.path
        kind = kind_of(path)
        if kind is None:
            self._skipped.inc()
            return
        self._progress()
        rel = relative_to(path, self.root)
        mtime = _mtime(metadata)
        if kind == "jsonl":
            yield from self._read_jsonl(path, rel, mtime)
            return
        self._documents_in.inc()
        key = relative_to(path, self.manifest_dir) if self.manifest_dir else rel
        meta = manifest.get(key, DocMeta())
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.AUTO) as fh:
                data = fh.read(self.max_bytes + 1)
        except READ_ERRORS as exc:
            yield self._reject(path, "unreadable", f"{type(exc).__name__}: {exc}", url=meta.url)
            return
        if len(data) > self.max_bytes:
            yield self._reject(path, "too_large", f"over --max_bytes={self.max_bytes}", data, meta.url)
            return
        if not data.strip():
            yield self._reject(path, "empty", f"{len(data)} bytes, nothing but whitespace", data, meta.url)
            return
        yield RawDocument(source_uri=path, kind=kind, data=data, meta=meta, rel_path=rel, file_mtime=mtime)

    def _read_jsonl(self, path: str, rel: str, mtime: datetime | None) -> Iterator:
        try:
            fh = FileSystems.open(path, compression_type=CompressionTypes.AUTO)
        except READ_ERRORS as exc:
            self._documents_in.inc()
            yield self._reject(path, "unreadable", f"{type(exc).__name__}: {exc}")
            return
        with fh:
            lineno = 0
            while True:
                try:
                    line = fh.readline(self.max_bytes + 1)
                except READ_ERRORS as exc:
                    self._documents_in.inc()
                    yield self._reject(f"{path}#L{lineno + 1}", "unreadable", f"{type(exc).__name__}: {exc}")
                    return
                if not line:
                    return
                lineno += 1
                uri = f"{path}#L{lineno}"
                if len(line) > self.max_bytes and not line.endswith(b"\n"):
                    self._documents_in.inc()
                    while line and not line.endswith(b"\n"):  # skip the rest of the record
                        line = fh.readline(1 << 20)
                    yield self._reject(uri, "too_large", f"record over --max_bytes={self.max_bytes}")
                    continue
                if not line.strip():
                    continue  # blank lines are not records
                self._documents_in.inc()
                yield self._jsonl_record(uri, line, rel, lineno, mtime)

    def _jsonl_record(self, uri: str, line: bytes, rel: str, lineno: int, mtime: datetime | None):
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return self._reject(uri, "bad_json", str(exc), line)
        if not isinstance(record, dict):
            return self._reject(uri, "bad_json", f"a JSON {type(record).__name__}, not an object", line)
        url, html, text = _string(record, "url"), _string(record, "html"), _string(record, "text")
        kind, body = ("html", html) if html is not None else ("text", text)
        if not url or not url.strip():
            return self._reject(uri, "missing_field", "no 'url'", line)
        if body is None:
            return self._reject(uri, "missing_field", "no 'html' or 'text' string", line, url)
        if not body.strip():
            return self._reject(uri, "empty", f"'{kind}' is empty", line, url)
        published = _string(record, "published")
        meta = DocMeta(
            url=url.strip(),
            outlet=_string(record, "source"),
            title=_string(record, "title"),
            published=parse_time(published) if published else None,
            lang=_string(record, "lang"),
        )
        return RawDocument(
            source_uri=uri, kind=kind, data=b"", text=body, meta=meta, rel_path=f"{rel}#L{lineno}", file_mtime=mtime
        )

    def _reject(self, uri: str, reason: str, detail: str, data: bytes = b"", url: str | None = None):
        reject = Reject(uri, "read", reason, detail, head_of(data), url, len(data) if data else None)
        return beam.pvalue.TaggedOutput(REJECTS, self._count_reject(reject))

    def _progress(self) -> None:
        self._files_seen += 1
        now = time.monotonic()
        if now - self._last_log >= _PROGRESS_SECONDS:
            self._last_log = now
            total = f"/{self.expected_files}" if self.expected_files else ""
            _LOG.info("progress: %d%s files read by this worker", self._files_seen, total)


def _string(record: dict, key: str) -> str | None:
    """A string field of a JSONL record, or None.  JSON may escape lone
    surrogates ("\\ud800"), which json.loads accepts but no UTF-8 writer
    does: they become U+FFFD here."""
    value = record.get(key)
    if not isinstance(value, str):
        return None
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


class DecodeFn(beam.DoFn):
    """RawDocument -> DecodedDocument, or a decode reject."""

    def setup(self) -> None:
        self._count_reject = RejectCounter()
        self._clock = StageClock("read")

    def process(self, doc: RawDocument) -> Iterator:
        yield from self._clock.timed(self._decode(doc))

    def _decode(self, doc: RawDocument) -> Iterator:
        if doc.text is not None:
            yield DecodedDocument(
                doc.source_uri,
                doc.kind,
                doc.text,
                "utf-8",
                doc.meta,
                doc.rel_path,
                doc.file_mtime,
                len(doc.text.encode("utf-8")),
            )
            return
        try:
            decoded = decode_bytes(doc.data, is_html=doc.kind == "html")
        except DecodeError as exc:
            reject = Reject(
                doc.source_uri, "decode", exc.reason, exc.detail, head_of(doc.data), doc.meta.url, len(doc.data)
            )
            yield beam.pvalue.TaggedOutput(REJECTS, self._count_reject(reject))
            return
        yield DecodedDocument(
            doc.source_uri,
            doc.kind,
            decoded.text,
            decoded.encoding,
            doc.meta,
            doc.rel_path,
            doc.file_mtime,
            len(doc.data),
        )


@dataclass(frozen=True)
class WatchSpec:
    """How a folder is watched: listed every ``interval_seconds``, ``polls``
    times, or until the job is stopped when ``polls`` is None."""

    interval_seconds: float
    polls: int | None = None


class ListNewFilesFn(beam.DoFn):
    """pattern -> FileMetadata of each file the first time a listing shows
    it, stamped with that listing's time; lists ``polls`` times,
    ``interval`` seconds apart.

    The bounded form of ``fileio.MatchContinuously``, which the local
    runners cannot run.  What was seen lives in this one call, for one
    pattern, not in the worker: a file is emitted once per run whichever
    worker lists.
    """

    def __init__(self, interval: float, polls: int) -> None:
        self.interval = interval
        self.polls = polls

    def setup(self) -> None:
        self._listings = counter("watch.listings")
        self._listing_errors = counter("watch.listing_errors")
        self._found = counter("watch.files_found")

    def process(self, pattern: str) -> Iterator[TimestampedValue]:
        seen: set[str] = set()
        start = time.time()
        for k in range(self.polls):
            wait = start + k * self.interval - time.time()
            if wait > 0:
                time.sleep(wait)
            found_at = time.time()
            self._listings.inc()
            try:
                matched = FileSystems.match([pattern])[0].metadata_list
            except BeamIOError as exc:  # a folder being moved or remounted: try again next time
                self._listing_errors.inc()
                _LOG.warning("watch: listing %d/%d of %s failed: %s", k + 1, self.polls, pattern, exc)
                continue
            new = sorted((m for m in matched if m.path not in seen), key=lambda m: m.path)
            seen.update(m.path for m in new)
            self._found.inc(len(new))
            _LOG.info("watch: listing %d/%d of %s found %d new files", k + 1, self.polls, pattern, len(new))
            for metadata in new:
                yield TimestampedValue(metadata, found_at)


class ParseManifestFn(beam.DoFn):
    """Manifest lines -> (relative path, DocMeta); the header was checked at
    graph-build time and is passed in."""

    def __init__(self, header: str):
        self.header = header

    def setup(self) -> None:
        self._columns = check_header(self.header)

    def process(self, line: str) -> Iterator[tuple[str, DocMeta]]:
        parsed = parse_row(self._columns, line)
        if parsed:
            yield parsed


class ReadDocuments(beam.PTransform):
    """pattern(s) -> {'documents': DecodedDocument, 'rejects': Reject}."""

    def __init__(
        self,
        pattern: str,
        root: str,
        *,
        max_bytes: int,
        manifest_path: str | None = None,
        manifest_dir: str | None = None,
        manifest_header: str | None = None,
        expected_files: int | None = None,
        watch: WatchSpec | None = None,
    ):
        super().__init__()
        self.watch = watch
        self.pattern = pattern
        self.root = root
        self.max_bytes = max_bytes
        self.manifest_path = manifest_path
        self.manifest_dir = manifest_dir
        self.manifest_header = manifest_header
        self.expected_files = expected_files

    def expand(self, pbegin):
        if self.manifest_path:
            manifest = (
                pbegin
                | "ReadManifest" >> beam.io.ReadFromText(self.manifest_path, skip_header_lines=1)
                | "ParseManifest" >> beam.ParDo(ParseManifestFn(self.manifest_header or ""))
            )
        else:
            manifest = pbegin | "NoManifest" >> beam.Create([])
        read = (
            self._files(pbegin)
            | "Spread" >> beam.Reshuffle()
            | "ReadFiles"
            >> beam.ParDo(
                ReadFilesFn(self.root, self.manifest_dir, self.max_bytes, self.expected_files),
                manifest=beam.pvalue.AsDict(manifest),
            ).with_outputs(REJECTS, main="raw")
        )
        decoded = read.raw | "Decode" >> beam.ParDo(DecodeFn()).with_outputs(REJECTS, main="documents")
        rejects = (read[REJECTS], decoded[REJECTS]) | "ReadRejects" >> beam.Flatten()
        return {"documents": decoded.documents, "rejects": rejects}

    def _files(self, pbegin):
        """FileMetadata of the files to read; a watch stamps each with when it was found."""
        watch = self.watch
        if watch is None:
            return pbegin | "Pattern" >> beam.Create([self.pattern]) | "Match" >> fileio.MatchAll()
        if watch.polls is None:
            return pbegin | "Watch" >> fileio.MatchContinuously(
                self.pattern, interval=watch.interval_seconds, has_deduplication=True
            )
        return (
            pbegin
            | "Pattern" >> beam.Create([self.pattern])
            | "Watch" >> beam.ParDo(ListNewFilesFn(watch.interval_seconds, watch.polls))
        )
