"""The feed source's accounting and robots.txt handling, as Beam runs it
(ReadFeeds in a TestPipeline against a real HTTP server on 127.0.0.1):
every entry ends as a document or a reject, once, however often it is
listed; an entry listed again is counted, not a document; a robots.txt
larger than --max_bytes is obeyed as far as it is read, and one that cannot
be read disallows."""

from __future__ import annotations

import time
from collections.abc import Iterator

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from werkzeug import Request, Response

from tests.feedsite import rss, seed_articles, seed_page
from transforms.common import DOCUMENTS_IN, FEED_REPEATED_ENTRIES, NAMESPACE
from transforms.core.fetch import FetchPolicy, parse_networks
from transforms.feeds import FeedSettings, ReadFeeds

LOCAL = parse_networks("127.0.0.1/32")
BAD_LINKS = (
    "javascript:alert(document.cookie)",
    "file:///etc/passwd",
    "mailto:desk@news.example",
    "data:text/html;base64,PHA+aGk8L3A+",
    "ftp://news.example/story.txt",
)


def _settings(**policy) -> FeedSettings:
    policy = {"allow_networks": LOCAL, "timeout": 1.0, "backoff_seconds": 0.01, **policy}
    return FeedSettings(FetchPolicy(**policy), rate_per_host=50.0)


def _run(feeds: list[str], settings: FeedSettings, *, polls: int = 1, check=None) -> dict[str, int]:
    """Run ReadFeeds; ``check(outputs)`` adds assertions; returns the counters."""
    p = TestPipeline(runner=FnApiRunner())
    outputs = p | ReadFeeds(feeds, settings, poll_seconds=0.5, polls=polls)
    if check:
        check(outputs)
    result = p.run()
    result.wait_until_finish()
    totals: dict[str, int] = {}
    for c in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        # A name counted by several steps has one result per step.
        totals[c.key.metric.name] = totals.get(c.key.metric.name, 0) + c.committed
    return totals


def _html(body: bytes) -> Response:
    return Response(body, content_type="text/html; charset=utf-8")


def test_every_entry_ends_once_and_a_repeated_one_is_counted(site):
    """Two polls of two feeds.  Feed A lists two pages, one of them twice,
    five links that cannot be fetched and an entry without a link; feed B
    lists a page of A again.  Each bad entry is one reject over both polls;
    every repeat, within a listing, across feeds and across polls, is
    counted and none is a document."""
    seeds = seed_articles()[:2]
    site.route("/robots.txt", lambda r: Response("", status=404))
    for n, (_, title, body, _) in enumerate(seeds):
        site.route(f"/p{n}.html", lambda r, t=title, b=body: _html(seed_page(t, b)))
    base = site.base
    items = [
        ("g0", f"{base}/p0.html", "zero", None),
        ("g0", f"{base}/p0.html", "zero again", None),
        ("g1", f"{base}/p1.html", "one", None),
    ]
    items += [(f"bad{n}", link, f"bad {n}", None) for n, link in enumerate(BAD_LINKS)]
    feed_a = rss(items).replace(b"<link></link>", b"")
    feed_a = feed_a.replace(b"</channel>", b"<item><title>no link at all</title></item></channel>")
    site.route("/a.xml", lambda r: Response(feed_a, content_type="application/rss+xml"))
    site.route("/b.xml", lambda r: Response(rss([("g1", f"{base}/p1.html", "one", None)]),
                                            content_type="application/rss+xml"))  # fmt: skip

    def check(outputs) -> None:
        urls = outputs["documents"] | "Urls" >> beam.Map(lambda d: d.source_uri)
        assert_that(urls, equal_to([f"{base}/p0.html", f"{base}/p1.html"]), label="documents")
        # By scheme: feedparser tidies some links (file:///x becomes file://x).
        rejects = outputs["rejects"] | "Why" >> beam.Map(lambda r: (r.stage, r.reason, r.url and r.url.split(":")[0]))
        expected = [("fetch", "unsupported_scheme", link.split(":")[0]) for link in BAD_LINKS]
        assert_that(rejects, equal_to([*expected, ("fetch", "no_link", None)]), label="rejects")

    counters = _run([f"{base}/a.xml", f"{base}/b.xml"], _settings(), polls=2, check=check)
    # Poll 1: g0 twice in A, g1 in A and B.  Poll 2: all nine of A's
    # distinct entries and B's one again, plus A's own repeat.
    assert counters[FEED_REPEATED_ENTRIES] == 1 + 1 + (1 + 8 + 1)
    assert counters[DOCUMENTS_IN] == 2 + len(BAD_LINKS) + 1
    assert sorted(site.paths("/p")) == ["/p0.html", "/p1.html"]


ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def _big_robots(request: Request) -> Response:
    # The rules, then over half a MiB of comments: larger than --max_bytes.
    return Response(ROBOTS + b"# nothing to see here, just a long robots.txt\n" * 12_000, content_type="text/plain")


def _fetched_and_refused(fetched: str, refused: str):
    """A check of the read outputs: ``fetched`` is the one document, ``refused`` the one robots.txt reject."""

    def check(outputs) -> None:
        urls = outputs["documents"] | "Urls" >> beam.Map(lambda d: d.source_uri)
        assert_that(urls, equal_to([fetched]), label="documents")
        rejects = outputs["rejects"] | "Why" >> beam.Map(lambda r: (r.stage, r.reason, r.url))
        assert_that(rejects, equal_to([("fetch", "robots_disallowed", refused)]), label="r")

    return check


def test_a_robots_txt_over_max_bytes_is_obeyed_as_far_as_it_is_read(site):
    site.route("/robots.txt", _big_robots)
    seeds = seed_articles()[:2]
    site.route("/private/p.html", lambda r: _html(seed_page(seeds[0][1], seeds[0][2])))
    site.route("/open.html", lambda r: _html(seed_page(seeds[1][1], seeds[1][2])))
    items = [("private", f"{site.base}/private/p.html", "p", None), ("open", f"{site.base}/open.html", "o", None)]
    site.route("/feed.xml", lambda r: Response(rss(items), content_type="application/rss+xml"))

    check = _fetched_and_refused(f"{site.base}/open.html", f"{site.base}/private/p.html")
    _run([f"{site.base}/feed.xml"], _settings(max_bytes=100_000), check=check)
    assert "/private/p.html" not in site.paths()


def _corrupt_gzip(request: Request) -> Response:
    return Response(b"this is not gzip at all", headers={"Content-Encoding": "gzip"})


def _dripping(request: Request) -> Response:
    def body() -> Iterator[bytes]:
        yield ROBOTS
        for _ in range(15):
            time.sleep(0.2)
            yield b"# still here\n"

    return Response(body(), content_type="text/plain")


@pytest.mark.parametrize("robots", [_corrupt_gzip, _dripping, lambda r: Response("down", status=503)])
def test_a_robots_txt_that_cannot_be_read_disallows(site, robots):
    """A 200 whose body is corrupt or never ends is no robots.txt to obey:
    the feed is a robots_disallowed reject and is not fetched."""
    site.route("/robots.txt", robots)
    site.route("/feed.xml", lambda r: Response(rss([]), content_type="application/rss+xml"))

    def check(outputs) -> None:
        rejects = outputs["rejects"] | "Why" >> beam.Map(lambda r: (r.stage, r.reason))
        assert_that(rejects, equal_to([("feed", "robots_disallowed")]))

    _run([f"{site.base}/feed.xml"], _settings(timeout=0.3, max_retries=0), check=check)
    assert "/feed.xml" not in site.paths()


def test_each_port_of_a_host_obeys_its_own_robots_txt(site):
    """Two origins on one host (127.0.0.1, two ports) share its pacing but
    not its rules: one disallows /private/, the other allows everything,
    and its /private/ page is fetched."""
    from pytest_httpserver import HTTPServer

    from tests.feedsite import Site

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        other = Site(server)
        seeds = seed_articles()[:2]
        site.route("/robots.txt", lambda r: Response(ROBOTS, content_type="text/plain"))
        other.route("/robots.txt", lambda r: Response("", status=404))
        for n, origin in enumerate((site, other)):
            origin.route("/private/p.html", lambda r, s=seeds[n]: _html(seed_page(s[1], s[2])))
        items = [("a", f"{site.base}/private/p.html", "a", None), ("b", f"{other.base}/private/p.html", "b", None)]
        site.route("/feed.xml", lambda r: Response(rss(items), content_type="application/rss+xml"))

        check = _fetched_and_refused(f"{other.base}/private/p.html", f"{site.base}/private/p.html")
        _run([f"{site.base}/feed.xml"], _settings(), check=check)
        assert "/private/p.html" not in site.paths() and other.paths("/robots.txt") == ["/robots.txt"]
    finally:
        server.clear()
        server.stop()
