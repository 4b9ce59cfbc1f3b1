"""Dedup stage: near-identical wire copy becomes one story.

Articles in; first copies (``story_id`` = own ``doc_id``) and later copies
(``story_id``, ``duplicate_of``, ``similarity``, ``duplicate_kind``) out.
There is no global index: every step is keyed, so it scales out on any
runner.

    Identify (key: URL-derived doc_id) -> same-URL copies ------------------+
      | one doc_id per record from here on                                  |
    KeyByText  ->  Exact (key: normalized-text hash)  -> exact copies ------+
                     | first of each text                                    |
                   Signature (MinHash, once per doc)                        |
                     | one element per LSH band        \\ the article       |
                   CompareInBand (key: band)            |                   |
                     | best match per band              |                   |
                   Decide (key: doc_id) <---------------+                   |
                     | first copies -> articles                             |
                   ResolveHop1..3 (key: the matched doc) <------------------+
                     | copies, with the story of the doc they matched
                     +-> duplicates

Each keyed step exists twice, around the same pure decision functions of
:mod:`transforms.core.dedup`:

* streaming: stateful DoFns.  Elements wait in a bag until the watermark
  passes them, then are decided in ``(event time, doc_id)`` order; state
  (the representatives) expires by event-time timer after the horizon.  An
  element that arrives late is decided at once against the state at hand.
* batch: the same steps after a ``GroupByKey``, each key's elements sorted
  the same way.  The results are identical for data that is not late; the
  batch form exists because the Python SDK harness measures every state
  read and write with ``objsize`` (about a millisecond each here), which
  made the stateful form 15x slower than the rest of the pipeline together.

In streaming each stateful step reads through ``ReshufflePerKey``: on the
local FnApiRunner a stateful step fused behind another step's timer output
never sees its own timers fire (its output is silently lost).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.util import ReshufflePerKey
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from transforms.common import KEYED, StageClock, counter
from transforms.core.dedup import (
    EXACT,
    MICROS,
    NEAR,
    SAME_URL,
    SAME_URL_RULE,
    Fingerprint,
    Identity,
    Match,
    Variant,
    best_match,
    exact_key,
    expire,
    in_order,
    record_id,
    route,
    run_band,
    run_exact,
    run_identity,
)
from transforms.core.minhash import MinHasher, SimilarityThresholds, band_keys

COPIES = "copies"
BY_DOC = "by_doc"
SELVES = "selves"
CHILDREN = "children"
FORWARD = "forward"
RESOLVE_HOPS = 3
_MS = 1000


def _at(ts_us: int, value: Any) -> TimestampedValue:
    return TimestampedValue(value, Timestamp(micros=ts_us))


def _micros(ts: Timestamp) -> int:
    """An element's event time in microseconds, cut to the millisecond:
    runners carry timestamps in milliseconds, so a finer value could differ
    depending on whether the element crossed a process boundary."""
    return ts.micros // _MS * _MS


def _arm(timer, armed, at_us: int) -> None:
    """Set ``timer`` to ``at_us`` (rounded up to the millisecond timers
    have) unless it is already set earlier.  A timer has one firing time
    per key, so the earliest pending one is tracked."""
    at_us = -(-at_us // _MS) * _MS
    current = armed.read()
    if current is None or at_us < current:
        timer.set(Timestamp(micros=at_us))
        armed.write(at_us)


def _rearm(wake, armed, waiting: list, oldest_kept_us: int | None, horizon_us: int) -> None:
    """After a wake: fire again for the next waiting element, or when the
    oldest state kept expires, whichever comes first."""
    if oldest_kept_us is not None:
        _arm(wake, armed, oldest_kept_us + horizon_us + 1)
    if waiting:
        _arm(wake, armed, min(i[0] for i in waiting))


def _hold(pending, armed, wake, ts_us: int, doc_id: str, item: Any) -> None:
    """Buffer ``item`` until the watermark passes ``ts_us``, so a key's
    elements are decided in event-time order whatever their arrival order."""
    pending.add((ts_us, doc_id, item))
    _arm(wake, armed, ts_us)


def _keep(state, value: Any) -> None:
    """Write ``value`` to ``state``, or clear it when there is nothing to keep."""
    if value:
        state.write(value)
    else:
        state.clear()


def _take_ready(now_us: int, pending, armed) -> tuple[list, list]:
    """(buffered items at or before ``now_us`` in order, items still waiting)."""
    items = list(pending.read())
    ready = in_order([i for i in items if i[0] <= now_us])
    waiting = [i for i in items if i[0] > now_us]
    pending.clear()
    for item in waiting:
        pending.add(item)
    armed.clear()
    return ready, waiting


# --- per-step emitters, shared by the batch and streaming forms -------------


class _IdentityEmitter:
    """Records with a doc_id of their own go on; a same-URL copy goes to
    the resolver keyed by the earlier record it repeats."""

    def __init__(self) -> None:
        self._copies = counter("dedup.same_url_copies")
        self._variants = counter("dedup.url_variants")

    def emit(self, decided: list[tuple[dict, int, Identity]]) -> Iterator:
        for article, ts_us, identity in decided:
            if identity.copy_of is None:
                if identity.doc_id != article["doc_id"]:
                    self._variants.inc()
                yield _at(ts_us, {**article, "doc_id": identity.doc_id})
                continue
            self._copies.inc()
            copy = {
                **article,
                "doc_id": identity.doc_id,
                "duplicate_of": identity.copy_of,
                "similarity": identity.similarity,
                "duplicate_kind": SAME_URL,
            }
            child = (identity.copy_of, ("child", (copy, ts_us), identity.copy_of_ts_us))
            yield beam.pvalue.TaggedOutput(COPIES, _at(ts_us, child))


class _ExactEmitter:
    """First copies go on; an exact copy goes to the resolver keyed by the
    first copy, and tells the resolver what it matched (a same-URL copy of
    it may be waiting there for its story)."""

    def __init__(self) -> None:
        self._copies = counter("dedup.exact_copies")

    def emit(self, decided: list[tuple[dict, int, tuple[str, int] | None]]) -> Iterator:
        for article, ts_us, first in decided:
            if first is None:
                yield _at(ts_us, article)
            else:
                self._copies.inc()
                copy = {**article, "duplicate_of": first[0], "similarity": 1.0, "duplicate_kind": EXACT}
                yield beam.pvalue.TaggedOutput(COPIES, _at(ts_us, (first[0], ("child", (copy, ts_us), first[1]))))
                yield beam.pvalue.TaggedOutput(SELVES, _at(ts_us, (article["doc_id"], ("self", first, ts_us))))


class _BandEmitter:
    """``misses``: also report "no match in this band".  Streaming needs
    them (Decide counts a verdict from every band before it decides); after
    a GroupByKey all verdicts are in anyway, and leaving the misses out
    spares the batch shuffle nearly one element per band per document."""

    def __init__(self, misses: bool) -> None:
        self.misses = misses
        self._dropped = counter("dedup.representatives_dropped")

    def emit(self, verdicts: list[tuple[Fingerprint, Match | None]], dropped: int) -> Iterator:
        if dropped:
            self._dropped.inc(dropped)
        for fp, match in verdicts:
            if match is not None or self.misses:
                yield _at(fp.ts_us, (fp.doc_id, ("band", match)))


class _Decider:
    def __init__(self) -> None:
        self._stories = counter("dedup.stories")
        self._near = counter("dedup.near_copies")

    def emit(self, doc_id: str, ts_us: int, article: dict, matches: list[Match]) -> Iterator:
        """First copies are final; every document tells the resolver what it
        matched (itself for a first copy); a copy goes to the resolver keyed
        by the document it matched."""
        match = best_match(matches)
        if match is None:
            self._stories.inc()
            yield _at(ts_us, {**article, "story_id": doc_id})
            yield beam.pvalue.TaggedOutput(SELVES, _at(ts_us, (doc_id, ("self", (doc_id, ts_us), ts_us))))
            return
        self._near.inc()
        copy = {**article, "duplicate_of": match.target, "similarity": match.similarity, "duplicate_kind": NEAR}
        yield beam.pvalue.TaggedOutput(
            SELVES, _at(ts_us, (doc_id, ("self", (match.target, match.target_ts_us), ts_us)))
        )
        yield beam.pvalue.TaggedOutput(
            CHILDREN, _at(ts_us, (match.target, ("child", (copy, ts_us), match.target_ts_us)))
        )


class _Router:
    """One hop of story resolution at a document that copies matched: when
    that document is a first copy its copies get it as their story; when it
    is itself a copy (a representative in one band, a match in another) its
    copies are forwarded to what it matched, for the next hop.  The last
    hop keeps the best document known (``dedup.unresolved_copies``)."""

    def __init__(self, last_hop: bool) -> None:
        self.last_hop = last_hop
        self._unresolved = counter("dedup.unresolved_copies")

    def emit(self, key: str, matched: tuple[str, int], copies: list[tuple[dict, int]]) -> Iterator:
        done, forward, unresolved = route(key, matched, copies, self.last_hop)
        if unresolved:
            self._unresolved.inc(unresolved)
        for copy, ts_us, story in done:
            yield _at(ts_us, {**copy, "story_id": story})
        for target, target_ts_us, copy, ts_us in forward:
            yield beam.pvalue.TaggedOutput(FORWARD, _at(ts_us, (target, ("child", (copy, ts_us), target_ts_us))))

    def orphans(self, key: str, copies: list[tuple[dict, int]]) -> Iterator:
        """Copies whose target never reported (it expired before they came):
        the target is the best story known for them."""
        self._unresolved.inc(len(copies))
        for copy, ts_us in copies:
            yield _at(ts_us, {**copy, "story_id": key})


class KeyByTextFn(beam.DoFn):
    """article -> (hash of its normalized text, article), for exact copies."""

    def setup(self) -> None:
        self._clock = StageClock("dedup")

    def process(self, article: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        yield from self._clock.timed(self._key(article))

    def _key(self, article: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        yield exact_key(article["text"]), article


class SignatureFn(beam.DoFn):
    """One MinHash signature per document, sent to each of its band keys;
    the article itself goes once, keyed by doc_id, to wait for the verdict."""

    def __init__(self, *, num_perm: int, shingle_size: int, seed: int, bands: int, rows: int):
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.seed = seed
        self.bands = bands
        self.rows = rows

    def setup(self) -> None:
        self._hasher = MinHasher(num_perm=self.num_perm, shingle_size=self.shingle_size, seed=self.seed)
        self._clock = StageClock("dedup")

    def process(self, article: dict[str, Any], ts=beam.DoFn.TimestampParam) -> Iterator:
        yield from self._clock.timed(self._sign(article, ts))

    def _sign(self, article: dict[str, Any], ts) -> Iterator:
        sig = self._hasher.signature(article["text"])
        fp = Fingerprint(article["doc_id"], _micros(ts), sig.values.tobytes(), sig.size)
        for key in band_keys(sig, self.bands, self.rows):
            yield (key, fp)
        yield beam.pvalue.TaggedOutput(BY_DOC, (fp.doc_id, ("article", article)))


# --- batch form: GroupByKey, then each key's elements in order ---------------


class IdentifyGroupFn(beam.DoFn):
    def __init__(self, *, num_perm: int, shingle_size: int, seed: int, thresholds: SimilarityThresholds):
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.seed = seed
        self.thresholds = thresholds

    def setup(self) -> None:
        self._hasher = MinHasher(num_perm=self.num_perm, shingle_size=self.shingle_size, seed=self.seed)
        self._out = _IdentityEmitter()
        self._clock = StageClock("dedup")

    def process(self, element: tuple[str, Iterable[tuple[int, dict]]]) -> Iterator:
        yield from self._clock.timed(self._group(element))

    def _group(self, element: tuple[str, Iterable[tuple[int, dict]]]) -> Iterator:
        items = in_order([(ts_us, record_id(a), a) for ts_us, a in element[1]])
        _, decided = run_identity([], items, self._hasher, self.thresholds, complete=True)
        yield from self._out.emit(decided)


class ExactGroupFn(beam.DoFn):
    def __init__(self, horizon_us: int):
        self.horizon_us = horizon_us

    def setup(self) -> None:
        self._out = _ExactEmitter()
        self._clock = StageClock("dedup")

    def process(self, element: tuple[str, Iterable[tuple[int, dict]]]) -> Iterator:
        yield from self._clock.timed(self._group(element))

    def _group(self, element: tuple[str, Iterable[tuple[int, dict]]]) -> Iterator:
        items = in_order([(ts_us, a["doc_id"], a) for ts_us, a in element[1]])
        _, decided = run_exact(None, items, self.horizon_us)
        yield from self._out.emit(decided)


class BandGroupFn(beam.DoFn):
    def __init__(self, *, thresholds: SimilarityThresholds, horizon_us: int, max_reps: int):
        self.thresholds = thresholds
        self.horizon_us = horizon_us
        self.max_reps = max_reps

    def setup(self) -> None:
        self._out = _BandEmitter(misses=False)
        self._clock = StageClock("dedup")

    def process(self, element: tuple[str, Iterable[Fingerprint]]) -> Iterator:
        yield from self._clock.timed(self._group(element))

    def _group(self, element: tuple[str, Iterable[Fingerprint]]) -> Iterator:
        fps = sorted(element[1], key=lambda f: f.order)
        _, verdicts, dropped = run_band([], fps, self.thresholds, self.horizon_us, self.max_reps)
        yield from self._out.emit(verdicts, dropped)


class DecideGroupFn(beam.DoFn):
    def setup(self) -> None:
        self._out = _Decider()
        self._clock = StageClock("dedup")

    def process(self, element: tuple[str, Iterable[tuple[int, tuple[str, Any]]]]) -> Iterator:
        yield from self._clock.timed(self._group(element))

    def _group(self, element: tuple[str, Iterable[tuple[int, tuple[str, Any]]]]) -> Iterator:
        doc_id, values = element
        article, ts_us, matches = None, 0, []
        for value_ts, (kind, payload) in values:
            if kind == "article":
                article, ts_us = payload, value_ts
            elif payload is not None:
                matches.append(payload)
        yield from self._out.emit(doc_id, ts_us, article, matches)


class ResolveGroupFn(beam.DoFn):
    def __init__(self, last_hop: bool):
        self.last_hop = last_hop

    def setup(self) -> None:
        self._out = _Router(self.last_hop)
        self._clock = StageClock("dedup")

    def process(self, element: tuple[str, Iterable[tuple]]) -> Iterator:
        yield from self._clock.timed(self._group(element))

    def _group(self, element: tuple[str, Iterable[tuple]]) -> Iterator:
        key, values = element
        matched, copies = None, []
        for kind, payload, _ in values:
            if kind == "self":
                matched = payload
            else:
                copies.append(payload)
        if not copies:
            return
        if matched is None:
            yield from self._out.orphans(key, copies)
        else:
            yield from self._out.emit(key, matched, copies)


def _with_ts(element: tuple[str, Any], ts=beam.DoFn.TimestampParam) -> tuple[str, tuple[int, Any]]:
    """Keep the event time through a GroupByKey (the group's timestamp is
    not the element's)."""
    return element[0], (_micros(ts), element[1])


class _Batch:
    """The batch form of each keyed step."""

    @staticmethod
    def identify(keyed, hashing: dict, thresholds, keep_us: int):
        return (
            keyed
            | "StampByUrl" >> beam.Map(_with_ts)
            | "GroupByUrl" >> beam.GroupByKey()
            | "DecideIdentity"
            >> beam.ParDo(IdentifyGroupFn(thresholds=thresholds, **hashing)).with_outputs(COPIES, main="unique")
        )

    @staticmethod
    def exact(keyed, horizon_us: int):
        return (
            keyed
            | "StampByText" >> beam.Map(_with_ts)
            | "GroupByText" >> beam.GroupByKey()
            | "Exact" >> beam.ParDo(ExactGroupFn(horizon_us)).with_outputs(COPIES, SELVES, main="first")
        )

    @staticmethod
    def bands(keyed, thresholds, horizon_us: int, max_reps: int):
        return (
            keyed
            | "GroupByBand" >> beam.GroupByKey()
            | "CompareInBand"
            >> beam.ParDo(BandGroupFn(thresholds=thresholds, horizon_us=horizon_us, max_reps=max_reps))
        )

    @staticmethod
    def decide(keyed, bands: int):
        return (
            keyed
            | "StampByDoc" >> beam.Map(_with_ts)
            | "GroupByDoc" >> beam.GroupByKey()
            | "Decide" >> beam.ParDo(DecideGroupFn()).with_outputs(SELVES, CHILDREN, main="stories")
        )

    @staticmethod
    def resolve(keyed, hop: int, keep_us: int, last_hop: bool):
        return (
            keyed
            | f"GroupHop{hop}" >> beam.GroupByKey()
            | f"ResolveHop{hop}" >> beam.ParDo(ResolveGroupFn(last_hop)).with_outputs(FORWARD, main="resolved")
        )


# --- streaming form: stateful DoFns with event-time timers -------------------


class IdentifyFn(beam.DoFn):
    """Keyed by URL-derived doc_id: records are decided in event-time
    order against the stories seen under that doc_id, which are kept for
    ``keep_us`` after their event time."""

    PENDING = BagStateSpec("pending", PickleCoder())
    ARMED = ReadModifyWriteStateSpec("armed_us", VarIntCoder())
    WAKE = TimerSpec("wake", TimeDomain.WATERMARK)
    KNOWN = ReadModifyWriteStateSpec("known", PickleCoder())

    def __init__(self, *, num_perm: int, shingle_size: int, seed: int, thresholds: SimilarityThresholds, keep_us: int):
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.seed = seed
        self.thresholds = thresholds
        self.keep_us = keep_us

    def setup(self) -> None:
        self._hasher = MinHasher(num_perm=self.num_perm, shingle_size=self.shingle_size, seed=self.seed)
        self._out = _IdentityEmitter()

    def process(
        self,
        element: tuple[str, dict[str, Any]],
        ts=beam.DoFn.TimestampParam,
        pending=beam.DoFn.StateParam(PENDING),
        armed=beam.DoFn.StateParam(ARMED),
        wake=beam.DoFn.TimerParam(WAKE),
    ) -> None:
        _hold(pending, armed, wake, _micros(ts), record_id(element[1]), element[1])

    @on_timer(WAKE)
    def on_wake(
        self,
        now=beam.DoFn.TimestampParam,
        pending=beam.DoFn.StateParam(PENDING),
        armed=beam.DoFn.StateParam(ARMED),
        known_state=beam.DoFn.StateParam(KNOWN),
        wake=beam.DoFn.TimerParam(WAKE),
    ) -> Iterator:
        ready, waiting = _take_ready(now.micros, pending, armed)
        known: list[Variant] = known_state.read() or []
        known, decided = run_identity(known, ready, self._hasher, self.thresholds)
        yield from self._out.emit(decided)
        known = [v for v in known if v.ts_us + self.keep_us >= now.micros]
        _keep(known_state, known)
        _rearm(wake, armed, waiting, min((v.ts_us for v in known), default=None), self.keep_us)


class ExactFn(beam.DoFn):
    """Keyed by normalized-text hash: the first document within the horizon
    goes on; later ones are copies of it."""

    PENDING = BagStateSpec("pending", PickleCoder())
    ARMED = ReadModifyWriteStateSpec("armed_us", VarIntCoder())
    WAKE = TimerSpec("wake", TimeDomain.WATERMARK)
    FIRST = ReadModifyWriteStateSpec("first", PickleCoder())

    def __init__(self, horizon_us: int):
        self.horizon_us = horizon_us

    def setup(self) -> None:
        self._out = _ExactEmitter()

    def process(
        self,
        element: tuple[str, dict[str, Any]],
        ts=beam.DoFn.TimestampParam,
        pending=beam.DoFn.StateParam(PENDING),
        armed=beam.DoFn.StateParam(ARMED),
        wake=beam.DoFn.TimerParam(WAKE),
    ) -> None:
        _hold(pending, armed, wake, _micros(ts), element[1]["doc_id"], element[1])

    @on_timer(WAKE)
    def on_wake(
        self,
        now=beam.DoFn.TimestampParam,
        pending=beam.DoFn.StateParam(PENDING),
        armed=beam.DoFn.StateParam(ARMED),
        first_state=beam.DoFn.StateParam(FIRST),
        wake=beam.DoFn.TimerParam(WAKE),
    ) -> Iterator:
        ready, waiting = _take_ready(now.micros, pending, armed)
        first, decided = run_exact(first_state.read(), ready, self.horizon_us)
        yield from self._out.emit(decided)
        if first is not None and first[1] + self.horizon_us < now.micros:
            first = None
        _keep(first_state, first)
        _rearm(wake, armed, waiting, first[1] if first else None, self.horizon_us)


class CompareInBandFn(beam.DoFn):
    """Keyed by LSH band: holds up to ``max_reps`` recent story
    representatives and reports, per document, the best one it matches."""

    PENDING = BagStateSpec("pending", PickleCoder())
    ARMED = ReadModifyWriteStateSpec("armed_us", VarIntCoder())
    WAKE = TimerSpec("wake", TimeDomain.WATERMARK)
    REPS = ReadModifyWriteStateSpec("reps", PickleCoder())

    def __init__(self, *, thresholds: SimilarityThresholds, horizon_us: int, max_reps: int):
        self.thresholds = thresholds
        self.horizon_us = horizon_us
        self.max_reps = max_reps

    def setup(self) -> None:
        self._out = _BandEmitter(misses=True)

    def process(
        self,
        element: tuple[str, Fingerprint],
        pending=beam.DoFn.StateParam(PENDING),
        armed=beam.DoFn.StateParam(ARMED),
        wake=beam.DoFn.TimerParam(WAKE),
    ) -> None:
        _hold(pending, armed, wake, element[1].ts_us, element[1].doc_id, element[1])

    @on_timer(WAKE)
    def on_wake(
        self,
        now=beam.DoFn.TimestampParam,
        pending=beam.DoFn.StateParam(PENDING),
        armed=beam.DoFn.StateParam(ARMED),
        reps_state=beam.DoFn.StateParam(REPS),
        wake=beam.DoFn.TimerParam(WAKE),
    ) -> Iterator:
        ready, waiting = _take_ready(now.micros, pending, armed)
        reps, verdicts, dropped = run_band(
            reps_state.read() or [], [i[2] for i in ready], self.thresholds, self.horizon_us, self.max_reps
        )
        yield from self._out.emit(verdicts, dropped)
        reps = expire(reps, now.micros, self.horizon_us)
        _keep(reps_state, reps)
        _rearm(wake, armed, waiting, min((r.ts_us for r in reps), default=None), self.horizon_us)


class DecideFn(beam.DoFn):
    """Keyed by doc_id: waits for the article and the verdict of every band."""

    ARTICLE = ReadModifyWriteStateSpec("article", PickleCoder())
    MATCHES = BagStateSpec("matches", PickleCoder())
    SEEN = ReadModifyWriteStateSpec("seen", VarIntCoder())

    def __init__(self, bands: int):
        self.bands = bands

    def setup(self) -> None:
        self._out = _Decider()

    def process(
        self,
        element: tuple[str, tuple[str, Any]],
        ts=beam.DoFn.TimestampParam,
        article_state=beam.DoFn.StateParam(ARTICLE),
        matches_state=beam.DoFn.StateParam(MATCHES),
        seen_state=beam.DoFn.StateParam(SEEN),
    ) -> Iterator:
        doc_id, (kind, payload) = element
        if kind == "article":
            article_state.write(payload)
        elif payload is not None:
            matches_state.add(payload)
        seen = (seen_state.read() or 0) + 1
        if seen < self.bands + 1:
            seen_state.write(seen)
            return
        article, matches = article_state.read(), list(matches_state.read())
        for state in (article_state, matches_state, seen_state):
            state.clear()
        yield from self._out.emit(doc_id, _micros(ts), article, matches)


class ResolveFn(beam.DoFn):
    """One resolution hop (see :class:`_Router`).  State is dropped once no
    copy can arrive any more: horizon plus allowed lateness after the
    document's event time."""

    MATCHED = ReadModifyWriteStateSpec("matched", PickleCoder())
    WAITING = BagStateSpec("waiting", PickleCoder())
    ARMED = ReadModifyWriteStateSpec("armed_us", VarIntCoder())
    EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)

    def __init__(self, *, keep_us: int, last_hop: bool):
        self.keep_us = keep_us
        self.last_hop = last_hop

    def setup(self) -> None:
        self._out = _Router(self.last_hop)

    def process(
        self,
        element: tuple[str, tuple],
        key=beam.DoFn.KeyParam,
        matched_state=beam.DoFn.StateParam(MATCHED),
        waiting=beam.DoFn.StateParam(WAITING),
        armed=beam.DoFn.StateParam(ARMED),
        expire_timer=beam.DoFn.TimerParam(EXPIRE),
    ) -> Iterator:
        _, (kind, payload, ts_us) = element
        _arm(expire_timer, armed, ts_us + self.keep_us)
        if kind == "self":
            matched_state.write(payload)
            yield from self._out.emit(key, payload, list(waiting.read()))
            waiting.clear()
            return
        matched = matched_state.read()
        if matched is None:
            waiting.add(payload)
        else:
            yield from self._out.emit(key, matched, [payload])

    @on_timer(EXPIRE)
    def on_expire(
        self,
        key=beam.DoFn.KeyParam,
        matched_state=beam.DoFn.StateParam(MATCHED),
        waiting=beam.DoFn.StateParam(WAITING),
        armed=beam.DoFn.StateParam(ARMED),
    ) -> Iterator:
        left = list(waiting.read())
        if left:
            yield from self._out.orphans(key, left)
        for state in (matched_state, waiting, armed):
            state.clear()


class _Streaming:
    """The streaming form of each keyed step.

    Each shuffle declares its output as ``(str, Any)`` so the state's keys
    are encoded as UTF-8 strings: deterministic by contract, and fixed now,
    since a later change of key coder breaks Dataflow's ``--update``.
    """

    @staticmethod
    def identify(keyed, hashing: dict, thresholds, keep_us: int):
        return (
            keyed
            | "ShuffleByUrl" >> ReshufflePerKey().with_output_types(KEYED)
            | "DecideIdentity"
            >> beam.ParDo(IdentifyFn(thresholds=thresholds, keep_us=keep_us, **hashing))
            .with_input_types(KEYED)
            .with_outputs(COPIES, main="unique")
        )

    @staticmethod
    def exact(keyed, horizon_us: int):
        return (
            keyed
            | "ShuffleByText" >> ReshufflePerKey().with_output_types(KEYED)
            | "Exact"
            >> beam.ParDo(ExactFn(horizon_us)).with_input_types(KEYED).with_outputs(COPIES, SELVES, main="first")
        )

    @staticmethod
    def bands(keyed, thresholds, horizon_us: int, max_reps: int):
        return (
            keyed
            | "ShuffleByBand" >> ReshufflePerKey().with_output_types(KEYED)
            | "CompareInBand"
            >> beam.ParDo(
                CompareInBandFn(thresholds=thresholds, horizon_us=horizon_us, max_reps=max_reps)
            ).with_input_types(KEYED)
        )

    @staticmethod
    def decide(keyed, bands: int):
        return (
            keyed
            | "ShuffleByDoc" >> ReshufflePerKey().with_output_types(KEYED)
            | "Decide"
            >> beam.ParDo(DecideFn(bands)).with_input_types(KEYED).with_outputs(SELVES, CHILDREN, main="stories")
        )

    @staticmethod
    def resolve(keyed, hop: int, keep_us: int, last_hop: bool):
        return (
            keyed
            | f"ShuffleHop{hop}" >> ReshufflePerKey().with_output_types(KEYED)
            | f"ResolveHop{hop}"
            >> beam.ParDo(ResolveFn(keep_us=keep_us, last_hop=last_hop))
            .with_input_types(KEYED)
            .with_outputs(FORWARD, main="resolved")
        )


def _key_by_doc(article: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return article["doc_id"], article


class IdentifyRecords(beam.PTransform):
    """articles -> {'unique': articles with a doc_id of their own,
    'copies': same-URL copies, keyed by the doc_id they repeat}.

    Every later step keys by doc_id, so two records that share one must be
    told apart first: a URL is evidence of identity, not proof (see
    :func:`transforms.core.dedup.run_identity`)."""

    def __init__(self, *, hashing: dict, thresholds: SimilarityThresholds, keep_us: int, streaming: bool):
        super().__init__()
        self.hashing = hashing
        self.thresholds = thresholds
        self.keep_us = keep_us
        self.streaming = streaming

    def expand(self, articles):
        form = _Streaming if self.streaming else _Batch
        keyed = articles | "KeyByUrl" >> beam.Map(_key_by_doc)
        return form.identify(keyed, self.hashing, self.thresholds, self.keep_us)


def _copy_of_own_story(element: tuple[str, tuple]) -> dict[str, Any]:
    target, (_, (copy, _), _) = element
    return {**copy, "story_id": target}


class SingleStories(beam.PTransform):
    """What ``--no_dedup`` runs: every article is its own story; only a
    later record of an already-seen URL with the same story is a copy."""

    def __init__(self, *, streaming: bool = False, lateness_seconds: int = 86_400, **dedup: Any):
        super().__init__()
        self.identify = Deduplicate(streaming=streaming, lateness_seconds=lateness_seconds, **dedup).identify()

    def expand(self, articles):
        identified = articles | "Identify" >> self.identify
        stories = identified["unique"] | "OwnStory" >> beam.Map(lambda a: {**a, "story_id": a["doc_id"]})
        copies = identified[COPIES] | "CopyStory" >> beam.Map(_copy_of_own_story)
        return {"articles": stories, "duplicates": copies}


class Deduplicate(beam.PTransform):
    """articles -> {'articles': first copies, 'duplicates': later copies}.

    ``streaming`` picks the stateful form (unbounded input); batch runs the
    grouped form.  Both decide the same for data that is not late.
    """

    def __init__(
        self,
        *,
        num_perm: int = 128,
        shingle_size: int = 3,
        bands: int = 32,
        rows: int = 4,
        thresholds: SimilarityThresholds = SimilarityThresholds(),
        horizon_seconds: int = 3 * 86_400,
        max_reps: int = 100,
        lateness_seconds: int = 86_400,
        seed: int = 1,
        streaming: bool = False,
    ):
        super().__init__()
        if bands * rows > num_perm:
            raise ValueError(f"bands x rows ({bands} x {rows}) exceeds num_perm ({num_perm})")
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.bands = bands
        self.rows = rows
        self.thresholds = thresholds
        self.horizon_us = horizon_seconds * MICROS
        self.max_reps = max_reps
        self.lateness_us = lateness_seconds * MICROS
        self.seed = seed
        self.streaming = streaming

    def identify(self) -> IdentifyRecords:
        """The first step: one doc_id per record (also what --no_dedup runs)."""
        hashing = {"num_perm": self.num_perm, "shingle_size": self.shingle_size, "seed": self.seed}
        keep_us = self.horizon_us + self.lateness_us
        return IdentifyRecords(hashing=hashing, thresholds=SAME_URL_RULE, keep_us=keep_us, streaming=self.streaming)

    def expand(self, articles):
        form = _Streaming if self.streaming else _Batch
        identified = articles | "Identify" >> self.identify()
        keyed_by_text = identified["unique"] | "KeyByText" >> beam.ParDo(KeyByTextFn())
        exact = form.exact(keyed_by_text, self.horizon_us)
        signed = exact.first | "Signature" >> beam.ParDo(
            SignatureFn(
                num_perm=self.num_perm, shingle_size=self.shingle_size, seed=self.seed, bands=self.bands, rows=self.rows
            )
        ).with_outputs(BY_DOC, main="bands")
        verdicts = form.bands(signed.bands, self.thresholds, self.horizon_us, self.max_reps)
        gathered = (signed[BY_DOC], verdicts) | "GatherVerdicts" >> beam.Flatten()
        decided = form.decide(gathered, self.bands)
        copies = (decided[CHILDREN], exact[COPIES], identified[COPIES]) | "GatherCopies" >> beam.Flatten()
        selves = (decided[SELVES], exact[SELVES]) | "GatherSelves" >> beam.Flatten()
        resolved = []
        for hop in range(1, RESOLVE_HOPS + 1):
            gathered = (selves, copies) | f"GatherHop{hop}" >> beam.Flatten()
            hop_out = form.resolve(gathered, hop, self.horizon_us + self.lateness_us, hop == RESOLVE_HOPS)
            resolved.append(hop_out.resolved)
            copies = hop_out[FORWARD]
        duplicates = resolved | "CollectDuplicates" >> beam.Flatten()
        return {"articles": decided.stories, "duplicates": duplicates}
