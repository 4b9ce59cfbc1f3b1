"""Replay source: saved documents as a test stream, in event-time order.

Each document is an element of a ``TestStream`` whose timestamp is its
arrival; the watermark is advanced to each arrival before the element is
added, so windows close between documents as they would in production.
Files are read by the batch Read stage's own DoFn, so every read check
(size, emptiness, encoding) and every counter behaves the same.  A JSONL
file is one element per record, each at its own arrival: the records
were read when the stream was planned and travel in it (a local tool's
trade: the stream holds the JSONL records, not just their paths).

``TestStream`` runs on the DirectRunner only: replay is a local tool.  It
carries times in whole milliseconds, so arrivals are cut to the
millisecond here (a freshly written file's modification time is finer).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.io.filesystem import FileMetadata
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Duration, Timestamp

from transforms.common import REJECTS
from transforms.core.records import DocMeta, RawDocument
from transforms.read import DecodeFn, ReadFilesFn, ReadProblem, relative_to


@dataclass(frozen=True)
class ReplayItem:
    """One element of the replay, one record in: a file, or one record of
    a JSONL file (its line, 0 for the file as a whole, and its bytes or why
    it cannot be read); when it arrives (epoch seconds); and for a late
    copy the tag that makes it a document of its own."""

    path: str
    size: int
    mtime: float
    arrival: float
    copy_tag: str | None = None
    line: int | None = None
    record: bytes | ReadProblem | None = None


def whole_millis(seconds: float) -> Timestamp:
    """An epoch time as a Timestamp cut to the millisecond, the precision
    a TestStream's watermark must have (it asserts so)."""
    return Timestamp(micros=round(seconds * 1_000_000) // 1000 * 1000)


def copy_identity(doc: RawDocument, tag: str) -> RawDocument:
    """The same bytes as another document (an outlet rerunning the story),
    under its own source and URL so it gets its own doc_id."""
    url = doc.meta.url
    if url:
        url = f"{url}{'&' if '?' in url else '?'}newsbeam_copy={tag}"
    return dataclasses.replace(
        doc,
        source_uri=f"{doc.source_uri}#{tag}",
        rel_path=f"{doc.rel_path}#{tag}" if doc.rel_path else None,
        meta=dataclasses.replace(doc.meta, url=url),
    )


class ReplayReadFn(ReadFilesFn):
    """ReplayItem -> RawDocument, through the batch reader (the manifest is
    small and already read, so it travels with the DoFn)."""

    def __init__(self, root: str, manifest_dir: str | None, max_bytes: int, manifest: dict[str, DocMeta]):
        super().__init__(root, manifest_dir, max_bytes, expected_files=None)
        self.manifest = manifest

    def process(self, item: ReplayItem) -> Iterator:  # type: ignore[override]
        if item.line is None:
            outputs = super().process(FileMetadata(item.path, item.size, item.mtime), self.manifest)
        else:
            mtime = datetime.fromtimestamp(item.mtime, UTC) if item.mtime else None
            rel = relative_to(item.path, self.root)
            outputs = iter([self._jsonl_item(item.path, item.line, item.record or b"", rel, mtime)])
        for out in outputs:
            if item.copy_tag and isinstance(out, RawDocument):
                out = copy_identity(out, item.copy_tag)
            yield out


class ReplayDocuments(beam.PTransform):
    """ReplayItems (sorted by arrival) -> {'documents', 'rejects'} as a stream."""

    def __init__(
        self,
        items: Sequence[ReplayItem],
        root: str,
        *,
        max_bytes: int,
        manifest: dict[str, DocMeta],
        manifest_dir: str | None,
    ):
        super().__init__()
        self.items = sorted(items, key=lambda i: (i.arrival, i.path, i.line or 0, i.copy_tag or ""))
        self.root = root
        self.max_bytes = max_bytes
        self.manifest = manifest
        self.manifest_dir = manifest_dir

    @property
    def documents_planned(self) -> int:
        """Documents the stream will deliver (the run's summary checks
        records in = articles + duplicates + rejects against it)."""
        return len(self.items)

    def _stream(self) -> TestStream:
        stream = TestStream()
        watermark = None
        for item in self.items:
            arrival = whole_millis(item.arrival)
            if watermark is None or arrival > watermark:
                watermark = arrival
                stream = stream.advance_watermark_to(watermark)
            stream = stream.add_elements([TimestampedValue(item, arrival)])
        if watermark is not None:
            # Past the last element first: on the DirectRunner, timers of
            # downstream stateful steps do not fire on the jump to infinity alone.
            stream = stream.advance_watermark_to(watermark + Duration(micros=1000))
        return stream.advance_watermark_to_infinity()

    def expand(self, pbegin):
        read = (
            pbegin
            | "Stream" >> self._stream()
            | "ReadFiles"
            >> beam.ParDo(ReplayReadFn(self.root, self.manifest_dir, self.max_bytes, self.manifest)).with_outputs(
                REJECTS, main="raw"
            )
        )
        decoded = read.raw | "Decode" >> beam.ParDo(DecodeFn()).with_outputs(REJECTS, main="documents")
        rejects = (read[REJECTS], decoded[REJECTS]) | "ReadRejects" >> beam.Flatten()
        return {"documents": decoded.documents, "rejects": rejects}
