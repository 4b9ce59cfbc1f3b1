"""Feed lists, feed parsing and robots.txt rules, without Beam.

* :func:`parse_feed_list`: the ``--feeds`` file, one URL per line or OPML.
* :func:`parse_feed`: RSS 0.9x/1.0/2.0 and Atom through feedparser.  The
  bytes are decoded here first (the same logic as pages: BOM, HTTP charset,
  XML declaration checked against the bytes, detection), then the whole
  document goes through expat, which refuses any entity declaration (the
  "billion laughs" and external-entity attacks need one; no real feed has
  one), wherever it is and whatever the encoding; feedparser gets UTF-8.
  Documents that are not feeds at all are refused too.  Every entry is
  kept, links that cannot be fetched included (the fetching step rejects
  those, so none vanishes); a second entry with the same key in one
  listing is counted as ``repeated``, not kept.
* :class:`RobotsRules`: RFC 9309 semantics over the standard library's
  parser: a missing robots.txt (4xx) allows everything, an unreachable one
  (5xx, 429, network error, a body that could not be read) allows nothing
  until it can be read; only its first ``ROBOTS_MAX_BYTES`` are read.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser
from xml.parsers import expat

import feedparser

from transforms.core.encoding import DecodeError, charset_param, decode_bytes
from transforms.core.ids import normalize_url

ROBOTS_AGENT = "newsbeam"
# How much of a robots.txt is read and obeyed (what Google reads, RFC 9309
# asks for at least 500 KiB); the rest is ignored, not a reason to ignore it all.
ROBOTS_MAX_BYTES = 500 * 1024
FETCHABLE_SCHEMES = ("http", "https")
_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
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
    repeated: int  # entries whose key an earlier entry of the listing had
    encoding: str = "utf-8"  # what the document was decoded with


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


class _EntityDeclared(Exception):
    pass


def _refuse_entity(*_args: object) -> None:
    raise _EntityDeclared


def _declares_entities(text: str) -> bool:
    """Whether the document declares an XML entity anywhere.  expat reads
    the whole of it (a str: the encoding is already settled) and stops at
    the first declaration, before anything is expanded.  A document that is
    not well-formed stops expat early, so the rest of it is searched as
    text: feedparser's loose parser would still read it."""
    parser = expat.ParserCreate()
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    try:
        parser.Parse(text, True)
    except _EntityDeclared:
        return True
    except expat.ExpatError:
        return _ENTITY_DECL.search(text) is not None
    return False


def _entry_key(guid: str, link: str, feed_url: str, title: str | None, summary: str | None) -> str:
    if guid:
        return f"guid:{guid}"
    if urlsplit(link).scheme.lower() in FETCHABLE_SCHEMES:
        return f"link:{normalize_url(link)}"
    if link:
        return f"link:{link}"
    # Neither guid nor link: what the entry says is all that tells it apart.
    digest = hashlib.sha256("\0".join((feed_url, title or "", summary or "")).encode()).hexdigest()[:32]
    return f"entry:{digest}"


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Entries of a feed document; FeedError when it is unsafe, unreadable
    or not a feed."""
    try:
        decoded = decode_bytes(body, is_html=False, is_xml=True, declared=charset_param(content_type))
    except DecodeError as exc:
        raise FeedError(exc.reason, exc.detail) from exc  # empty, binary, undecodable
    if _declares_entities(decoded.text):
        raise FeedError("xml_entities", "the document declares XML entities; expanding them is refused")
    # Bytes in, never a str (feedparser would open a str that looks like a
    # URL or a path), re-encoded as UTF-8 and labelled so: the decoding
    # above is the one that counts, not feedparser's guess.
    headers = {"content-location": url, "content-type": "application/xml; charset=utf-8"}
    parsed = feedparser.parse(
        decoded.text.encode("utf-8"), response_headers=headers, sanitize_html=False, resolve_relative_uris=True
    )
    version = parsed.get("version") or ""
    if not version and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise FeedError("not_a_feed", f"no RSS or Atom found{f' ({problem})' if problem else ''}")
    feed = parsed.feed
    outlet = _text(feed.get("title"))
    lang = (feed.get("language") or "").split("-")[0].lower() or None
    entries: dict[str, FeedEntry] = {}
    repeated = 0
    for item in parsed.entries:
        link = (item.get("link") or "").strip()
        title = _text(item.get("title"))
        summary = _text(item.get("summary"))
        key = _entry_key((item.get("id") or "").strip(), link, url, title, summary)
        if key in entries:
            repeated += 1
            continue
        entries[key] = FeedEntry(
            key=key,
            link=link,
            feed_url=url,
            title=title,
            summary=summary,
            published=_time(item),
            outlet=outlet,
            lang=lang,
        )
    return ParsedFeed(outlet, tuple(entries.values()), repeated, decoded.encoding)


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
        # no answer) disallows all.  429 asks us to come back later, so it
        # counts as unreachable (as Google does), not as "no robots.txt".
        return self.status is not None and 400 <= self.status < 500 and self.status != 429


ROBOTS_TTL_SECONDS = 24 * 3600
ROBOTS_RETRY_SECONDS = 600


def robots_ttl(status: int | None) -> float:
    """How long an answer to a robots.txt request is kept: a day for rules
    or for no robots.txt (4xx); ten minutes for one that blocks the origin
    without saying so (no answer, 5xx, or 429, which asks to come back
    later), so the origin is asked again soon."""
    known = status is not None and status < 500 and status != 429
    return ROBOTS_TTL_SECONDS if known else ROBOTS_RETRY_SECONDS


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def host_of(url: str) -> str:
    """The politeness key of a URL: its lower-case host name (ports of
    one host share its limit)."""
    return (urlsplit(url).hostname or "").lower()


# --- memory across runs ------------------------------------------------------

FEED_STATE_VERSION = 1


def feed_state_json(
    validators: dict[str, tuple[str | None, str | None]], seen: dict[str, float], seen_days: float, now: float
) -> bytes:
    """The feeds' memory for the next run, as JSON (``_state/feeds/state.json``):

    * ``validators``: feed URL -> ``{"etag", "last_modified"}`` of its last
      200 answer, sent back as If-None-Match / If-Modified-Since;
    * ``seen``: entry key (guid, else normalized link) -> when a feed last
      listed it (UTC, ISO 8601); an entry is forgotten ``seen_days`` after
      that, as within a run.

    Feeds whose answer had no validator, and entries older than
    ``seen_days`` at ``now`` (seconds since the epoch), are left out.
    Sorted, so the same memory gives the same bytes."""
    horizon = now - seen_days * 86400
    doc = {
        "version": FEED_STATE_VERSION,
        "seen_days": seen_days,
        "validators": {
            url: {"etag": etag, "last_modified": modified}
            for url, (etag, modified) in sorted(validators.items())
            if etag or modified
        },
        "seen": {
            key: datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            for key, at in sorted(seen.items())
            if at >= horizon
        },
    }
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")


def parse_feed_state(data: bytes) -> tuple[dict[str, tuple[str | None, str | None]], dict[str, float]]:
    """(validators, seen) from :func:`feed_state_json`'s bytes: seen times
    as seconds since the epoch.  Raises ValueError for anything else."""
    try:
        doc = json.loads(data.decode("utf-8"))
        if doc.get("version") != FEED_STATE_VERSION:
            raise ValueError(f"not a feed state file: version {doc.get('version')!r}, not {FEED_STATE_VERSION}")
        validators = {url: (v.get("etag"), v.get("last_modified")) for url, v in doc["validators"].items()}
        seen = {key: datetime.fromisoformat(at).timestamp() for key, at in doc["seen"].items()}
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, AttributeError, TypeError) as exc:
        raise ValueError(f"not a feed state file: {exc}") from exc
    return validators, seen
