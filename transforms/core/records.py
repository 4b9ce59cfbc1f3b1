"""Element types that travel between pipeline stages, and the reject record.

They are small frozen dataclasses: cheap to pickle between Beam stages and
explicit about which fields each stage may rely on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

DocKind = Literal["html", "text"]

# How many leading bytes of a rejected input are kept, so a user can see
# what the document looked like without the dead letters growing unbounded.
REJECT_HEAD_BYTES = 256


@dataclass(frozen=True, slots=True)
class DocMeta:
    """Metadata known about a document before extraction (sidecar, JSONL, feed)."""

    url: str | None = None
    outlet: str | None = None
    title: str | None = None
    published: datetime | None = None
    lang: str | None = None
    # A feed entry's summary: the article text when the page gives less.
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class RawDocument:
    """One input document as bytes, before its encoding is known."""

    source_uri: str
    kind: DocKind
    data: bytes
    meta: DocMeta = field(default_factory=DocMeta)
    # Path relative to the input root: stable across machines, used for ids.
    rel_path: str | None = None
    # Text already decoded upstream (JSONL records carry str, not bytes).
    text: str | None = None
    file_mtime: datetime | None = None
    # The charset the transport declared (an HTTP Content-Type's), which
    # outranks the document's own declaration, as in a browser.
    charset: str | None = None


@dataclass(frozen=True, slots=True)
class DecodedDocument:
    """A document whose text is decoded; ``encoding`` says how."""

    source_uri: str
    kind: DocKind
    text: str
    encoding: str
    meta: DocMeta
    rel_path: str | None
    file_mtime: datetime | None
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Reject:
    """A dead letter: an input that could not become an article, and why."""

    source_uri: str
    stage: str
    reason: str
    detail: str
    head: bytes = b""
    url: str | None = None
    size_bytes: int | None = None

    def to_row(self, ingested_at: datetime) -> dict[str, Any]:
        row = dataclasses.asdict(self)
        row["head"] = self.head[:REJECT_HEAD_BYTES]
        row["ingested_at"] = ingested_at
        return row


def head_of(data: bytes | str | None) -> bytes:
    """The first bytes of an input, for the dead-letter record."""
    if data is None:
        return b""
    if isinstance(data, str):
        data = data[:REJECT_HEAD_BYTES].encode("utf-8", "replace")
    return bytes(data[:REJECT_HEAD_BYTES])
