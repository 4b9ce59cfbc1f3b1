"""Read stage: files and JSONL records in, one decoded document per element.

Files are matched inside the pipeline (so ``gs://`` works on Dataflow),
spread over workers, read as bytes up to a size cap (compressed files are
decompressed on the fly, never past the cap, and a truncated archive is
an error, not a shorter document), then decoded.  JSONL files, compressed
or not, are read record by record under the same cap.  Every file or
record that cannot be read or decoded leaves as a
:class:`~transforms.core.records.Reject` on the ``rejects`` output: a
broken symbolic link (which Beam's listing drops, so it is looked for
here), a FIFO or device (refused before it is opened: a FIFO would block
the read forever), a JSONL file without a single record.

A watched folder is listed again and again and each file is read once, when
it is first seen: endlessly with ``fileio.MatchContinuously`` on a streaming
runner (Dataflow, Flink), or ``polls`` times in a bounded run, which is the
form the local runners can execute.  Each watched file is stamped with the
time it was found: its arrival, from which a streaming run measures
lateness.
"""

from __future__ import annotations

import io
import json
import logging
import os
import posixpath
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.fileio import EmptyMatchTreatment
from apache_beam.io.filesystem import BeamIOError, CompressionTypes, FileMetadata, FileSystem
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import TimestampedValue

from transforms.common import (
    DOCUMENTS_IN,
    FILES_SKIPPED,
    IGNORED_PREFIX,
    REJECTS,
    SKIPPED_PREFIX,
    Rejects,
    StageDoFn,
    counter,
    timed_stage,
)
from transforms.core.decompress import Corrupt, DecompressingReader, Truncated, compression_of, read_at_most
from transforms.core.encoding import DecodeError, decode_bytes
from transforms.core.manifest import check_header, parse_row
from transforms.core.records import DecodedDocument, DocMeta, RawDocument
from transforms.core.timeparse import parse_time

_LOG = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
TEXT_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zst", ".deflate", ".xz")
_PROGRESS_SECONDS = 5.0
# A too-large JSONL record is skipped in pieces of this size.
_SKIP_CHUNK = 1 << 20


class ReadProblem(Exception):
    """Why a file (or a JSONL record) cannot be read: a reject's reason and detail."""

    def __init__(self, reason: str, detail: str, url: str | None = None) -> None:
        super().__init__(reason, detail, url)  # all in args, so it pickles
        self.reason = reason
        self.detail = detail
        self.url = url  # a JSONL record's, when it has one

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


# What reading a file can raise: I/O errors (BeamIOError is an OSError),
# a corrupt or truncated archive, and the refusals of open_bytes.
READ_ERRORS = (OSError, Corrupt, Truncated, ReadProblem)


def problem_of(exc: Exception) -> ReadProblem:
    """A read error as the reject it becomes: the type names what went wrong."""
    if isinstance(exc, ReadProblem):
        return exc
    return ReadProblem("unreadable", f"{type(exc).__name__}: {exc}")


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


def _is_local(path: str) -> bool:
    return FileSystems.get_scheme(path) is None


def _refuse_special(path: str) -> None:
    """Raise a ReadProblem for a local path that is not a regular file:
    opening a FIFO blocks until a writer comes (forever, in a batch run),
    and a device or socket is not a document either."""
    try:
        info = os.stat(path)
    except OSError as exc:
        if os.path.islink(path):
            target = os.readlink(path)
            raise ReadProblem("broken_symlink", f"a symbolic link to {target!r}: {exc.strerror}") from exc
        raise
    if not stat.S_ISREG(info.st_mode):
        raise ReadProblem("not_a_regular_file", f"a {_file_type(info.st_mode)}, not a regular file")


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "directory")):  # fmt: skip
        if test(mode):
            return name
    return f"special file (mode {mode:o})"


def open_bytes(path: str) -> BinaryIO:
    """A file's stored bytes, still compressed.  A local path must be a
    regular file: it is checked before opening, and again on the open file
    (opened without blocking, so a file swapped for a FIFO in between
    cannot hang the read).  Other schemes (gs://) go through FileSystems."""
    if not _is_local(path):
        return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    _refuse_special(path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ReadProblem("not_a_regular_file", f"a {_file_type(mode)}, not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def open_decompressed(path: str) -> BinaryIO:
    """A file's bytes as the document holds them: decompressed by suffix
    (with a truncation check), buffered so ``readline(size)`` works."""
    raw = open_bytes(path)
    compression = compression_of(path)
    if compression is None:
        return raw
    return io.BufferedReader(DecompressingReader(raw, compression), buffer_size=1 << 16)


def read_document(path: str, max_bytes: int) -> bytes:
    """A document file's bytes, at most ``max_bytes + 1`` of them (one more
    than the cap says it is too large): a compressed file is decompressed no
    further than that.  Raises one of READ_ERRORS."""
    raw = open_bytes(path)
    compression = compression_of(path)
    stream: BinaryIO = raw if compression is None else DecompressingReader(raw, compression)  # type: ignore[assignment]
    with stream:
        return read_at_most(stream, max_bytes + 1)


def unlisted_files(pattern: str) -> list[FileMetadata]:
    """What a local pattern matches that Beam's listing leaves out without a
    word: broken symbolic links (it cannot size them; they are read, and
    rejected, like any other matched file), and the files under a linked
    folder (it walks without following links).  A linked folder that lies
    inside the walked one is already listed under its own path and is not
    walked twice; nor is a folder reached again through a loop of links."""
    if not _is_local(pattern):
        return []
    if pattern.endswith("/"):
        pattern += "*"
    prefix = re.match(r"^[^[*?]*", pattern).group(0)  # type: ignore[union-attr]
    linked: list[str] = []
    if prefix == pattern:
        candidates = [pattern]
    else:
        top = posixpath.dirname(prefix)
        if not top:  # a relative pattern with no folder: Beam lists nothing either
            return []
        candidates = [os.path.join(d, f) for d, _, files in os.walk(top) for f in files]
        linked = _files_under_linked_folders(top)
    matches = re.compile(FileSystem.translate_pattern(pattern)).match
    out = [
        FileMetadata(p, 0, 0.0)
        for p in sorted(candidates)
        if matches(p) and os.path.islink(p) and not os.path.exists(p)
    ]
    for path in sorted(linked):
        if matches(path) and os.path.isfile(path):
            info = os.stat(path)
            out.append(FileMetadata(path, info.st_size, info.st_mtime))
    return out


def _files_under_linked_folders(top: str) -> list[str]:
    real_top = os.path.realpath(top)
    walked: set[str] = set()
    found: list[str] = []
    for folder, subfolders, _ in os.walk(top):
        for name in subfolders:
            link = os.path.join(folder, name)
            target = os.path.realpath(link)
            if not os.path.islink(link) or target == real_top or target.startswith(real_top + os.sep):
                continue
            for inner, inner_subfolders, files in os.walk(link, followlinks=True):
                real = os.path.realpath(inner)
                if real in walked:
                    inner_subfolders[:] = []
                    continue
                walked.add(real)
                found += [os.path.join(inner, f) for f in files]
    return found


class MatchFilesFn(beam.DoFn):
    """pattern -> FileMetadata of every file it matches: Beam's listing and
    what that leaves out (see unlisted_files), largest first.  The local
    runner deals a stage's input to its workers in turn, in the order it
    arrived; dealt in falling size, the workers' shares of the reading and
    extraction differ by at most the largest file, where in path order a
    folder's large pages can fall to one worker (and, in a folder of
    reruns, every rerun of each).  The order decides nothing else."""

    def process(self, pattern: str) -> Iterator[FileMetadata]:
        listed = FileSystems.match([pattern])[0].metadata_list
        if not listed and not EmptyMatchTreatment.allow_empty_match(pattern, EmptyMatchTreatment.ALLOW_IF_WILDCARD):
            raise BeamIOError(f"Empty match for pattern {pattern}. Disallowed.")
        found = [*listed, *unlisted_files(pattern)]
        yield from sorted(found, key=lambda m: (-m.size_in_bytes, m.path))


def text_path(path: str) -> str:
    """A path as text that any coder can carry: a file name's bytes that are
    not UTF-8 (which Python keeps as lone surrogates) written as escapes
    ('bad\\xffbyte.html'); any other path unchanged."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def file_extension(path: str) -> str:
    """How a skipped file is named in counts: '.warc.gz' for a compressed
    file, '.pdf', '(none)', or '(other)' for a suffix that is not a short
    word (so that names with dates in them do not make a count each)."""
    parts = path.replace("\\", "/").rsplit("/", 1)[-1].lower().split(".")[1:]
    if len(parts) >= 2 and f".{parts[-1]}" in COMPRESSED_SUFFIXES:
        parts = parts[-2:]
    elif parts:
        parts = parts[-1:]
    if not parts:
        return "(none)"
    return "." + ".".join(parts) if all(p.isalnum() and len(p) <= 8 and not p.isdigit() for p in parts) else "(other)"


def _mtime(metadata: FileMetadata) -> datetime | None:
    seconds = getattr(metadata, "last_updated_in_seconds", None)
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


class ReadFilesFn(StageDoFn):
    """FileMetadata -> RawDocument (one per file, or one per JSONL line)."""

    STAGE = "read"

    def __init__(self, root: str, manifest_dir: str | None, max_bytes: int, expected_files: int | None):
        self.root = root
        self.manifest_dir = manifest_dir
        self.max_bytes = max_bytes
        self.expected_files = expected_files

    def setup(self) -> None:
        super().setup()
        self._documents_in = counter(DOCUMENTS_IN)
        self._skipped = counter(FILES_SKIPPED)
        self._rejects = Rejects("read")
        self._files_seen = 0
        self._last_log = time.monotonic()

    @timed_stage
    def process(self, metadata: FileMetadata, manifest: dict[str, DocMeta]) -> Iterator:
        path = metadata.path
        kind = kind_of(path)
        if kind is None:
            self._skipped.inc()
            counter(SKIPPED_PREFIX + file_extension(path)).inc()
            return
        self._progress()
        rel = relative_to(path, self.root)
        # What the rows say of the file: its name as text, whatever bytes it has.
        shown, shown_rel = text_path(path), text_path(rel)
        mtime = _mtime(metadata)
        if kind == "jsonl":
            yield from self._read_jsonl(path, shown, shown_rel, mtime)
            return
        self._documents_in.inc()
        key = relative_to(path, self.manifest_dir) if self.manifest_dir else rel
        meta = manifest.get(key, DocMeta())
        try:
            data = read_document(path, self.max_bytes)
        except READ_ERRORS as exc:
            problem = problem_of(exc)
            yield self._rejects.emit(shown, problem.reason, problem.detail, url=meta.url)
            return
        if len(data) > self.max_bytes:
            yield self._rejects.emit(shown, "too_large", f"over --max_bytes={self.max_bytes}", data, meta.url)
            return
        if not data.strip():
            yield self._rejects.emit(shown, "empty", f"{len(data)} bytes, nothing but whitespace", data, meta.url)
            return
        yield RawDocument(source_uri=shown, kind=kind, data=data, meta=meta, rel_path=shown_rel, file_mtime=mtime)

    def _read_jsonl(self, path: str, shown: str, rel: str, mtime: datetime | None) -> Iterator:
        for lineno, record in jsonl_records(path, self.max_bytes):
            yield self._jsonl_item(shown, lineno, record, rel, mtime)

    def _jsonl_item(self, path: str, lineno: int, record: bytes | ReadProblem, rel: str, mtime: datetime | None):
        """One item of jsonl_records: one record in, a document or a reject."""
        self._documents_in.inc()
        uri = f"{path}#L{lineno}" if lineno else path
        if isinstance(record, ReadProblem):
            return self._rejects.emit(uri, record.reason, record.detail)
        return self._jsonl_record(uri, record, rel, lineno, mtime)

    def _jsonl_record(self, uri: str, line: bytes, rel: str, lineno: int, mtime: datetime | None):
        doc = jsonl_document(uri, line, f"{rel}#L{lineno}", mtime)
        if isinstance(doc, ReadProblem):
            return self._rejects.emit(uri, doc.reason, doc.detail, line, doc.url)
        return doc

    def _progress(self) -> None:
        self._files_seen += 1
        now = time.monotonic()
        if now - self._last_log >= _PROGRESS_SECONDS:
            self._last_log = now
            total = f"/{self.expected_files}" if self.expected_files else ""
            _LOG.info("progress: %d%s files read by this worker", self._files_seen, total)


def jsonl_document(
    uri: str, line: bytes, rel_path: str | None, mtime: datetime | None = None
) -> RawDocument | ReadProblem:
    """One JSONL record (``url``; ``html`` or ``text``; optional ``title``,
    ``source``, ``published``, ``lang``) as a document, or why it cannot
    be one.  A file's records and Pub/Sub's ``kind=jsonl`` messages are
    read by this one function."""
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return ReadProblem("bad_json", str(exc))
    if not isinstance(record, dict):
        return ReadProblem("bad_json", f"a JSON {type(record).__name__}, not an object")
    url, html, text = _string(record, "url"), _string(record, "html"), _string(record, "text")
    kind, body = ("html", html) if html is not None else ("text", text)
    if not url or not url.strip():
        return ReadProblem("missing_field", "no 'url'")
    if body is None:
        return ReadProblem("missing_field", "no 'html' or 'text' string", url)
    if not body.strip():
        return ReadProblem("empty", f"'{kind}' is empty", url)
    meta = DocMeta(
        url=url.strip(),
        outlet=_string(record, "source"),
        title=_string(record, "title"),
        published=_published(record),
        lang=_string(record, "lang"),
    )
    return RawDocument(source_uri=uri, kind=kind, data=b"", text=body, meta=meta, rel_path=rel_path, file_mtime=mtime)


def _published(record: dict) -> datetime | None:
    """A record's ``published``: an ISO 8601 or RFC 2822 string, or Unix
    seconds.  One that cannot be read leaves the record without it (its
    text is no less an article) and is counted as ``ignored.published``."""
    value = record.get("published")
    if value is None or value == "":
        return None
    at = None
    if isinstance(value, str):
        at = parse_time(value)
    elif isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11:
        at = datetime.fromtimestamp(value, UTC)
    if at is None:
        counter(IGNORED_PREFIX + "published").inc()
    return at


def _string(record: dict, key: str) -> str | None:
    """A string field of a JSONL record, or None.  JSON may escape lone
    surrogates ("\\ud800"), which json.loads accepts but no UTF-8 writer
    does: they become U+FFFD here."""
    value = record.get(key)
    if not isinstance(value, str):
        return None
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def jsonl_records(path: str, max_bytes: int) -> Iterator[tuple[int, bytes | ReadProblem]]:
    """(line number, bytes) of each record of a JSONL file, compressed or
    not; one item per record in, so the caller counts each once.  Line 0
    is the file as a whole (it cannot be opened, or holds no record).

    A record over ``max_bytes`` is a ``too_large`` problem (and skipped
    without holding it); blank lines are not records, but a file with no
    record at all is one ``empty`` problem, so it leaves a trace.  A read
    error (a truncated archive, say) is one problem at the line where it
    happened, after the records read before it, and ends the file.
    """
    lineno = records = 0
    at = 0  # the line a read error is reported at; 0: the file as a whole
    try:
        with open_decompressed(path) as fh:
            at = 1
            while line := fh.readline(max_bytes + 1):
                lineno += 1
                if len(line) > max_bytes and not line.endswith(b"\n"):
                    at = lineno  # an error while skipping is this record's
                    while line and not line.endswith(b"\n"):  # skip the rest of the record
                        line = fh.readline(_SKIP_CHUNK)
                    records += 1
                    yield lineno, ReadProblem("too_large", f"record over --max_bytes={max_bytes}")
                elif line.strip():
                    records += 1
                    yield lineno, line
                at = lineno + 1
    except READ_ERRORS as exc:
        yield at, problem_of(exc)
        return
    if not records:
        yield 0, ReadProblem("empty", f"no records: {lineno} blank line(s)")


class DecodeFn(StageDoFn):
    """RawDocument -> DecodedDocument, or a decode reject."""

    STAGE = "read"  # its time is the read stage's; its rejects are "decode" ones

    def setup(self) -> None:
        super().setup()
        self._rejects = Rejects("decode")

    @timed_stage
    def process(self, doc: RawDocument) -> Iterator:
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
            decoded = decode_bytes(doc.data, is_html=doc.kind == "html", declared=doc.charset)
        except DecodeError as exc:
            yield self._rejects.emit(doc.source_uri, exc.reason, exc.detail, doc.data, doc.meta.url, len(doc.data))
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
                # Broken links too, as a batch run reads them: each is a reject, not nothing.
                matched = [*FileSystems.match([pattern])[0].metadata_list, *unlisted_files(pattern)]
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
            return pbegin | "Pattern" >> beam.Create([self.pattern]) | "Match" >> beam.ParDo(MatchFilesFn())
        if watch.polls is None:
            return pbegin | "Watch" >> fileio.MatchContinuously(
                self.pattern, interval=watch.interval_seconds, has_deduplication=True
            )
        return (
            pbegin
            | "Pattern" >> beam.Create([self.pattern])
            | "Watch" >> beam.ParDo(ListNewFilesFn(watch.interval_seconds, watch.polls))
        )
