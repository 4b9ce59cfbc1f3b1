"""The feed source end to end against a real HTTP server on 127.0.0.1:
articles land in Parquet; retries, Retry-After, robots.txt, timeouts,
private addresses, gzip and entity bombs and non-feeds are handled; the
per-host rate limit holds; a second poll sends conditional headers, gets a
304 and fetches nothing again."""

from __future__ import annotations

import itertools
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from werkzeug import Request, Response

from pipeline.run import run
from tests.conftest import PINNED_INGEST, read_table
from tests.feedsite import ENTITY_BOMB, FEEDS, GZIP_BOMB, Site, real_page, retarget, rss, seed_articles, seed_page

RATE = 5.0  # requests per second per host in these tests
REAL_FEEDS = ("rss_2.0_bbc.xml", "rss_1.0_iso8859.xml", "heraldsun.rss")


def _html(body: bytes, status: int = 200, **headers: str) -> Response:
    return Response(body, status=status, content_type="text/html; charset=utf-8", headers=headers)


def _flaky(first: Response, then: Response):
    calls = []

    def handler(request: Request) -> Response:
        calls.append(1)
        return first if len(calls) == 1 else then

    return handler


def _serve_everything(site: Site) -> tuple[Path, dict[str, str]]:
    """Routes for one of every case; returns the feed list and the page
    URL of each seed slug."""
    seeds = seed_articles()
    pages = {slug: seed_page(title, body) for slug, title, body, _ in seeds}
    slugs = [slug for slug, *_ in seeds]
    site.route("/robots.txt", lambda r: Response("User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    # Seeds 0 and 1 need a retry: a 500, and a 429 asking for one second.
    site.route("/flaky.html", _flaky(_html(b"oops", 500), _html(pages[slugs[0]])))
    site.route("/busy.html", _flaky(_html(b"slow down", 429, **{"Retry-After": "1"}), _html(pages[slugs[1]])))
    for slug in slugs[2:]:
        site.route(f"/articles/{slug}.html", lambda r, s=slug: _html(pages[s]))
    site.route("/moved.html", lambda r: Response("", status=302, headers={"Location": f"/articles/{slugs[2]}.html"}))
    site.route("/sneaky.html", lambda r: Response("", status=302, headers={"Location": "http://169.254.169.254/"}))
    site.route("/private/secret.html", lambda r: _html(pages[slugs[3]]))
    site.route("/slow.html", lambda r: (time.sleep(3), _html(pages[slugs[4]]))[1])
    site.route("/bomb.html", lambda r: _html(GZIP_BOMB, **{"Content-Encoding": "gzip"}))
    site.route("/notfeed.xml", lambda r: _html(pages[slugs[0]]))
    site.route("/bomb.xml", lambda r: Response(ENTITY_BOMB, content_type="application/rss+xml"))
    site.route("/gone.xml", lambda r: Response("no such feed", status=404))

    base = site.base
    links = {slugs[0]: f"{base}/flaky.html", slugs[1]: f"{base}/busy.html"}
    links.update({slug: f"{base}/articles/{slug}.html" for slug in slugs[2:]})
    items = [(f"seed-{slug}", links[slug], title, published) for slug, title, _, published in seeds]
    items += [
        ("moved", f"{base}/moved.html", "منقول", seeds[2][3] + timedelta(hours=1)),  # a redirect: a copy of seed 2
        ("sneaky", f"{base}/sneaky.html", "تحويل", None),
        ("robots", f"{base}/private/secret.html", "ممنوع", None),
        ("metadata", "http://169.254.169.254/latest/meta-data/", "خادم البيانات", None),
        ("lan", "http://10.20.30.40/story.html", "شبكة داخلية", None),
        ("slow", f"{base}/slow.html", "بطيء", None),
        ("bomb", f"{base}/bomb.html", "قنبلة", None),
        ("script", "javascript:alert(document.cookie)", "نص برمجي", None),  # links nothing can fetch
        ("mail", "mailto:desk@news.example", "بريد", None),
        ("ftp", "ftp://news.example/story.txt", "ملف", None),
        items[0],  # listed twice: counted as repeated, not a second document
    ]
    site.route("/news.xml", lambda r: Response(rss(items), content_type="application/rss+xml"))
    feeds = [f"{base}/news.xml", f"{base}/notfeed.xml", f"{base}/bomb.xml", f"{base}/gone.xml"]
    for name in REAL_FEEDS:
        body = retarget((FEEDS / name).read_bytes(), base)
        site.route(f"/feeds/{name}", lambda r, b=body: Response(b, content_type="application/xml"))
        feeds.append(f"{base}/feeds/{name}")
    site.route(re.compile(r"^/real/.*"), real_page)
    return feeds, links


def _feed_list(tmp_path: Path, feeds: list[str]) -> Path:
    path = tmp_path / "feeds.txt"
    path.write_text("# test feeds\n" + "\n".join(feeds) + "\n", encoding="utf-8")
    return path


FLAGS = (
    "--allow_networks", "127.0.0.1/32",
    "--requests_per_host", str(RATE),
    "--fetch_timeout", "1",
    "--fetch_backoff_seconds", "0.2",
    "--max_bytes", "2000000",
)  # fmt: skip


@pytest.fixture
def once(site, tmp_path):
    feeds, links = _serve_everything(site)
    out = tmp_path / "out"
    summary = run(["--feeds", str(_feed_list(tmp_path, feeds)), "--once", "--output", str(out),
                   "--ingested_at", PINNED_INGEST, *FLAGS])  # fmt: skip
    return summary, out, links


def test_feed_pages_land_in_parquet_with_feed_metadata(once):
    summary, out, links = once
    assert summary.state == "DONE" and summary.balanced
    # The item listed twice is shown, not counted in as a second document.
    assert summary.repeated_entries == 1 and "1 repeated feed entries skipped" in summary.render(str(out))
    articles = {r["url"]: r for r in read_table(out).to_pylist()}
    seeds = seed_articles()
    for slug, title, _, published in seeds:
        row = articles[links[slug]]
        assert row["published_at"] == published and row["event_time"] == published
        assert row["outlet"] == "أخبار الاختبار" and row["lang"] == "ar"
        assert row["primary_topic"] == "nagorno-karabakh"
        assert row["text"].startswith(title[:10]) or title[:20] in row["text"] or row["title"] == title
    # The redirect to seed 2's page is the same text under another URL: a duplicate.
    copies = read_table(out, "duplicates").to_pylist()
    moved = [r for r in copies if r["url"].endswith("/moved.html")]
    assert len(moved) == 1 and moved[0]["duplicate_of"] == articles[links[seeds[2][0]]]["doc_id"]
    # Real feeds (RSS 1.0 and 2.0, ISO-8859-1) led to real pages on this server.
    real = [u for u in articles if "/real/" in u] + [r["url"] for r in copies if "/real/" in r["url"]]
    assert len(real) >= 3


def test_every_bad_feed_and_page_is_a_reject_with_its_reason(once, site):
    summary, out, _ = once
    rejects = {
        (r["stage"], r["reason"], r["source_uri"].replace(site.base, ""))
        for r in read_table(out, "rejects").to_pylist()
    }
    assert rejects == {
        ("feed", "not_a_feed", "/notfeed.xml"),
        ("feed", "xml_entities", "/bomb.xml"),
        ("feed", "http_error", "/gone.xml"),
        ("fetch", "robots_disallowed", "/private/secret.html"),
        ("fetch", "forbidden_address", "http://169.254.169.254/latest/meta-data/"),
        ("fetch", "forbidden_address", "http://10.20.30.40/story.html"),
        ("fetch", "forbidden_address", "/sneaky.html"),
        ("fetch", "timeout", "/slow.html"),
        ("fetch", "too_large", "/bomb.html"),
        ("fetch", "unsupported_scheme", "javascript:alert(document.cookie)"),
        ("fetch", "unsupported_scheme", "mailto:desk@news.example"),
        ("fetch", "unsupported_scheme", "ftp://news.example/story.txt"),
    }
    assert summary.rejects == len(rejects)
    assert "/private/secret.html" not in site.paths()


def test_retries_honour_retry_after_and_the_rate_limit_holds(once, site):
    flaky = [h for h in site.hits if h.path == "/flaky.html"]
    busy = [h for h in site.hits if h.path == "/busy.html"]
    assert len(flaky) == 2 and len(busy) == 2
    assert busy[1].at - busy[0].at >= 1.0, "Retry-After: 1 was not waited out"
    assert all("newsbeam" in h.headers.get("User-Agent", "") for h in site.hits)
    feeds = [h.at for h in site.hits if h.path.endswith((".xml", ".rss"))]
    pages = [h.at for h in site.hits if not h.path.endswith((".xml", ".rss")) and h.path != "/robots.txt"]
    # The pacer spaces the requests it sends by 1 / RATE exactly; the server
    # notes each when its handler runs, which on a loaded host can lag by
    # some milliseconds, shortening the gap after it.  Twice the rate would
    # put every gap at half the interval.
    for times in (feeds, pages):
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(gaps) >= 3 and min(gaps) >= 0.75 / RATE, f"requests {min(gaps):.3f} s apart"


@pytest.mark.parametrize("mode", ["batch", "streaming"])
def test_later_polls_are_conditional_and_fetch_only_new_entries(site, tmp_path, mode):
    """Three polls a second apart.  The first fetches both pages.  The
    second sends If-None-Match and If-Modified-Since and gets a 304.  For
    the third the feed has changed: a 200 listing the two old entries and a
    new one, of which only the new page is fetched.  Validators and seen
    entries both live in keyed state.  In streaming, an article arrives
    with the poll that found it."""
    now = datetime.now(UTC).replace(microsecond=0)
    seeds = seed_articles()[:3]
    items = [(f"g{n}", f"{site.base}/a{n}.html", title, now - timedelta(minutes=5)) for n, (_, title, _, _) in
             enumerate(seeds)]  # fmt: skip
    stamp = "Sat, 21 Nov 2026 10:00:00 GMT"
    conditional = []

    def feed_handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            conditional.append(dict(request.headers))
            if len(conditional) == 1:
                return Response(status=304)
            return Response(rss(items), content_type="application/rss+xml", headers={"ETag": '"v2"'})
        return Response(rss(items[:2]), content_type="application/rss+xml",
                        headers={"ETag": '"v1"', "Last-Modified": stamp})  # fmt: skip

    site.route("/robots.txt", lambda r: Response("", status=404))
    site.route("/feed.xml", feed_handler)
    for n, (_, title, body, _) in enumerate(seeds):
        site.route(f"/a{n}.html", lambda r, t=title, b=body: _html(seed_page(t, b)))
    out = tmp_path / "out"
    feeds = _feed_list(tmp_path, [f"{site.base}/feed.xml"])
    streaming = ["--streaming"] if mode == "streaming" else []
    summary = run(["--feeds", str(feeds), "--polls", "3", "--poll_seconds", "1", "--output", str(out), *FLAGS,
                   *streaming])  # fmt: skip
    assert summary.state == "DONE" and summary.balanced and summary.articles == 3
    assert len(site.paths("/feed.xml")) == 3 and len(conditional) == 2
    polls = [h.at for h in site.hits if h.path == "/feed.xml"]
    # Polls start --poll_seconds apart; the first one's request comes after its robots.txt.
    assert polls[2] - polls[0] >= 1.5, "polls were not --poll_seconds apart"
    assert conditional[0]["If-Modified-Since"] == stamp
    assert sorted(site.paths("/a")) == ["/a0.html", "/a1.html", "/a2.html"], "a page was fetched twice"
    rows = read_table(out).to_pylist()
    assert sorted(r["url"] for r in rows) == [f"{site.base}/a{n}.html" for n in range(3)]
    if streaming:
        arrived = {r["url"].rsplit("/", 1)[1]: r["ingested_at"] for r in rows}
        assert (arrived["a2.html"] - arrived["a0.html"]).total_seconds() >= 1.5


def test_a_page_is_decoded_by_its_http_charset_before_its_own_meta(site, tmp_path):
    """The server says ISO-8859-6 and the page's meta says windows-1256 (a
    template's leftover): as in a browser, the HTTP charset wins.  Read by
    its meta the page is mojibake (both are Arabic code pages)."""
    brief = ("قالت وزارة الخارجية إن المفاوضات بين الطرفين ستستأنف الأسبوع المقبل في العاصمة، "
             "وإن الوفدين سيبحثان تبادل الأسرى وفتح ممرات إنسانية للمدنيين في المناطق المتضررة من القتال.")  # fmt: skip
    page = f'<html><head><meta charset="windows-1256"><title>مفاوضات</title></head><body><p>{brief}</p></body></html>'
    site.route("/robots.txt", lambda r: Response("", status=404))
    site.route(
        "/brief.html", lambda r: Response(page.encode("iso-8859-6"), content_type="text/html; charset=ISO-8859-6")
    )
    feed = rss([("brief", f"{site.base}/brief.html", "مفاوضات", datetime(2022, 3, 1, 9, tzinfo=UTC))])
    site.route("/news.xml", lambda r: Response(feed, content_type="application/rss+xml"))
    out = tmp_path / "out"
    summary = run(["--feeds", str(_feed_list(tmp_path, [f"{site.base}/news.xml"])), "--once", "--output", str(out),
                   "--ingested_at", PINNED_INGEST, *FLAGS])  # fmt: skip
    assert summary.balanced and summary.documents_in == 1 and summary.rejects == 0
    (row,) = read_table(out).to_pylist()
    assert row["encoding"] == "iso8859-6" and brief in row["text"] and row["lang"] == "ar"
