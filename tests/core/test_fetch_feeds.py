"""The fetcher's guards, feed lists, feed parsing over real feed files, robots
rules, and event-time choice; plain pytest, a real HTTP server where HTTP is
involved."""

from __future__ import annotations

import gzip
import tarfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from werkzeug import Response

from tests.conftest import DATA
from transforms.core.eventtime import choose_event_time, is_too_late
from transforms.core.feeds import FeedError, RobotsRules, parse_feed, parse_feed_list
from transforms.core.fetch import (
    Fetcher,
    FetchError,
    FetchPolicy,
    Pacer,
    address_refusal,
    parse_networks,
    retry_after_seconds,
)

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
LOCAL = parse_networks("127.0.0.1/32")


@pytest.mark.parametrize(
    "ip,refused",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("fd00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_internal_addresses_are_refused(ip, refused):
    reason = address_refusal(ip, ())
    assert (reason is None) if refused is None else (refused in reason)


def test_allowed_networks_open_only_what_they_list():
    assert address_refusal("127.0.0.1", LOCAL) is None
    assert "loopback" in address_refusal("127.0.0.2", LOCAL)
    with pytest.raises(ValueError):
        parse_networks("127.0.0.1/33")


def test_a_name_that_resolves_inside_is_refused_before_connecting():
    """DNS answers are checked: every address of the name, not the name."""
    fetcher = Fetcher(FetchPolicy(), resolver=lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(FetchError) as err:
        fetcher.get("http://news.example/article")
    assert err.value.reason == "forbidden_address" and "10.0.0.7" in err.value.detail


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "gopher://x/", "javascript:alert(1)"])
def test_only_http_and_https_are_fetched(url):
    with pytest.raises(FetchError) as err:
        Fetcher(FetchPolicy()).get(url)
    assert err.value.reason == "bad_scheme"


def test_retry_after_as_seconds_or_date():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_pacer_spaces_requests_per_host():
    clock = [100.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        clock[0] += s

    pacer = Pacer(4.0, {"a": 100.1}, clock=lambda: clock[0], sleep=sleep)
    pacer("a")  # its slot from state is 0.1 s ahead
    pacer("a")
    pacer("b")  # another host does not wait
    assert waits == pytest.approx([0.1, 0.25])
    assert pacer.slots == pytest.approx({"a": 100.6, "b": 100.6})


def _fetcher(**policy) -> Fetcher:
    return Fetcher(FetchPolicy(allow_networks=LOCAL, backoff_seconds=0.01, **policy))


def test_gzip_and_deflate_bodies_are_decoded_and_capped(server):
    page = "صفحة ".encode() * 1000
    server.expect_request("/gz").respond_with_response(
        Response(gzip.compress(page), headers={"Content-Encoding": "gzip"})
    )
    server.expect_request("/deflate").respond_with_response(
        Response(zlib.compress(page), headers={"Content-Encoding": "deflate"})
    )
    server.expect_request("/bomb").respond_with_response(
        Response(gzip.compress(b"\0" * 5_000_000), headers={"Content-Encoding": "gzip"})
    )
    server.expect_request("/big").respond_with_response(Response(b"x" * 20_000))
    fetcher = _fetcher(max_bytes=len(page) + 10)
    for path in ("/gz", "/deflate"):
        assert fetcher.get(server.url_for(path)).body == page
    for path in ("/bomb", "/big"):
        with pytest.raises(FetchError) as err:
            fetcher.get(server.url_for(path))
        assert err.value.reason == "too_large"


def test_redirects_are_followed_to_a_limit(server):
    for n in range(4):
        server.expect_request(f"/r{n}").respond_with_response(
            Response("", status=302, headers={"Location": f"/r{n + 1}"})
        )
    server.expect_request("/r4").respond_with_data("done")
    assert _fetcher(max_redirects=4).get(server.url_for("/r0")).body == b"done"
    with pytest.raises(FetchError) as err:
        _fetcher(max_redirects=3).get(server.url_for("/r0"))
    assert err.value.reason == "too_many_redirects"


def test_retries_are_bounded(server):
    server.expect_request("/down").respond_with_response(Response("", status=503))
    with pytest.raises(FetchError) as err:
        _fetcher(max_retries=2).get(server.url_for("/down"))
    assert err.value.status == 503 and "3 attempts" in err.value.detail
    assert len([r for r, _ in server.log if r.path == "/down"]) == 3


def test_a_retry_after_beyond_what_we_wait_is_an_error(server):
    server.expect_request("/later").respond_with_response(Response("", status=429, headers={"Retry-After": "3600"}))
    waits: list[float] = []
    fetcher = Fetcher(FetchPolicy(allow_networks=LOCAL), sleep=waits.append)
    with pytest.raises(FetchError) as err:
        fetcher.get(server.url_for("/later"))
    assert err.value.status == 429 and "Retry-After" in err.value.detail
    assert waits == [], "it waited instead of giving up"


def test_feed_lists_plain_and_opml(tmp_path):
    assert parse_feed_list(
        "# mine\nhttps://a.example/rss\n\nhttp://b.example/atom.xml  # b\nhttps://a.example/rss\n"
    ) == [
        "https://a.example/rss",
        "http://b.example/atom.xml",
    ]
    opml = (
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="news">'
        '<outline type="rss" xmlUrl="https://a.example/rss"/><outline text="no feed"/>'
        '<outline type="rss" xmlUrl="https://c.example/feed"/></outline></body></opml>'
    )
    assert parse_feed_list(opml) == ["https://a.example/rss", "https://c.example/feed"]
    for bad in ("file:///etc/feeds\n", "# nothing\n", "<opml><body>"):
        with pytest.raises(ValueError):
            parse_feed_list(bad)


def test_entity_declarations_and_non_feeds_are_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><rss><channel><title>&b;</title></channel></rss>'
    with pytest.raises(FeedError) as err:
        parse_feed(bomb, "http://x/feed")
    assert err.value.reason == "xml_entities"
    with pytest.raises(FeedError) as err:
        parse_feed(b"<html><body><p>not a feed</p></body></html>", "http://x/feed")
    assert err.value.reason == "not_a_feed"


def test_entries_are_keyed_by_guid_else_normalized_link():
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><guid>g-1</guid><link>https://n.example/a</link><pubDate>Mon, 09 Nov 2020 12:00:00 GMT</pubDate></item>"
        b"<item><link>https://N.example/b?utm_source=rss#top</link></item>"
        b"<item><link>mailto:someone@example.org</link></item></channel></rss>"
    )
    feed = parse_feed(rss, "http://n.example/rss")
    # feedparser resolves a permalink guid against the feed's URL; still stable.
    # A link that cannot be fetched stays an entry: the fetching step rejects it.
    assert [e.key for e in feed.entries] == [
        "guid:http://n.example/g-1",
        "link:https://n.example/b",
        "link:mailto:someone@example.org",
    ]
    assert feed.entries[0].published == datetime(2020, 11, 9, 12, tzinfo=UTC) and feed.repeated == 0


@pytest.fixture(scope="module")
def feed_files(tmp_path_factory) -> list[Path]:
    """tests/data/feeds, plus both feed archives of ../shared/corpora when
    they are there (unpacked into a temporary folder)."""
    files = sorted((DATA / "feeds").iterdir())
    for archive in ("feeds-feedparser", "feeds-realworld"):
        tar = CORPORA / f"{archive}.tar.xz"
        if not tar.exists():
            continue
        dest = tmp_path_factory.mktemp(archive)
        with tarfile.open(tar) as fh:
            fh.extractall(dest, filter="data")
        files += sorted(p for p in dest.rglob("*") if p.suffix in (".xml", ".rss", ".atom", ".rdf") and p.is_file())
    return files


def test_real_feed_files_parse_or_are_refused_without_crashing(feed_files):
    """RSS 0.9x/1.0/2.0, Atom, broken feeds, UTF-16/32, BOMs, KOI8-R, Big5 and
    bogus declarations: every file parses or is a FeedError, never a crash.
    Uses ../shared/corpora when present, tests/data/feeds always."""
    files = feed_files
    parsed = entries = refused = 0
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), f"http://feeds.example/{path.name}")
        except FeedError:
            refused += 1
            continue
        parsed += 1
        entries += len(feed.entries)
    local = len(list((DATA / "feeds").iterdir()))
    assert parsed >= local and entries >= 25
    if len(files) > 1000:  # the corpora are there
        assert parsed > 0.8 * len(files), (parsed, refused, len(files))


def test_robots_rules_follow_rfc_9309():
    rules = RobotsRules(200, b"User-agent: *\nDisallow: /private/\n\nUser-agent: newsbeam\nDisallow: /no-bots/\n")
    assert rules.allows("http://h/news/1") and not rules.allows("http://h/no-bots/1")
    assert RobotsRules(404).allows("http://h/anything")  # unavailable: all allowed
    assert not RobotsRules(503).allows("http://h/anything")  # unreachable: nothing allowed
    assert not RobotsRules(None).allows("http://h/anything")


def test_event_time_prefers_published_and_distrusts_the_future():
    t = datetime(2020, 11, 9, 12, tzinfo=UTC)
    ingest = datetime(2026, 1, 1, tzinfo=UTC)
    assert choose_event_time(t, None, ingest).source == "published"
    assert choose_event_time(None, t, ingest).source == "file_mtime"
    assert choose_event_time(None, None, ingest).at == ingest
    future = ingest + timedelta(days=400)
    chosen = choose_event_time(future, None, ingest, max_future=timedelta(days=1))
    assert chosen.at == ingest and chosen.source == "ingested"
    # Batch too: a claim a day past the ingest time, or before 1995, gives way
    # to the file's time, and a file's clock is held to the same rule.
    assert choose_event_time(future, t, ingest).source == "file_mtime"
    assert choose_event_time(None, datetime(2099, 1, 1, tzinfo=UTC), ingest).source == "ingested"
    assert choose_event_time(None, datetime(1960, 1, 1, tzinfo=UTC), ingest).source == "ingested"
    assert choose_event_time(ingest + timedelta(hours=23), None, ingest).source == "published"
    assert is_too_late(t, t + timedelta(hours=25), timedelta(days=1))
    assert not is_too_late(t, t + timedelta(hours=23), timedelta(days=1))
