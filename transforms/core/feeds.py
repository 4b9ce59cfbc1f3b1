"""Feed lists, feed parsing and robots.txt rules, without Beam.

* :func:`parse_feed_list`: the ``--feeds`` file, one URL per line or OPML.
* :func:`parse_feed`: RSS 0.9x/1.0/2.0 and Atom through feedparser, after
  refusing documents that declare XML entities (the "billion laughs" and
  external-entity attacks need a DTD with ``<!ENTITY``; no real feed has
  one) and documents that are not feeds at all.
* :class:`RobotsRules`: RFC 9309 semantics over the standard library's
  parser: a missing robots.txt (4xx) allows everything, an unreachable one
  (5xx, network error) allows nothing until it can be read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import feedparser

from transforms.core.ids import normalize_url

ROBOTS_AGENT = "newsbeam"
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


class FeedError(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_feed_list(text: str) -> list[str]:
    """Feed URLs from a plain list (``#`` comments allowed) or an OPML
    outline (every ``xmlUrl``), in file order, without repeats.  Raises
    ValueError naming the first line that is not an http(s) URL."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<"):
        try:
            root = ET.fromstring(stripped)
        except ET.ParseError as exc:
            raise ValueError(f"not valid OPML: {exc}") from exc
        urls = [el.get("xmlUrl", "").strip() for el in root.iter("outline") if el.get("xmlUrl")]
        where = "xmlUrl"
    else:
        urls = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        urls = [u for u in urls if u]
        where = "line"
    seen: dict[str, None] = {}
    for url in urls:
        if urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).hostname:
            raise ValueError(f"{where} {url!r} is not an http(s) URL")
        seen.setdefault(url, None)
    if not seen:
        raise ValueError("lists no feed URL")
    return list(seen)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, with what the feed says about it."""

    key: str  # guid, else normalized link: what "seen before" is keyed by
    link: str
    feed_url: str
    title: str | None = None
    summary: str | None = None
    published: datetime | None = None
    outlet: str | None = None
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    entries: tuple[FeedEntry, ...]
    skipped: int  # entries without a usable link


def _text(html: str | None) -> str | None:
    if not html:
        return None
    text = _SPACE.sub(" ", _TAG.sub(" ", html)).strip()
    return text or None


def _time(entry) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime(*value[:6], tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    return None


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Entries of a feed document; FeedError when it is unsafe or not a feed."""
    head = body[:65536]
    if _ENTITY_DECL.search(head):
        raise FeedError("xml_entities", "the document declares XML entities; expanding them is refused")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # Bytes in, so feedparser never fetches anything itself.
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=True)
    version = parsed.get("version") or ""
    if not version and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise FeedError("not_a_feed", f"no RSS or Atom found{f' ({problem})' if problem else ''}")
    feed = parsed.feed
    outlet = _text(feed.get("title"))
    lang = (feed.get("language") or "").split("-")[0].lower() or None
    entries = []
    skipped = 0
    for item in parsed.entries:
        link = (item.get("link") or "").strip()
        if urlsplit(link).scheme.lower() not in ("http", "https"):
            skipped += 1
            continue
        guid = (item.get("id") or "").strip()
        key = f"guid:{guid}" if guid else f"link:{normalize_url(link)}"
        entries.append(
            FeedEntry(
                key=key,
                link=link,
                feed_url=url,
                title=_text(item.get("title")),
                summary=_text(item.get("summary")),
                published=_time(item),
                outlet=outlet,
                lang=lang,
            )
        )
    return ParsedFeed(outlet, tuple(entries), skipped)


class RobotsRules:
    """What a host's robots.txt allows ``ROBOTS_AGENT`` to fetch."""

    def __init__(self, status: int | None, body: bytes = b"") -> None:
        self.status = status
        self._parser: RobotFileParser | None = None
        if status is not None and 200 <= status < 300:
            parser = RobotFileParser()
            parser.parse(body.decode("utf-8", "replace").splitlines())
            self._parser = parser

    def allows(self, url: str) -> bool:
        if self._parser is not None:
            return self._parser.can_fetch(ROBOTS_AGENT, url)
        # RFC 9309 2.3.1: "unavailable" (4xx) allows all, "unreachable" (5xx,
        # no answer) disallows all.
        return self.status is not None and 400 <= self.status < 500


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def host_of(url: str) -> str:
    """The politeness key of a URL: its lower-case host name (ports of
    one host share its limit)."""
    return (urlsplit(url).hostname or "").lower()
