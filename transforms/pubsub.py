"""Pub/Sub source: the production streaming input.

Each message is one document.  Its data is the page (HTML), the article
text, one JSONL record (read as a line of a ``.jsonl`` file is, its own
fields saying what is known), or a URL to fetch; attributes say what it
is and what is known:

    kind       html | text | jsonl | url   (default: url when the data is
                                    one http(s) URL, html when it starts
                                    with '<', jsonl with '{', text otherwise)
    url        the article's URL (for html/text messages)
    outlet, title, lang, published (ISO 8601 or RFC 2822)
    path       a stable relative path, used for the doc_id when there is
               no URL (``newsbeam publish`` sets it, so a published folder
               gets the doc_ids a batch run of that folder gives)

A message's arrival is its publish time (the element timestamp Pub/Sub
gives it), which is what the lateness gate measures against.  URL messages
go through the feed source's fetching step (pacing, robots.txt, address
guards).  A message that cannot be a document is a ``pubsub`` reject.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub

from transforms.common import DOCUMENTS_IN, KEYED, REJECTS, Rejects, counter
from transforms.core.feeds import FeedEntry, host_of
from transforms.core.records import DocMeta, RawDocument
from transforms.core.timeparse import parse_time
from transforms.feeds import FeedSettings, FetchPagesFn
from transforms.read import DecodeFn, ReadProblem, jsonl_document

KINDS = ("html", "text", "jsonl", "url")
URLS = "urls"


def message_kind(data: bytes, declared: str | None) -> str | None:
    if declared:
        return declared.strip().lower() if declared.strip().lower() in KINDS else None
    head = data.lstrip()[:2048]
    if head.startswith((b"http://", b"https://")) and len(data.strip().split()) == 1:
        return "url"
    if head.startswith(b"{"):
        return "jsonl"
    return "html" if head.startswith(b"<") else "text"


class MessageToDocumentFn(beam.DoFn):
    """PubsubMessage -> RawDocument, or (host, FeedEntry) on ``urls``, or a reject."""

    def __init__(self, source: str, max_bytes: int) -> None:
        self.source = source
        self.max_bytes = max_bytes

    def setup(self) -> None:
        self._documents_in = counter(DOCUMENTS_IN)
        self._urls = counter("pubsub.url_messages")
        self._rejects = Rejects("pubsub")

    def process(self, message: PubsubMessage) -> Iterator:
        attrs = dict(message.attributes or {})
        data = message.data or b""
        uri = f"{self.source}#{message.message_id}" if message.message_id else self.source
        kind = message_kind(data, attrs.get("kind"))
        published = parse_time(attrs["published"]) if attrs.get("published") else None
        meta = DocMeta(
            url=attrs.get("url") or None,
            outlet=attrs.get("outlet") or None,
            title=attrs.get("title") or None,
            published=published,
            lang=attrs.get("lang") or None,
        )
        if kind is None:
            yield self._reject(uri, "bad_message", f"attribute kind={attrs.get('kind')!r} is not one of {KINDS}", data)
            return
        if not data.strip():
            yield self._reject(uri, "empty", "the message has no data", data, meta.url)
            return
        if len(data) > self.max_bytes:
            yield self._reject(uri, "too_large", f"over --max_bytes={self.max_bytes}", data, meta.url)
            return
        if kind == "url":
            link = data.decode("utf-8", "replace").strip()
            # The fetch step counts the document in, whatever comes of it.
            self._urls.inc()
            entry = FeedEntry(link, link, self.source, meta.title, None, published, meta.outlet, meta.lang)
            yield beam.pvalue.TaggedOutput(URLS, (host_of(link), entry))
            return
        if kind == "jsonl":
            doc = jsonl_document(uri, data, attrs.get("path") or None)
            if isinstance(doc, ReadProblem):
                yield self._reject(uri, doc.reason, doc.detail, data, doc.url)
                return
        else:
            doc = RawDocument(source_uri=uri, kind=kind, data=data, meta=meta, rel_path=attrs.get("path") or None)
        self._documents_in.inc()
        yield doc

    def _reject(self, uri: str, reason: str, detail: str, data: bytes, url: str | None = None):
        self._documents_in.inc()
        return self._rejects.emit(uri, reason, detail, data, url, len(data))


class ReadPubSub(beam.PTransform):
    """A subscription or topic -> {'documents': DecodedDocument, 'rejects': Reject}."""

    def __init__(self, *, subscription: str | None = None, topic: str | None = None,
                 settings: FeedSettings, max_bytes: int) -> None:  # fmt: skip
        super().__init__()
        self.subscription = subscription
        self.topic = topic
        self.settings = settings
        self.max_bytes = max_bytes

    def expand(self, pbegin):
        source = self.subscription or self.topic or ""
        messages = pbegin | "Messages" >> ReadFromPubSub(
            subscription=self.subscription, topic=self.topic, with_attributes=True
        )
        # URLs are keyed by host; typed so the fetch state's keys are UTF-8 strings.
        parsed = messages | "ToDocuments" >> beam.ParDo(MessageToDocumentFn(source, self.max_bytes)).with_output_types(
            Any, **{URLS: KEYED, REJECTS: Any}
        ).with_outputs(REJECTS, URLS, main="raw")
        fetched = parsed[URLS] | "FetchPages" >> beam.ParDo(FetchPagesFn(self.settings)).with_input_types(
            KEYED
        ).with_outputs(REJECTS, main="raw")
        raw = (parsed.raw, fetched.raw) | "AllDocuments" >> beam.Flatten()
        decoded = raw | "Decode" >> beam.ParDo(DecodeFn()).with_outputs(REJECTS, main="documents")
        rejects = (parsed[REJECTS], fetched[REJECTS], decoded[REJECTS]) | "PubSubRejects" >> beam.Flatten()
        return {"documents": decoded.documents, "rejects": rejects}
