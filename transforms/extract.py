"""Extract stage: decoded documents in, article rows out.

HTML goes through trafilatura (one configuration per worker, built in
``setup``); saved text through the chrome cleaner.  The article's event time
is decided here, from the best publication time known (sidecar or JSONL,
else the page's own metadata), else the file's modification time, else the
run's ingest time, and becomes the element's timestamp.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import TimestampedValue

from transforms.common import REJECTS, RejectCounter, counter
from transforms.core.extract import Extracted, ExtractionError, HtmlExtractor, extract_text
from transforms.core.ids import make_doc_id
from transforms.core.records import DecodedDocument, Reject, head_of


def build_article(doc: DecodedDocument, ext: Extracted, ingested_at: datetime) -> dict[str, Any]:
    """The article row (without language) from a document and its extraction."""
    meta = doc.meta
    published = meta.published or ext.published
    if published is not None:
        event_time, source = published, "published"
    elif doc.file_mtime is not None:
        event_time, source = doc.file_mtime, "file_mtime"
    else:
        event_time, source = ingested_at, "ingested"
    url = meta.url or ext.canonical_url
    return {
        "doc_id": make_doc_id(url, doc.rel_path, doc.source_uri),
        "source_uri": doc.source_uri,
        "url": url,
        "canonical_url": ext.canonical_url,
        "outlet": meta.outlet or ext.sitename,
        "title": meta.title or ext.title,
        "author": ext.author,
        "text": ext.text,
        "published_at": published,
        "event_time": event_time,
        "event_time_source": source,
        "ingested_at": ingested_at,
        "word_count": len(ext.text.split()),
        "extractor": ext.extractor,
        "encoding": doc.encoding,
        # Consumed by the language stage, not written.
        "declared_lang": meta.lang or ext.declared_lang,
    }


class ExtractFn(beam.DoFn):
    def __init__(self, *, min_chars: int, ingested_at: datetime, favor_precision: bool = False):
        self.min_chars = min_chars
        self.ingested_at = ingested_at
        self.favor_precision = favor_precision

    def setup(self) -> None:
        self._html = HtmlExtractor(favor_precision=self.favor_precision)
        self._count_reject = RejectCounter()
        self._extracted = {"html": counter("extracted.html"), "text": counter("extracted.text")}

    def process(self, doc: DecodedDocument) -> Iterator:
        try:
            if doc.kind == "html":
                ext = self._html.extract(doc.text, url=doc.meta.url, source=doc.source_uri)
            else:
                ext = extract_text(doc.text, doc.meta.outlet, doc.meta.title)
        except ExtractionError as exc:
            yield self._reject(doc, exc.reason, exc.detail)
            return
        if len(ext.text) < self.min_chars:
            yield self._reject(
                doc, "too_short", f"{len(ext.text)} characters of body, under --min_chars={self.min_chars}"
            )
            return
        self._extracted[doc.kind].inc()
        article = build_article(doc, ext, self.ingested_at)
        yield TimestampedValue(article, article["event_time"].timestamp())

    def _reject(self, doc: DecodedDocument, reason: str, detail: str):
        reject = Reject(doc.source_uri, "extract", reason, detail, head_of(doc.text), doc.meta.url, doc.size_bytes)
        return beam.pvalue.TaggedOutput(REJECTS, self._count_reject(reject))


class ExtractArticles(beam.PTransform):
    """DecodedDocument -> {'articles': dict, 'rejects': Reject}."""

    def __init__(self, *, min_chars: int, ingested_at: datetime, favor_precision: bool = False):
        super().__init__()
        self.min_chars = min_chars
        self.ingested_at = ingested_at
        self.favor_precision = favor_precision

    def expand(self, documents):
        out = documents | "Extract" >> beam.ParDo(
            ExtractFn(min_chars=self.min_chars, ingested_at=self.ingested_at, favor_precision=self.favor_precision)
        ).with_outputs(REJECTS, main="articles")
        return {"articles": out.articles, "rejects": out[REJECTS]}
