"""Feed source: poll RSS/Atom feeds, fetch each new entry's page.

    Ticks (once, or every --poll_seconds)
      -> one element per feed, keyed by the feed's host
      -> FetchFeeds   (state per host: next request slot, robots.txt
                       per origin, ETag/Last-Modified per feed) -> entries
      -> keyed by entry (guid, else normalized link)
      -> SkipSeen     (state per entry, expiring by event-time timer)
      -> keyed by the page's host
      -> FetchPages   (state per host: next request slot, robots.txt per origin)
      -> RawDocument (html, with the feed's metadata) -> Decode

All memory of what was fetched lives in keyed state, never in a process:
any worker may poll any feed, and Dataflow keeps the state across restarts
and updates.  Each host's state is read and written by one key at a time,
so the per-host rate limit holds however many workers run.  Feeds and pages
are paced by separate steps; a host that serves both a feed and its pages
gets the page rate plus one request per feed per poll.

Failures become rejects: stage ``feed`` for a feed (``http_error``,
``timeout``, ``not_a_feed``, ``xml_entities``, ``undecodable``,
``robots_disallowed``, ...), stage ``fetch`` for a page, including an entry
whose link is not http(s) (``unsupported_scheme``) or missing (``no_link``).
One failed feed or page never stops the rest.

An entry listed again (twice in one listing, by another feed, or by a later
poll within ``seen_days``) is the same record: it is not counted as a
document but as ``feed.repeated_entries``.

Memory across runs (:class:`FeedMemory`, a bounded run): the validators and
entries an earlier run left in ``_state/feeds/state.json`` are read by the
workers and given to FetchFeeds and SkipSeen as side inputs, so a second
``--once`` run sends conditional requests and fetches only new entries'
pages; the run writes the merged memory (earlier + this run's, expired
entries left out) into its own state folder, which the commit step moves
into the output.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.periodicsequence import PeriodicImpulse
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from transforms.common import DOCUMENTS_IN, FEED_REPEATED_ENTRIES, KEYED, REJECTS, Rejects, counter
from transforms.core.encoding import charset_param
from transforms.core.feeds import (
    FETCHABLE_SCHEMES,
    ROBOTS_MAX_BYTES,
    FeedEntry,
    FeedError,
    RobotsRules,
    feed_state_json,
    host_of,
    parse_feed,
    parse_feed_state,
    robots_ttl,
    robots_url,
)
from transforms.core.fetch import Fetcher, FetchError, FetchPolicy, Pacer
from transforms.core.records import DocMeta, RawDocument
from transforms.read import DecodeFn

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MAX_LINK_CHARS = 2048
# Failures of the robots.txt request that are about the host, not the file.
HOST_UNUSABLE = frozenset({"forbidden_address", "bad_scheme", "bad_url", "dns_error"})


# The feeds' folder under a run's state folder, and its one file.
FEED_STATE = "feeds"
FEED_STATE_FILE = "state.json"
VALIDATORS_OUT = "validators"
SEEN_OUT = "seen"


@dataclass(frozen=True)
class FeedSettings:
    policy: FetchPolicy
    rate_per_host: float = 1.0
    seen_days: float = 7.0


@dataclass(frozen=True)
class FeedMemory:
    """Where a bounded feed run reads an earlier run's memory (a folder, or
    None for none) and writes its own (``<folder>/state.json``)."""

    read_from: str | None
    write_to: str


class _Polite:
    """What both fetching steps share: pacing and robots.txt from keyed state."""

    SLOT = ReadModifyWriteStateSpec("slot", PickleCoder())
    ROBOTS = ReadModifyWriteStateSpec("robots", PickleCoder())

    def __init__(self, settings: FeedSettings, stage: str) -> None:
        self.settings = settings
        self.stage = stage

    def _setup(self) -> None:
        self._rejects = Rejects(self.stage)
        self._documents_in = counter(DOCUMENTS_IN)
        self._requests = counter(f"{self.stage}.requests")

    def _fetcher(self, host: str, slot_state) -> tuple[Fetcher, Pacer]:
        pacer = Pacer(self.settings.rate_per_host, {host: slot_state.read() or 0.0})

        def pace(h: str) -> None:
            self._requests.inc()
            pacer(h)

        return Fetcher(self.settings.policy, pace=pace), pacer

    def _robots(self, fetcher: Fetcher, url: str, robots_state) -> RobotsRules:
        # State is kept per host (for pacing), rules per origin: RFC 9309
        # gives each scheme and port of a host its own robots.txt.
        where = robots_url(url)
        cached = robots_state.read()
        rules: dict = cached if isinstance(cached, dict) else {}  # older state held one host-wide tuple
        now = time.time()
        if where in rules:
            status, body, fetched = rules[where]
            if now - fetched < robots_ttl(status):
                return RobotsRules(status, body)
        try:
            # A prefix, not a refusal: rules past it are ignored, not all of them.
            response = fetcher.get(where, accept="text/plain", prefix=ROBOTS_MAX_BYTES)
            status, body = response.status, response.body
        except FetchError as exc:
            if exc.reason in HOST_UNUSABLE:
                raise  # the page itself cannot be fetched either: say why
            # Only a 4xx answer says there is no robots.txt.  Anything else
            # (5xx, no answer, a 200 whose body could not be read) leaves
            # the rules unknown, which disallows (RFC 9309 2.3.1.4).
            status = exc.status if exc.status is not None and 400 <= exc.status < 500 else None
            body = b""
        robots_state.write({**rules, where: (status, body, now)})
        return RobotsRules(status, body)

    def _reject(self, source: str, reason: str, detail: str, data: bytes = b"", url: str | None = None):
        self._documents_in.inc()
        return self._rejects.emit(source, reason, detail, data, url)


class FetchFeedsFn(_Polite, beam.DoFn):
    """(host, feed URL) -> FeedEntry of the feed, or a ``feed`` reject."""

    VALIDATORS = ReadModifyWriteStateSpec("validators", PickleCoder())

    def __init__(self, settings: FeedSettings, remember: bool = False) -> None:
        beam.DoFn.__init__(self)
        _Polite.__init__(self, settings, "feed")
        self.remember = remember  # emit each 200's validators on VALIDATORS_OUT

    def setup(self) -> None:
        self._setup()
        self._not_modified = counter("feed.not_modified")
        self._entries = counter("feed.entries")
        self._repeated = counter(FEED_REPEATED_ENTRIES)

    def process(
        self,
        element: tuple[str, str],
        slot=beam.DoFn.StateParam(_Polite.SLOT),
        robots=beam.DoFn.StateParam(_Polite.ROBOTS),
        validators=beam.DoFn.StateParam(VALIDATORS),
        prior=None,
    ) -> Iterator:
        host, url = element
        fetcher, pacer = self._fetcher(host, slot)
        try:
            yield from self._poll(fetcher, url, robots, validators, prior or {})
        finally:
            slot.write(pacer.slots.get(host, 0.0))

    def _poll(self, fetcher: Fetcher, url: str, robots, validators, prior: dict) -> Iterator:
        known = dict(validators.read() or {})
        # This run's own answer first, else what an earlier run was told.
        etag, modified = known.get(url) or prior.get(url) or (None, None)
        try:
            if not self._robots(fetcher, url, robots).allows(url):
                yield self._reject(url, "robots_disallowed", "robots.txt disallows this feed", url=url)
                return
            response = fetcher.get(url, etag=etag, last_modified=modified, accept=FEED_ACCEPT)
        except FetchError as exc:
            yield self._reject(url, exc.reason, exc.detail, url=url)
            return
        if response.not_modified:
            self._not_modified.inc()
            return
        try:
            feed = parse_feed(response.body, response.url, response.content_type)
        except FeedError as exc:
            yield self._reject(url, exc.reason, exc.detail, response.body, url)
            return
        if response.etag or response.last_modified:
            known[url] = (response.etag, response.last_modified)
            validators.write(known)
        if self.remember:  # the next run's validators (none: it asks unconditionally)
            yield beam.pvalue.TaggedOutput(VALIDATORS_OUT, (url, (response.etag, response.last_modified)))
        self._entries.inc(len(feed.entries))
        self._repeated.inc(feed.repeated)
        yield from feed.entries


class SkipSeenFn(beam.DoFn):
    """(entry key, FeedEntry) -> the entry, unless seen in the last
    ``seen_days`` (then it is counted as a repeated entry).  Each sighting
    pushes the expiry back, so an entry stays known for as long as its feed
    keeps listing it, and some days more."""

    SEEN = ReadModifyWriteStateSpec("seen", PickleCoder())
    EXPIRY = TimerSpec("expiry", TimeDomain.WATERMARK)

    def __init__(self, seen_days: float, remember: bool = False) -> None:
        self.seen_days = seen_days
        self.remember = remember  # emit each sighting (key, seconds) on SEEN_OUT

    def setup(self) -> None:
        self._new = counter("feed.entries_new")
        self._seen_before = counter(FEED_REPEATED_ENTRIES)

    def process(
        self,
        element: tuple[str, FeedEntry],
        ts=beam.DoFn.TimestampParam,
        seen=beam.DoFn.StateParam(SEEN),
        expiry=beam.DoFn.TimerParam(EXPIRY),
        prior=None,
    ) -> Iterator[FeedEntry]:
        key, entry = element
        expiry.set(Timestamp(micros=ts.micros // 1000 * 1000) + round(self.seen_days * 86400))
        at = ts.micros / 1e6
        if self.remember:
            yield beam.pvalue.TaggedOutput(SEEN_OUT, (key, at))
        earlier = (prior or {}).get(key)  # an earlier run's last sighting
        if seen.read() or (earlier is not None and at - earlier <= self.seen_days * 86400):
            self._seen_before.inc()
            return
        seen.write(True)
        self._new.inc()
        yield entry

    @on_timer(EXPIRY)
    def forget(self, seen=beam.DoFn.StateParam(SEEN)) -> None:
        seen.clear()


class FetchPagesFn(_Polite, beam.DoFn):
    """(host, FeedEntry) -> RawDocument of the entry's page, or a ``fetch`` reject."""

    def __init__(self, settings: FeedSettings) -> None:
        beam.DoFn.__init__(self)
        _Polite.__init__(self, settings, "fetch")

    def setup(self) -> None:
        self._setup()

    def process(
        self,
        element: tuple[str, FeedEntry],
        slot=beam.DoFn.StateParam(_Polite.SLOT),
        robots=beam.DoFn.StateParam(_Polite.ROBOTS),
    ) -> Iterator:
        host, entry = element
        fetcher, pacer = self._fetcher(host, slot)
        try:
            yield from self._fetch(fetcher, entry, robots)
        finally:
            slot.write(pacer.slots.get(host, 0.0))

    def _fetch(self, fetcher: Fetcher, entry: FeedEntry, robots) -> Iterator:
        if not entry.link:
            detail = f"an entry of {entry.feed_url} has no link (title {entry.title!r})"
            yield self._reject(f"{entry.feed_url}#{entry.key}", "no_link", detail)
            return
        scheme = urlsplit(entry.link).scheme.lower()
        if scheme not in FETCHABLE_SCHEMES:
            # A data: URL can be the whole page: the row keeps its start.
            link = entry.link[:MAX_LINK_CHARS]
            detail = f"the entry's link is {scheme or 'without scheme'}:, only http(s) is fetched ({entry.feed_url})"
            yield self._reject(link, "unsupported_scheme", detail, url=link)
            return
        try:
            if not self._robots(fetcher, entry.link, robots).allows(entry.link):
                yield self._reject(entry.link, "robots_disallowed", "robots.txt disallows this page", url=entry.link)
                return
            response = fetcher.get(entry.link, accept=PAGE_ACCEPT)
        except FetchError as exc:
            yield self._reject(entry.link, exc.reason, exc.detail, url=entry.link)
            return
        if not response.body.strip():
            yield self._reject(entry.link, "empty", "the page has no body", url=entry.link)
            return
        self._documents_in.inc()
        meta = DocMeta(
            url=entry.link,
            outlet=entry.outlet,
            title=entry.title,
            published=entry.published,
            lang=entry.lang,
            summary=entry.summary,
        )
        charset = charset_param(response.content_type)
        yield RawDocument(source_uri=entry.link, kind="html", data=response.body, meta=meta, charset=charset)


class PollScheduleFn(beam.DoFn):
    """Poll number k -> every feed URL, no earlier than k * interval after
    the first poll.  A bounded run's clock: PeriodicImpulse makes its output
    unbounded, and a bounded (batch) run cannot group unbounded data."""

    def __init__(self, feeds: list[str], interval: float) -> None:
        self.feeds = feeds
        self.interval = interval

    def setup(self) -> None:
        self._start: float | None = None

    def process(self, k: int) -> Iterator[TimestampedValue]:
        now = time.time()
        if self._start is None:
            self._start = now
        wait = self._start + k * self.interval - now
        if wait > 0:
            time.sleep(wait)
        polled_at = time.time()  # the arrival of all this poll brings
        for url in self.feeds:
            yield TimestampedValue(url, polled_at)


def read_feed_state(folder: str) -> Iterator[tuple[tuple[str, str], object]]:
    """An earlier run's feed memory as records: (("v", feed URL), (etag,
    last_modified)) and (("s", entry key), last sighting in seconds).  No
    file (the earlier runs read no feed) is no memory."""
    path = FileSystems.join(folder, FEED_STATE_FILE)
    if not FileSystems.exists(path):
        return
    with FileSystems.open(path) as fh:
        validators, seen = parse_feed_state(fh.read())
    for url, pair in validators.items():
        yield ("v", url), pair
    for key, at in seen.items():
        yield ("s", key), at


def _records_of(record: tuple[tuple[str, str], object], kind: str) -> Iterator[tuple[str, object]]:
    (which, key), value = record
    if which == kind:
        yield key, value


def _ranked(record: tuple[tuple[str, str], object], rank: int, ts=beam.DoFn.TimestampParam):
    """(key, (rank, when, value)): an earlier run's records rank 0, this
    run's 1, ordered by their poll's time."""
    key, value = record
    return key, (rank, ts.micros, value)


def _latest(values) -> tuple[int, int, object]:
    """A feed's validators, an entry's sighting: this run's over an earlier
    run's, the latest poll's over earlier ones."""
    return max(values, key=lambda v: (v[0], v[1]), default=(0, 0, None))


def write_feed_state(records: list, folder: str, seen_days: float) -> str:
    """Write the merged memory into ``<folder>/state.json``; returns its path."""
    validators = {key: value for (kind, key), (_, _, value) in records if kind == "v"}
    seen = {key: value for (kind, key), (_, _, value) in records if kind == "s"}
    path = FileSystems.join(folder, FEED_STATE_FILE)
    try:
        FileSystems.mkdirs(folder)
    except OSError:
        pass  # already there (object stores have no folders)
    with FileSystems.create(path) as fh:
        fh.write(feed_state_json(validators, seen, seen_days, time.time()))
    return path


def _by_host(url: str) -> tuple[str, str]:
    return host_of(url), url


def _entry_by_key(entry: FeedEntry) -> tuple[str, FeedEntry]:
    return entry.key, entry


def _entry_by_host(entry: FeedEntry) -> tuple[str, FeedEntry]:
    return host_of(entry.link), entry


class ReadFeeds(beam.PTransform):
    """Feed URLs -> {'documents': DecodedDocument, 'rejects': Reject}.

    Feeds are polled every ``poll_seconds``: ``polls`` times (1 is a plain
    batch read), or until the job is stopped when ``polls`` is None.
    """

    def __init__(self, feeds: list[str], settings: FeedSettings, *, poll_seconds: float = 300.0,
                 polls: int | None = 1, memory: FeedMemory | None = None) -> None:  # fmt: skip
        super().__init__()
        self.feeds = list(feeds)
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.polls = polls
        self.memory = memory
        if memory is not None and polls is None:
            raise ValueError("feed memory is written at the end of a bounded run: an endless poll keeps Beam state")

    def expand(self, pbegin):
        feeds = self.feeds
        if self.polls is None:
            urls = (
                pbegin
                | "Ticks" >> PeriodicImpulse(fire_interval=self.poll_seconds)
                | "Feeds" >> beam.FlatMap(lambda _tick: feeds)
            )
        else:
            urls = (
                pbegin
                | "Polls" >> beam.Create(range(self.polls))
                | "Feeds" >> beam.ParDo(PollScheduleFn(feeds, self.poll_seconds))
            )
        memory = self.memory
        fetch_feeds = beam.ParDo(FetchFeedsFn(self.settings))
        skip_seen = beam.ParDo(SkipSeenFn(self.settings.seen_days))
        if memory is not None:
            prior = (
                pbegin
                | "PriorFeedState" >> beam.Create([memory.read_from] if memory.read_from else [])
                | "ReadFeedState" >> beam.FlatMap(read_feed_state)
            )
            prior_validators = prior | "PriorValidators" >> beam.FlatMap(_records_of, "v")
            prior_seen = prior | "PriorSeen" >> beam.FlatMap(_records_of, "s")
            fetch_feeds = beam.ParDo(
                FetchFeedsFn(self.settings, remember=True), prior=beam.pvalue.AsDict(prior_validators)
            )
            skip_seen = beam.ParDo(
                SkipSeenFn(self.settings.seen_days, remember=True), prior=beam.pvalue.AsDict(prior_seen)
            )
        feed_tags = (REJECTS, VALIDATORS_OUT) if memory is not None else (REJECTS,)
        polled = (
            urls
            | "ByFeedHost" >> beam.Map(_by_host).with_output_types(KEYED)
            | "FetchFeeds" >> fetch_feeds.with_input_types(KEYED).with_outputs(*feed_tags, main="entries")
        )
        unseen = (
            polled.entries
            | "ByEntry" >> beam.Map(_entry_by_key).with_output_types(KEYED)
            | "SkipSeen" >> skip_seen.with_input_types(KEYED).with_outputs(SEEN_OUT, main="entries")
        )
        if memory is not None:
            _ = (
                (
                    prior | "PriorRecords" >> beam.Map(_ranked, 0),
                    polled[VALIDATORS_OUT]
                    | "NewValidators" >> beam.Map(lambda kv: (("v", kv[0]), kv[1]))
                    | "RankValidators" >> beam.Map(_ranked, 1),
                    unseen[SEEN_OUT]
                    | "NewSightings" >> beam.Map(lambda kv: (("s", kv[0]), kv[1]))
                    | "RankSightings" >> beam.Map(_ranked, 1),
                )
                | "AllFeedState" >> beam.Flatten()
                | "LatestPerKey" >> beam.CombinePerKey(_latest)
                | "FeedStateList" >> beam.combiners.ToList()
                | "WriteFeedState" >> beam.Map(write_feed_state, memory.write_to, self.settings.seen_days)
            )
        pages = (
            unseen.entries
            | "ByPageHost" >> beam.Map(_entry_by_host).with_output_types(KEYED)
            | "FetchPages"
            >> beam.ParDo(FetchPagesFn(self.settings)).with_input_types(KEYED).with_outputs(REJECTS, main="raw")
        )
        decoded = pages.raw | "Decode" >> beam.ParDo(DecodeFn()).with_outputs(REJECTS, main="documents")
        rejects = (polled[REJECTS], pages[REJECTS], decoded[REJECTS]) | "FeedRejects" >> beam.Flatten()
        return {"documents": decoded.documents, "rejects": rejects}
