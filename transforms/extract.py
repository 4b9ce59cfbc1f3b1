"""Extract stage: decoded documents in, article rows out.

HTML goes through trafilatura (one configuration per worker, built in
``setup``); saved text through the chrome cleaner.  The article's event time
is decided here, from the best publication time known (sidecar or JSONL,
else the page's own metadata), else the file's modification time, else the
run's ingest time, and becomes the element's timestamp.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import TimestampedValue

from transforms.agencies import CREDIT_LINES
from transforms.common import REJECTS, NamedCounters, Rejects, StageDoFn, arrival_of, timed_stage
from transforms.core.eventtime import (
    believable,
    choose_event_time,
    is_too_late,
    lateness,
    latest_believed,
    refine,
)
from transforms.core.extract import Extracted, ExtractionError, HtmlExtractor, extract_document, host_names_of
from transforms.core.ids import make_doc_id
from transforms.core.records import DecodedDocument
from transforms.core.timeparse import precision_of
from transforms.shutdown import skip_last_collection

LATE = "late"


@dataclass(frozen=True)
class StreamTiming:
    """Event-time rules that only apply to unbounded input.

    ``allowed_lateness``: a document that arrives more than this after its
    event time is rejected as ``late`` (the runner would otherwise drop it
    silently at the first windowed grouping).  ``pinned_ingest``: keep the
    run's ingest time on every row instead of each document's arrival.
    """

    allowed_lateness: timedelta
    pinned_ingest: bool = False


def build_article(
    doc: DecodedDocument,
    ext: Extracted,
    ingested_at: datetime,
    *,
    arrived_at: datetime | None = None,
    max_future: timedelta | None = None,
) -> dict[str, Any]:
    """The article row (without language) from a document and its extraction.

    The publication time is the record's (manifest, JSONL, feed entry,
    message), else the page's; a record's date without a time of day gives
    way to the page's time on that day.  Neither is believed before 1995 or
    more than :func:`latest_believed` after the document arrived."""
    meta = doc.meta
    latest = latest_believed(arrived_at or ingested_at, max_future)
    published, precision = None, None
    if believable(ext.published, latest):
        published, precision = ext.published, ext.published_precision
    if believable(meta.published, latest):
        meta_precision = precision_of(meta.published)
        if not refine(meta.published, meta_precision, published, precision):
            published, precision = meta.published, meta_precision
    chosen = choose_event_time(published, doc.file_mtime, ingested_at, arrived_at=arrived_at, max_future=max_future)
    event_time, source = chosen.at, chosen.source
    url = meta.url or ext.canonical_url
    return {
        "doc_id": make_doc_id(url, doc.rel_path, doc.source_uri),
        "source_uri": doc.source_uri,
        "url": url,
        "canonical_url": ext.canonical_url,
        # The site's name as the page gives it, else the feed's title (or the
        # manifest's outlet), else the host.
        "outlet": ext.sitename or meta.outlet or host_names_of(url),
        "title": meta.title or ext.title,
        "author": ext.author,
        "text": ext.text,
        "published_at": published,
        "published_precision": precision,
        "event_time": event_time,
        "event_time_source": source,
        "ingested_at": ingested_at,
        "word_count": len(ext.text.split()),
        "extractor": ext.extractor,
        "encoding": doc.encoding,
        # Consumed by the language stage, not written.
        "declared_lang": meta.lang or ext.declared_lang,
        # Consumed by the agencies stage, not written.
        CREDIT_LINES: list(ext.credit_lines),
    }


class ExtractFn(StageDoFn):
    STAGE = "extract"

    def __init__(
        self,
        *,
        min_chars: int,
        ingested_at: datetime,
        favor_precision: bool = False,
        stream: StreamTiming | None = None,
    ):
        self.min_chars = min_chars
        self.ingested_at = ingested_at
        self.favor_precision = favor_precision
        self.stream = stream

    def setup(self) -> None:
        super().setup()
        self._html = HtmlExtractor(favor_precision=self.favor_precision)
        self._rejects = Rejects("extract")
        self._extracted = NamedCounters("extracted.")
        skip_last_collection()

    @timed_stage
    def process(self, doc: DecodedDocument, arrival=beam.DoFn.TimestampParam) -> Iterator:
        try:
            reference = arrival_of(arrival, self.ingested_at) if self.stream else self.ingested_at
            not_after = latest_believed(reference, self.stream.allowed_lateness if self.stream else None)
            ext = extract_document(self._html, doc.kind, doc.text, doc.meta, doc.source_uri, not_after)
        except ExtractionError as exc:
            ext = None
            failure = (exc.reason, exc.detail)
        # A feed's summary stands in when the page yields less than it.
        summary = doc.meta.summary
        if summary and (ext is None or len(ext.text) < len(summary)) and len(summary) >= self.min_chars:
            ext = Extracted(title=doc.meta.title, text=summary, extractor="feed-summary")
        if ext is None:
            yield self._reject(doc, *failure)
            return
        if len(ext.text) < self.min_chars:
            yield self._reject(
                doc, "too_short", f"{len(ext.text)} characters of body, under --min_chars={self.min_chars}"
            )
            return
        if self.stream is None:
            article = build_article(doc, ext, self.ingested_at)
        else:
            arrived = arrival_of(arrival, self.ingested_at)
            ingested = self.ingested_at if self.stream.pinned_ingest else arrived
            article = build_article(doc, ext, ingested, arrived_at=arrived, max_future=self.stream.allowed_lateness)
            if is_too_late(article["event_time"], arrived, self.stream.allowed_lateness):
                late_by = lateness(article["event_time"], arrived)
                yield self._reject(
                    doc,
                    LATE,
                    f"event time {article['event_time'].isoformat()} arrived {late_by} later, "
                    f"over the allowed lateness of {self.stream.allowed_lateness}",
                )
                return
        # By the `extractor` column's value, so a summary read back from the tables says the same.
        self._extracted.inc(ext.extractor)
        yield TimestampedValue(article, article["event_time"].timestamp())

    def _reject(self, doc: DecodedDocument, reason: str, detail: str):
        return self._rejects.emit(doc.source_uri, reason, detail, doc.text, doc.meta.url, doc.size_bytes)


class ExtractArticles(beam.PTransform):
    """DecodedDocument -> {'articles': dict, 'rejects': Reject}.

    With ``stream`` set, each document's arrival is its element timestamp
    and documents later than the allowed lateness are rejected as ``late``.
    """

    def __init__(self, **config: Any):
        """``config``: the keyword arguments of :class:`ExtractFn`."""
        super().__init__()
        self.fn = ExtractFn(**config)

    def expand(self, documents):
        out = documents | "Extract" >> beam.ParDo(self.fn).with_outputs(REJECTS, main="articles")
        return {"articles": out.articles, "rejects": out[REJECTS]}
