"""Article extraction: HTML through trafilatura, saved text through the cleaner.

:class:`HtmlExtractor` holds one trafilatura configuration, built once (per
worker) and copied cheaply per page, so per-document options such as the URL
never leak from one page into the next.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from trafilatura import bare_extraction
from trafilatura.settings import Extractor, use_config

from transforms.core.textclean import clean_text
from transforms.core.timeparse import parse_time

_HTML_LANG = re.compile(r"""<html\b[^>]{0,500}?\blang\s*=\s*["']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)""", re.I)
_META_LANG = re.compile(
    r"""<meta[^>]{0,200}?(?:http-equiv\s*=\s*["']?content-language["']?[^>]{0,100}?content|property\s*=\s*["']og:locale["'][^>]{0,100}?content)\s*=\s*["']([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)""",
    re.I,
)
_HEAD_CHARS = 20000


class ExtractionError(ValueError):
    """Nothing usable came out of a document; ``reason`` is a stable keyword."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Extracted:
    title: str | None
    text: str
    author: str | None = None
    published: datetime | None = None
    sitename: str | None = None
    canonical_url: str | None = None
    declared_lang: str | None = None
    extractor: str = "trafilatura"


def declared_language(html: str) -> str | None:
    """The language a page declares: ``<html lang>``, Content-Language or og:locale."""
    head = html[:_HEAD_CHARS]
    m = _HTML_LANG.search(head) or _META_LANG.search(head)
    return m.group(1) if m else None


def _paragraphs(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


# What the pipeline asks trafilatura for, in trafilatura.extract's terms
# (`make bench` runs its baseline with exactly these): comments and images
# off (they are not the article), tables on (casualty figures live in
# tables), metadata on.
TRAFILATURA_SETTINGS = {"include_comments": False, "include_images": False, "include_tables": True,
                        "with_metadata": True}  # fmt: skip


def trafilatura_config(min_extracted_size: int = 250):
    """trafilatura's config with no signal-based timeout (signals do not
    work off the main thread, where Beam runs DoFns)."""
    # trafilatura logs every page it discards at WARNING; the pipeline
    # records those as rejects with a reason instead.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    logging.getLogger("htmldate").setLevel(logging.ERROR)
    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(min_extracted_size))
    return config


class HtmlExtractor:
    """trafilatura with one configuration (:data:`TRAFILATURA_SETTINGS`)
    for every page."""

    def __init__(self, *, favor_precision: bool = False, min_extracted_size: int = 250) -> None:
        settings = TRAFILATURA_SETTINGS
        self._options = Extractor(
            config=trafilatura_config(min_extracted_size),
            output_format="python",
            precision=favor_precision,
            comments=settings["include_comments"],
            images=settings["include_images"],
            tables=settings["include_tables"],
            with_metadata=settings["with_metadata"],
        )

    def extract(self, html: str, url: str | None = None, source: str | None = None) -> Extracted:
        options = copy.copy(self._options)
        options.url = url
        options.source = source or url
        try:
            doc = bare_extraction(html, options=options)
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            # trafilatura raises these on markup its parser cannot build a tree for.
            raise ExtractionError("unparseable", f"{type(exc).__name__}: {exc}") from exc
        if doc is None or not (doc.text or "").strip():
            raise ExtractionError("no_content", "trafilatura found no article body")
        return Extracted(
            title=(doc.title or None),
            text=_paragraphs(doc.text),
            author=doc.author or None,
            published=parse_time(doc.date) if doc.date else None,
            sitename=doc.sitename or None,
            canonical_url=doc.url or None,
            declared_lang=declared_language(html),
        )


def extract_text(raw: str, outlet: str | None = None, title: str | None = None) -> Extracted:
    """A saved plain-text page, cleaned of page chrome.  When the record names
    its ``title``, a first line that is not that title is body, not headline."""
    cleaned = clean_text(raw, outlet)
    paragraphs = cleaned.paragraphs
    if title and cleaned.title is not None and cleaned.title.strip() != title.strip():
        paragraphs = [cleaned.title, *paragraphs]
    if not paragraphs:
        raise ExtractionError("no_content", "nothing left after removing page chrome")
    return Extracted(title=title or cleaned.title, text="\n".join(paragraphs), extractor="text-cleaner")
