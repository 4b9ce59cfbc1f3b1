"""A news site for the feed tests, served by a real HTTP server on 127.0.0.1:
article pages built from the seeds, an RSS feed listing them, real feed
files from tests/data/feeds with their links pointed at this server, and
every kind of bad answer the fetcher must survive.  Every request is logged
with its arrival time and headers."""

from __future__ import annotations

import gzip
import html
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import DATA, SEEDS
from transforms.core.manifest import parse_manifest

FEEDS = DATA / "feeds"
PAGES = sorted((DATA / "pages").glob("*.html"))


@dataclass
class Hit:
    at: float
    path: str
    headers: dict[str, str]


@dataclass
class Site:
    server: HTTPServer
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def log(self, request: Request) -> None:
        with self.lock:
            self.hits.append(Hit(time.monotonic(), request.path, dict(request.headers)))

    def route(self, path: str | re.Pattern, handler) -> None:
        def logged(request: Request) -> Response:
            self.log(request)
            return handler(request)

        self.server.expect_request(path).respond_with_handler(logged)

    def paths(self, prefix: str = "") -> list[str]:
        return [h.path for h in self.hits if h.path.startswith(prefix)]


def seed_page(title: str, body: str, lang: str = "ar") -> bytes:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n") if p.strip())
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body><nav><a href='/'>الرئيسية</a></nav><article><h1>{html.escape(title)}</h1>"
        f"{paragraphs}</article><footer>جميع الحقوق محفوظة</footer></body></html>"
    ).encode()


def seed_articles() -> list[tuple[str, str, str, datetime]]:
    """(slug, title, body, published) of each seed."""
    manifest = parse_manifest((SEEDS / "manifest.csv").read_text(encoding="utf-8"))
    out = []
    for name, meta in sorted(manifest.items()):
        text = (SEEDS / name).read_text(encoding="utf-8")
        title, _, body = text.partition("\n")
        out.append((Path(name).stem, title.strip(), body, meta.published))
    return out


def rss(items: list[tuple[str, str, str, datetime | None]], title: str = "أخبار الاختبار") -> bytes:
    """RSS 2.0 with (guid, link, title, published) items."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>{html.escape(title)}</title><link>http://127.0.0.1/</link><language>ar</language>",
    ]
    for guid, link, item_title, published in items:
        date = f"<pubDate>{format_datetime(published)}</pubDate>" if published else ""
        parts.append(
            f"<item><title>{html.escape(item_title)}</title><link>{html.escape(link)}</link>"
            f'<guid isPermaLink="false">{html.escape(guid)}</guid>{date}'
            f"<description>{html.escape(item_title)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def retarget(feed: bytes, base: str) -> bytes:
    """A real feed with every absolute link moved onto this server, under
    /real/<original host>/..., so its pages are served here."""
    return re.sub(rb"https?://([A-Za-z0-9.-]+)/", lambda m: f"{base}/real/".encode() + m.group(1) + b"/", feed)


def real_page(request: Request) -> Response:
    page = PAGES[zlib.crc32(request.path.encode()) % len(PAGES)]
    return Response(page.read_bytes(), content_type="text/html; charset=utf-8")


GZIP_BOMB = gzip.compress(b"\0" * 40_000_000, compresslevel=9)

ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "lolololololololololol">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<rss version="2.0"><channel><title>&d;</title>
<item><title>&d;</title><link>http://127.0.0.1/never</link></item></channel></rss>"""
