"""Article extraction: HTML through trafilatura, saved text through the cleaner.

:class:`HtmlExtractor` holds one trafilatura configuration, built once (per
worker) and copied cheaply per page, so per-document options such as the URL
never leak from one page into the next.  trafilatura gives the body and the
author; the page's own statements (meta tags, JSON-LD, ``<time>``, ``<h1>``,
read by :func:`read_head`) give the publication time to the minute with its
zone, the headline without the site's name, and the site's name.
"""

from __future__ import annotations

import copy
import html as html_lib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from htmldate import find_date
from trafilatura import bare_extraction
from trafilatura.metadata import examine_meta, extract_meta_json, extract_title, extract_url
from trafilatura.settings import Extractor, use_config
from trafilatura.utils import line_processing

from transforms.core.eventtime import EARLIEST
from transforms.core.headline import choose_headline
from transforms.core.pagetree import AuthorFinder, TreeLoader
from transforms.core.records import DocMeta
from transforms.core.textclean import clean_text
from transforms.core.timeparse import DAY, Stamp, parse_stamp

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
    # 'second', 'minute' or 'day' (see transforms.core.timeparse.Stamp); None without a time.
    published_precision: str | None = None
    sitename: str | None = None
    canonical_url: str | None = None
    declared_lang: str | None = None
    extractor: str = "trafilatura"
    # Credit lines cleaned out of a saved text ('فرانس24/ أ ف ب'): not text, but whose copy it is.
    credit_lines: tuple[str, ...] = ()


def declared_language(html: str) -> str | None:
    """The language a page declares: ``<html lang>``, Content-Language or og:locale."""
    head = html[:_HEAD_CHARS]
    m = _HTML_LANG.search(head) or _META_LANG.search(head)
    return m.group(1) if m else None


# Reading what a page says about itself (its head, JSON-LD, <time>, <h1>)

# One pass over the page finds every tag read here; their contents are cut
# out from where each tag ends.
_TAGS = re.compile(r"<(meta|time|h1|script|title)\b([^>]{0,2000})>", re.I)
_ATTR = re.compile(r"""([^\s=/>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")
_CLOSING = {name: re.compile(f"</{name}\\s*>", re.I) for name in ("h1", "script", "title")}
_TAG = re.compile(r"<[^>]*>")
# The quote that really ends an attribute value: the tag's end or another attribute follows it.
_VALUE_END = {q: re.compile(q + r"""(?=\s*/?\s*$|\s+[^\s=/>"']+\s*=)""") for q in "\"'"}
_MAX_H1 = 3
# Markup that starts with a body element: not <html>, <head>, <body>, a
# doctype, or an element that belongs in <head> (a page without its <head> tag).
_FRAGMENT = re.compile(r"\s*<(?!(?:html|head|body|meta|title|link|script|style|base|noscript)\b)[a-z]", re.I)

# Meta names and properties that carry the first publication time (never a
# modification time), compared lower-case.
PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "og:published_time", "datepublished",
    "article:published", "published_time", "publishdate", "publish-date", "publish_date", "pubdate",
    "dc.date.issued", "dcterms.issued", "dc.date.created", "dcterms.created", "dc.date", "dcterms.date",
    "sailthru.date", "parsely-pub-date", "article.published", "citation_publication_date",
    "cxenseparse:recs:publishtime", "date",
)  # fmt: skip
_ARTICLE_TYPES = ("article", "posting", "report", "news", "blog")


def _attrs(text: str) -> dict[str, str]:
    out = {}
    pos = 0
    while m := _ATTR.search(text, pos):
        value = m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None else m.group(4)
        pos = m.end()
        if m.group(4) is None and pos < len(text) and not text[pos].isspace() and text[pos] not in "/>":
            # A quote inside the value that the page did not escape closed it
            # early ('content="… und "royaler Besuch""'): the value runs on to
            # the quote that ends the tag or comes before the next attribute.
            quote = text[m.start(2 if m.group(2) is not None else 3) - 1]
            end = _VALUE_END[quote].search(text, pos)
            if end and "=" + quote not in text[pos : end.start()]:
                value, pos = value + quote + text[pos : end.start()], end.end()
        out.setdefault(m.group(1).lower(), html_lib.unescape(value))
    return out


def _text(fragment: str) -> str:
    return " ".join(html_lib.unescape(_TAG.sub(" ", fragment)).split())


def _walk_json(node, out: list[dict], depth: int = 0) -> None:
    if depth > 6:
        return
    if isinstance(node, list):
        for item in node:
            _walk_json(item, out, depth + 1)
    elif isinstance(node, dict):
        out.append(node)
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
            if key in node:
                _walk_json(node[key], out, depth + 1)


def _types(obj: dict) -> list[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return [k.lower() for k in kinds if isinstance(k, str)]


def _name(value) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name")
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True, slots=True)
class PageHead:
    """What a page says about itself, as written (unparsed)."""

    meta: dict[str, list[str]]  # meta name/property/itemprop (lower case) -> contents, in page order
    articles: list[dict]  # JSON-LD objects of an article type, in page order
    publishers: list[str]  # JSON-LD publisher and WebSite names
    title: str | None  # <title>
    h1: list[str]  # the first few <h1> texts
    times: list[dict[str, str]]  # attributes of each <time datetime>, in page order

    def first(self, *keys: str) -> str | None:
        for key in keys:
            for value in self.meta.get(key, ()):
                if value.strip():
                    return " ".join(value.split())
        return None


def _content(html: str, name: str, start: int) -> str | None:
    m = _CLOSING[name].search(html, start)
    return html[start : m.start()] if m else None


def read_head(html: str) -> PageHead:
    meta: dict[str, list[str]] = {}
    objects: list[dict] = []
    title: str | None = None
    h1: list[str] = []
    times: list[dict[str, str]] = []
    pos = 0
    while m := _TAGS.search(html, pos):
        pos = m.end()
        name, inside = m.group(1).lower(), m.group(2)
        if name == "meta":
            attrs = _attrs(inside)
            content = attrs.get("content")
            if content is not None:
                for key in ("property", "name", "itemprop"):
                    if key in attrs:
                        meta.setdefault(attrs[key].strip().lower(), []).append(content)
        elif name == "time":
            if "datetime" in inside.lower():
                attrs = _attrs(inside)
                if attrs.get("datetime"):
                    times.append(attrs)
        elif name == "script":
            text = _content(html, "script", m.end())
            if "ld+json" in inside.lower():
                try:
                    _walk_json(json.loads((text or "").strip().strip(";")), objects)
                except (ValueError, RecursionError):
                    pass
            # What a script holds is code, not the page's tags: a '<title>' in a
            # document.write() string is no title.
            pos = m.end() + len(text or "")
        elif name == "h1":
            if len(h1) < _MAX_H1:
                text = _text(_content(html, "h1", m.end()) or "")
                if text:
                    h1.append(text)
        elif title is None:
            title = _text(_content(html, "title", m.end()) or "") or None
    articles = [o for o in objects if any(t in k for k in _types(o) for t in _ARTICLE_TYPES) or "headline" in o]
    article_ids = {id(o) for o in articles}
    publishers = []
    for o in objects:
        if any(k in ("website", "newsmediaorganization", "organization") for k in _types(o)) and _name(o.get("name")):
            publishers.append(_name(o.get("name")))
        if id(o) in article_ids and _name(o.get("publisher")):
            publishers.append(_name(o.get("publisher")))
    return PageHead(meta, articles, publishers, title, h1, times)


def _is_published_key(key: str) -> bool:
    return "publish" in key and ("time" in key or "date" in key) and not any(w in key for w in ("modif", "updat"))


def published_candidates(head: PageHead) -> list[str]:
    """The page's statements of its first publication time, most trusted
    first: JSON-LD ``datePublished`` of the article, the publication meta
    tags, a ``<time>`` marked as the publication time."""
    out = [o["datePublished"] for o in head.articles if isinstance(o.get("datePublished"), str)]
    for key in PUBLISHED_META:
        out += head.meta.get(key, [])
    out += [
        v for key, values in head.meta.items() if key not in PUBLISHED_META and _is_published_key(key) for v in values
    ]
    for attrs in head.times:
        marked = "pubdate" in attrs or attrs.get("itemprop", "").lower() == "datepublished"
        if marked or "publish" in attrs.get("class", "").lower():
            out.append(attrs["datetime"])
    return out


def choose_published(
    statements: Iterable[str], fallback_day: str | None = None, not_after: datetime | None = None
) -> Stamp | None:
    """The publication time: the first statement that names a day and is
    believable (from 1995 on, and not after ``not_after``), else
    ``fallback_day`` (a day found in the markup by htmldate).  A day, or a
    time without a zone, gives way to a zoned time of day stated for the same
    calendar day."""
    stamps = []
    for text in statements:
        stamp = parse_stamp(text)
        if stamp is not None and stamp.at >= EARLIEST and (not_after is None or stamp.at <= not_after):
            stamps.append(stamp)
    if not stamps:
        stamp = parse_stamp(fallback_day)
        if stamp is None or stamp.at < EARLIEST or (not_after is not None and stamp.at > not_after):
            return None
        return stamp
    best = stamps[0]
    if best.precision == DAY or not best.zoned:
        for other in stamps[1:]:
            if other.zoned and other.precision != DAY and other.day == best.day:
                return other
    return best


def _host(url: str | None) -> str | None:
    try:
        return urlsplit(url).hostname if url else None
    except ValueError:
        return None


def host_names_of(url: str | None) -> str | None:
    """A URL's host without 'www.', the outlet of last resort."""
    host = _host(url)
    return host.removeprefix("www.") if host else None


def site_name(head: PageHead) -> str | None:
    """The site's name as the page gives it: og:site_name, else the JSON-LD
    publisher, else application-name."""
    return (
        head.first("og:site_name")
        or (head.publishers[0] if head.publishers else None)
        or head.first("application-name")
    )


def _paragraphs(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


# What the pipeline asks trafilatura for, in trafilatura.extract's terms
# (`make bench` and `make eval-extract` run their baseline with exactly
# these): comments and images off (they are not the article), tables on
# (casualty figures live in tables), metadata on.  HtmlExtractor reads the
# metadata it keeps itself, with trafilatura's functions (_page_metadata).
TRAFILATURA_SETTINGS = {"include_comments": False, "include_images": False, "include_tables": True,
                        "with_metadata": True}  # fmt: skip


# htmldate without its extensive search: that search reads dates out of the
# page's text, and gives a copyright line's bare year as January 1st.  No
# max_date of its own (trafilatura would fix it when the worker starts, and
# a long-running worker would then refuse every later date): the future is
# refused by HtmlExtractor.extract's ``not_after``.
DATE_PARAMS = {"original_date": True, "extensive_search": False, "max_date": "2999-12-31"}


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


@dataclass(frozen=True, slots=True)
class _Metadata:
    title: str | None  # the headline of last resort
    author: str | None
    url: str | None  # the canonical URL, else the one given


def _trimmed(value: str | None) -> str | None:
    """As trafilatura trims its metadata: entities decoded, spaces and
    control characters collapsed, at most 10,000 characters."""
    return line_processing(html_lib.unescape(value[:10000])) or None if value else None


def _page_metadata(tree, url: str | None, authors: AuthorFinder) -> _Metadata:
    """The title, author and canonical URL as trafilatura's metadata pass
    finds them (its own functions, in its order; ``authors`` is its author
    search), without the parts of that pass the pipeline does not keep
    (categories, tags, licence, site name) and with the date left to the
    caller."""
    found = examine_meta(tree)
    if found.author and " " not in found.author:
        found.author = None  # as trafilatura: a one-word author is a handle, not a name
    try:
        found = extract_meta_json(tree, found)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        pass  # malformed JSON-LD: the meta tags' values stand, as in trafilatura
    return _Metadata(
        title=_trimmed(found.title or extract_title(tree)),
        author=_trimmed(found.author or authors.find(tree)),
        url=_trimmed(found.url or extract_url(tree, url)),
    )


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
            # The metadata the pipeline keeps is read by _page_metadata: trafilatura's
            # own pass also reads categories, tags, licence and every JSON-LD
            # block again, a quarter of its time per page.
            with_metadata=False,
            date_params=DATE_PARAMS,
        )
        self._trees = TreeLoader()
        self._authors = AuthorFinder()

    def extract(
        self,
        html: str,
        url: str | None = None,
        source: str | None = None,
        *,
        outlet: str | None = None,
        not_after: datetime | None = None,
    ) -> Extracted:
        """``outlet``: the site's name known from elsewhere (a feed's title,
        the manifest), also stripped from headlines.  ``not_after``: a
        publication time later than this is not believed."""
        options = copy.copy(self._options)
        options.url = url
        options.source = source or url
        try:
            # A saved fragment (an article's <div>, no <html> or <body>) is one
            # element that trafilatura refuses as a page: it is read as a body.
            tree = self._trees.load(f"<html><head></head><body>{html}</body></html>" if _FRAGMENT.match(html) else html)
            # bare_extraction works on a copy of the tree, so it is read again below.
            doc = bare_extraction(tree, options=options) if tree is not None else None
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            # trafilatura raises these on markup its parser cannot build a tree for.
            raise ExtractionError("unparseable", f"{type(exc).__name__}: {exc}") from exc
        if doc is None or not (doc.text or "").strip():
            raise ExtractionError("no_content", "trafilatura found no article body")
        head = read_head(html)
        meta = _page_metadata(tree, url, self._authors)
        statements = published_candidates(head)
        published = choose_published(statements, None, not_after)
        if published is None:
            # Only a page that states no believable date costs htmldate's search.
            published = choose_published(statements, find_date(tree, **DATE_PARAMS, url=meta.url), not_after)
        sitename = site_name(head)
        hosts = (_host(url), _host(meta.url), _host(head.first("og:url")))
        return Extracted(
            title=choose_headline(head, meta.title, (sitename, *head.publishers, outlet), hosts),
            text=_paragraphs(doc.text),
            author=meta.author,
            published=published.at if published else None,
            published_precision=published.precision if published else None,
            sitename=sitename,
            canonical_url=meta.url,
            declared_lang=declared_language(html),
        )


def extract_document(
    html: HtmlExtractor, kind: str, text: str, meta: DocMeta, source: str, not_after: datetime | None = None
) -> Extracted:
    """A decoded document's article by its kind: a page through ``html``
    (with the record's URL and outlet), anything else as saved text (with
    the record's outlet and title).  The pipeline and ``newsbeam tag`` both
    extract through here."""
    if kind == "html":
        return html.extract(text, url=meta.url, source=source, outlet=meta.outlet, not_after=not_after)
    return extract_text(text, meta.outlet, meta.title)


# A text document in the TREC style that news corpora are distributed in (ANT,
# the TREC and CLEF collections): <DOC>, then one <FIELD>...</FIELD> per field.
_SGML_DOC = re.compile(r"\A\s*<DOC>\s*<")
# The one-line fields before <TEXT> (<TITLE>...</TITLE>); read line by line, so the cost stays linear.
_SGML_FIELD = re.compile(r"^\s*<([A-Z_]+)>([^<\n]*)</\1>\s*$", re.M)
_SGML_TITLE = ("TITLE", "HEADLINE", "HEADER")
_SGML_TIME = ("TIME", "DATE", "DATE_TIME", "PUBDATE")


def _sgml_fields(raw: str) -> dict[str, str] | None:
    """The fields of a TREC-style document with a <TEXT>...</TEXT>, else None."""
    if not _SGML_DOC.match(raw):
        return None
    start, end = raw.find("<TEXT>"), raw.rfind("</TEXT>")
    if start < 0 or end < start:
        return None
    if raw.count("<DOC>") > 1:  # a collection file: reading its first document would lose the others
        raise ExtractionError("several_documents", f"{raw.count('<DOC>')} <DOC> documents in one file; one per file")
    fields: dict[str, str] = {}
    for name, value in _SGML_FIELD.findall(raw, 0, start):
        fields.setdefault(name, html_lib.unescape(value).strip())
    fields["TEXT"] = raw[start + len("<TEXT>") : end]
    return fields


def extract_text(raw: str, outlet: str | None = None, title: str | None = None) -> Extracted:
    """A saved plain-text page, cleaned of page chrome.  When the record names
    its ``title``, a first line that is not that title is body, not headline.
    A TREC-style document (``<DOC><TITLE>...</TITLE><TEXT>...</TEXT>``) gives
    its title, time, URL, source and author from its fields."""
    fields = _sgml_fields(raw)
    if fields is not None:
        return _extract_sgml(fields, outlet, title)
    cleaned = clean_text(raw, outlet)
    paragraphs = cleaned.paragraphs
    if title and cleaned.title is not None and cleaned.title.strip() != title.strip():
        paragraphs = [cleaned.title, *paragraphs]
    if not paragraphs:
        raise ExtractionError("no_content", "nothing left after removing page chrome")
    return Extracted(
        title=title or cleaned.title,
        text="\n".join(paragraphs),
        extractor="text-cleaner",
        credit_lines=cleaned.credits,
    )


def _extract_sgml(fields: dict[str, str], outlet: str | None, title: str | None) -> Extracted:
    own_title = next((fields[f] for f in _SGML_TITLE if fields.get(f)), None)
    cleaned = clean_text(html_lib.unescape(fields["TEXT"]), outlet)
    # The body of a field-structured document has no headline line of its own: its first line is text.
    paragraphs = [p for p in (cleaned.title, *cleaned.paragraphs) if p is not None]
    if own_title and paragraphs and paragraphs[0].strip() == own_title.strip():
        paragraphs = paragraphs[1:]
    if not paragraphs:
        raise ExtractionError("no_content", "the document's <TEXT> is empty")
    stamp = next((s for f in _SGML_TIME if (s := parse_stamp(fields.get(f)))), None)
    return Extracted(
        title=title or own_title,
        text="\n".join(paragraphs),
        author=fields.get("AUTHOR") or None,
        published=stamp.at if stamp else None,
        published_precision=stamp.precision if stamp else None,
        sitename=fields.get("SRC") or fields.get("SOURCE") or None,
        canonical_url=fields.get("URL") or None,
        extractor="text-fields",
        credit_lines=cleaned.credits,
    )
