"""Feeds remember across runs, against a real HTTP server on 127.0.0.1: a
second `--once --append` run sends If-None-Match / If-Modified-Since from
OUTPUT/_state/feeds/state.json, fetches no page twice and adds only the new
entries; a run killed mid-way (SIGKILL while a page is slow to come) leaves
the output as it was, and the next run goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug import Request, Response

from pipeline.run import run
from tests.conftest import ROOT, read_table
from tests.feedsite import Site, rss, seed_articles, seed_page
from tests.test_cli_safety import snapshot
from transforms.core.feeds import feed_state_json, parse_feed_state

FLAGS = ("--allow_networks", "127.0.0.1/32", "--requests_per_host", "20", "--fetch_timeout", "30",
         "--fetch_backoff_seconds", "0.1")  # fmt: skip
STAMP = "Sat, 21 Nov 2026 10:00:00 GMT"


def _serve(site: Site, n: int = 4):
    """a0..a<n-1>.html, and a feed whose listing the test changes:
    ``listing["items"]`` and its ETag; a request carrying the current ETag
    gets a 304."""
    now = datetime.now(UTC).replace(microsecond=0)
    seeds = seed_articles()
    items = [(f"g{k}", f"{site.base}/a{k}.html", seeds[k][1], now - timedelta(minutes=5)) for k in range(n)]
    listing = {"items": items[:2], "etag": '"v1"'}

    def feed(request: Request) -> Response:
        if request.headers.get("If-None-Match") == listing["etag"]:
            return Response(status=304)
        return Response(rss(listing["items"]), content_type="application/rss+xml",
                        headers={"ETag": listing["etag"], "Last-Modified": STAMP})  # fmt: skip

    site.route("/robots.txt", lambda r: Response("", status=404))
    site.route("/feed.xml", feed)
    for k in range(n):
        _, title, body, _ = seeds[k]
        page = seed_page(title, body)
        site.route(f"/a{k}.html", lambda r, p=page: Response(p, content_type="text/html; charset=utf-8"))
    return items, listing


def _feeds_file(tmp_path, site: Site):
    path = tmp_path / "feeds.txt"
    path.write_text(f"{site.base}/feed.xml\n", encoding="utf-8")
    return path


def _once(feeds, out):
    summary = run(["--feeds", str(feeds), "--once", "--append", "--output", str(out), *FLAGS])
    assert summary.state == "DONE" and summary.balanced
    return summary


def test_a_second_once_run_is_conditional_and_fetches_only_new_entries(site, tmp_path):
    items, listing = _serve(site)
    feeds, out = _feeds_file(tmp_path, site), tmp_path / "out"
    first = _once(feeds, out)
    assert first.articles == 2
    state = json.loads((out / "_state" / "feeds" / "state.json").read_text())
    assert state["validators"] == {f"{site.base}/feed.xml": {"etag": '"v1"', "last_modified": STAMP}}
    assert sorted(state["seen"]) == ["guid:g0", "guid:g1"]
    day1 = {k: v for k, v in snapshot(out).items() if k.endswith(".parquet") and not k.startswith("_state/")}

    # The feed changes: the two old entries and a new one, under a new ETag.
    listing.update(items=items[:3], etag='"v2"')
    second = _once(feeds, out)
    feed_hits = [h for h in site.hits if h.path == "/feed.xml"]
    assert len(feed_hits) == 2
    assert "If-None-Match" not in feed_hits[0].headers
    assert feed_hits[1].headers.get("If-None-Match") == '"v1"'
    assert feed_hits[1].headers.get("If-Modified-Since") == STAMP
    assert sorted(site.paths("/a")) == ["/a0.html", "/a1.html", "/a2.html"], "a page was fetched twice"
    assert (second.articles, second.repeated_entries, second.documents_in) == (1, 2, 1)
    urls = sorted(r["url"] for r in read_table(out).to_pylist())
    assert urls == [f"{site.base}/a{k}.html" for k in range(3)]
    now = snapshot(out)
    # The stories table is rebuilt whole by every run; no table file of day 1 changes.
    changed = [n for n, digest in day1.items() if now.get(n) != digest]
    assert changed == ["stories/stories.parquet"], "a day-1 file changed"

    # Unchanged since: a 304, nothing fetched, nothing added but the run's log.
    third = _once(feeds, out)
    assert site.hits[-1].path == "/feed.xml" and site.hits[-1].headers.get("If-None-Match") == '"v2"'
    assert (third.articles, third.documents_in) == (0, 0)
    assert len(site.paths("/a")) == 3
    logs = sorted((out / "_runs").glob("*.json"))
    assert len(logs) == 3 and json.loads(logs[-1].read_text())["files_added"] == []
    state = json.loads((out / "_state" / "feeds" / "state.json").read_text())
    assert sorted(state["seen"]) == ["guid:g0", "guid:g1", "guid:g2"]
    assert state["validators"][f"{site.base}/feed.xml"]["etag"] == '"v2"'


def test_without_append_a_run_starts_with_no_memory(site, tmp_path):
    _serve(site)
    feeds, out = _feeds_file(tmp_path, site), tmp_path / "out"
    _once(feeds, out)
    summary = run(["--feeds", str(feeds), "--once", "--overwrite", "--output", str(out), *FLAGS])
    assert summary.articles == 2  # fetched again: --overwrite starts over
    assert "If-None-Match" not in [h for h in site.hits if h.path == "/feed.xml"][1].headers
    assert (out / "_state" / "feeds" / "state.json").exists()


def _outside_newsbeam(listing: dict[str, str]) -> dict[str, str]:
    """A snapshot without newsbeam's own hidden leftovers (a killed run's
    staging folder and lock): what a reader of the output sees."""
    return {k: v for k, v in listing.items() if not k.startswith(".newsbeam-")}


def test_a_run_killed_mid_way_leaves_the_output_as_it_was(site, tmp_path):
    items, listing = _serve(site)
    feeds, out = _feeds_file(tmp_path, site), tmp_path / "out"
    _once(feeds, out)
    before = snapshot(out)
    arrived, release = threading.Event(), threading.Event()

    def slow(request: Request) -> Response:
        site.log(request)
        arrived.set()
        release.wait(20)
        return Response(seed_page("بطيء", "نص " * 100), content_type="text/html; charset=utf-8")

    site.server.expect_request("/slow.html").respond_with_handler(slow)
    listing.update(items=[*items[:3], ("slow", f"{site.base}/slow.html", "بطيء", None)], etag='"v2"')
    child = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", "--feeds", str(feeds), "--once", "--append",
         "--output", str(out), *FLAGS],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert arrived.wait(120), "the run never reached the slow page"
        time.sleep(0.5)  # a2's page fetched and its row on its way, too
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
    after = snapshot(out)
    assert any(k.startswith(".newsbeam-") for k in after), "the run was killed before it staged anything"
    assert _outside_newsbeam(after) == _outside_newsbeam(before)
    # The next run takes the dead run's lock over, and fetches what it had not committed.
    listing.update(items=items[:3])
    summary = _once(feeds, out)
    assert summary.articles == 1 and not any(k.startswith(".newsbeam-") for k in snapshot(out))


def test_the_state_file_round_trips_forgets_expired_entries_and_refuses_other_files():
    now = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    data = feed_state_json({"http://f/1": ('"e"', None), "http://f/2": (None, None)},
                           {"guid:new": now - 86400, "guid:old": now - 8 * 86400}, 7.0, now)  # fmt: skip
    validators, seen = parse_feed_state(data)
    assert validators == {"http://f/1": ('"e"', None)}  # a feed without validators is asked plainly
    assert seen == {"guid:new": now - 86400}
    assert feed_state_json(validators, seen, 7.0, now) == data  # same memory, same bytes
    for bad in (b"[]", b'{"version": 2}', b"\xff"):
        with pytest.raises(ValueError, match="not a feed state file"):
            parse_feed_state(bad)
