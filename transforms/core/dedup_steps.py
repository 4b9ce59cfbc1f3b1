"""The keyed steps of dedup, without Beam: what each decides and sends on.

Every step takes a key's values and returns :class:`Out` records (a tag,
an event time, a value) and counts; :mod:`transforms.dedup` turns them
into Beam outputs and counters, in a batch (grouped) or a streaming
(stateful) form.  So each step's logic is written once, here, and tested
without a pipeline.

The ordered steps (:class:`IdentifyStep`, :class:`ExactStep`,
:class:`AnchorStep`) decide a key's values in ``(event time, tie)`` order
against what the key keeps; :func:`decide_document` and
:func:`resolve_copies` gather a document's verdicts and join copies with
what the document they matched matched.

What the steps keep can also outlive a batch run: each step saves it as
:class:`StatePart` rows (the ``OUTPUT/_state/dedup`` table) and loads it
back in the next run, so a copy arriving tomorrow joins the story first
seen today with the story_id one run over both days would give.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pyarrow as pa

from transforms.core.dedup import (
    EXACT,
    NEAR,
    SAME_URL,
    Copy,
    Fingerprint,
    Matched,
    Pointer,
    Variant,
    Verdict,
    Waiting,
    best_match,
    expire,
    gather,
    jump,
    record_id,
    route,
    run_anchor,
    run_exact,
    run_identity,
)
from transforms.core.overlap import CopyRule

# Output tags; None is a step's main output.
COPIES = "copies"  # (doc_id a copy matched, Copy)
MATCHED = "matched"  # (doc_id, Matched): what a document matched
FORWARD = "forward"  # (next doc_id, Copy), for the next resolution hop
JUMPED = "jumped"  # (doc_id, Matched): where a document points in the next resolution hop


# Article key of what Identify computed (a Prepared), reused by Exact and
# Fingerprint and dropped where the article leaves them (writers ignore it
# in any case).
PREPARED = "_prepared"


class Out(NamedTuple):
    tag: str | None
    ts_us: int
    value: Any


class StatePart(NamedTuple):
    """One row of what a dedup step keeps, for the next run: under ``key``
    of ``step``, a document and its event time, with what the step needs
    of it (a signature's or compact form's ``values`` and ``size``, the ``text_key`` of its
    normalized text, or the ``target`` it matched)."""

    step: str  # identify, exact, anchor or matched
    key: str
    doc_id: str
    ts_us: int
    values: bytes = b""
    size: int = 0
    text_key: str = ""
    target: str = ""
    target_ts_us: int = 0


STATE_SCHEMA = pa.schema(
    [
        pa.field("step", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("ts_us", pa.int64(), nullable=False),
        pa.field("values", pa.binary(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("text_key", pa.string(), nullable=False),
        pa.field("target", pa.string(), nullable=False),
        pa.field("target_ts_us", pa.int64(), nullable=False),
    ]
)


def matched_part(doc_id: str, matched: Matched) -> StatePart:
    return StatePart(MATCHED, doc_id, doc_id, matched.ts_us, target=matched.target, target_ts_us=matched.target_ts_us)


def matched_of(part: StatePart) -> Matched:
    return Matched(part.target, part.target_ts_us, part.ts_us)


Counts = dict[str, int]
Item = tuple[int, str, Any]  # (event time in microseconds, tie, value)


class OrderedStep:
    """A keyed step whose values are decided in event-time order against
    what the key keeps (``state``).  ``keep_us``: how long after its event
    time what a value left in the state is kept."""

    keep_us: int
    name: str  # the step's name in the state table

    def setup(self) -> None:
        """Build heavy objects (once per DoFn instance)."""

    def save(self, key: str, state: Any) -> list[StatePart]:
        """What the key keeps, as state rows."""
        raise NotImplementedError

    def load(self, parts: list[StatePart]) -> Any:
        """The state a key's rows from an earlier run give."""
        raise NotImplementedError

    def tie(self, value: Any) -> str:
        """What orders two values with one event time."""
        raise NotImplementedError

    def initial(self) -> Any:
        return None

    def decide(self, state: Any, items: list[Item], complete: bool) -> tuple[Any, list[Out], Counts]:
        """(state after, outputs, counts) for ``items`` in order.
        ``complete``: every value of the key is here (a batch group)."""
        raise NotImplementedError

    def expire(self, state: Any, now_us: int) -> tuple[Any, int | None]:
        """(what is still kept at watermark ``now_us``, the oldest event
        time in it, from which its next expiry is counted)."""
        raise NotImplementedError


class IdentifyStep(OrderedStep):
    """Key: the URL-derived doc_id.  Records with a doc_id of their own go
    on; a same-URL copy goes to the resolver keyed by the record it repeats."""

    name = "identify"

    def __init__(self, rule: CopyRule, keep_us: int, remember: bool = False) -> None:
        self.rule = rule
        self.keep_us = keep_us
        # A later run needs every URL's compact form, even a lone record's.
        self.remember = remember

    def tie(self, value: dict[str, Any]) -> str:
        return record_id(value)

    def initial(self) -> list[Variant]:
        return []

    def decide(self, state, items, complete):
        complete = complete and not self.remember
        known, decided = run_identity(state, items, self.rule, complete=complete)
        outs, counts = [], {"same_url_copies": 0, "url_variants": 0, "already_ingested": 0}
        for article, ts_us, identity in decided:
            if identity.already_ingested:  # in the output already: counted, not written again
                counts["already_ingested"] += 1
                continue
            if identity.copy_of is None:
                counts["url_variants"] += identity.doc_id != article["doc_id"]
                unique = {**article, "doc_id": identity.doc_id}
                if identity.prepared is not None:  # computed here already: Exact and Fingerprint reuse it
                    unique[PREPARED] = identity.prepared
                outs.append(Out(None, ts_us, unique))
                continue
            counts["same_url_copies"] += 1
            copy = {**article, "doc_id": identity.doc_id, "duplicate_of": identity.copy_of,
                    "similarity": identity.similarity, "duplicate_kind": SAME_URL}  # fmt: skip
            outs.append(Out(COPIES, ts_us, (identity.copy_of, Copy(copy, ts_us, identity.copy_of_ts_us))))
        return known, outs, counts

    def expire(self, state, now_us):
        kept = [v for v in state if v.ts_us + self.keep_us >= now_us]
        return kept, min((v.ts_us for v in kept), default=None)

    def save(self, key, state):
        return [StatePart(self.name, key, v.doc_id, v.ts_us, v.values, v.size, v.text_key) for v in state]

    def load(self, parts):
        variants = (_prior_variant(p) for p in parts)
        return sorted(variants, key=lambda v: (v.ts_us, v.doc_id))


def _prior_variant(part: StatePart) -> Variant:
    """A URL's story from an earlier run's row.  A row whose values are not
    ``size`` 2-gram hashes holds the MinHash signature an earlier version
    kept: that story is compared by text only."""
    if len(part.values) != 4 * part.size:
        return Variant(part.doc_id, part.ts_us, b"", -1, part.text_key, prior=True)
    return Variant(part.doc_id, part.ts_us, part.values, part.size, part.text_key, prior=True)


class ExactStep(OrderedStep):
    """Key: the normalized-text hash.  The first document within the
    horizon goes on; a later one is its exact copy, and tells the resolver
    what it matched (a same-URL copy of it may be waiting there).  The
    first copy is kept ``keep_us`` (the horizon plus the allowed lateness),
    so a copy arriving late still finds it."""

    name = "exact"

    def __init__(self, horizon_us: int, keep_us: int | None = None) -> None:
        self.horizon_us = horizon_us
        self.keep_us = horizon_us if keep_us is None else keep_us

    def tie(self, value: dict[str, Any]) -> str:
        return value["doc_id"]

    def decide(self, state, items, complete):
        first, decided = run_exact(state, items, self.horizon_us)
        outs, copies = [], 0
        for article, ts_us, earlier in decided:
            if earlier is None:
                outs.append(Out(None, ts_us, article))
                continue
            copies += 1
            copy = {k: v for k, v in article.items() if k != PREPARED}
            copy.update(duplicate_of=earlier[0], similarity=1.0, duplicate_kind=EXACT)
            outs.append(Out(COPIES, ts_us, (earlier[0], Copy(copy, ts_us, earlier[1]))))
            outs.append(Out(MATCHED, ts_us, (article["doc_id"], Matched(earlier[0], earlier[1], ts_us))))
        return first, outs, {"exact_copies": copies}

    def expire(self, state, now_us):
        if state is None or state[1] + self.keep_us < now_us:
            return None, None
        return state, state[1]

    def save(self, key, state):
        return [] if state is None else [StatePart(self.name, key, state[0], state[1])]

    def load(self, parts):
        latest = max(parts, key=lambda p: (p.ts_us, p.doc_id))
        return (latest.doc_id, latest.ts_us)


class AnchorStep(OrderedStep):
    """Key: one anchor of the document (:func:`transforms.core.overlap.anchors`).
    Holds up to ``max_reps`` recent story representatives, each with its
    compact form, and reports, per document, the best one it is a copy of.
    Streaming also reports "no match at this anchor" (Decide counts a
    verdict from every anchor before it decides); in a complete group all
    verdicts are in anyway, and leaving the misses out spares the shuffle
    nearly one element per anchor per document.  Representatives are kept
    ``keep_us`` (the horizon plus the allowed lateness), so a copy
    arriving late still finds its story."""

    name = "anchor"

    def __init__(self, rule: CopyRule, horizon_us: int, max_reps: int, keep_us: int | None = None) -> None:
        self.rule = rule
        self.horizon_us = horizon_us
        self.keep_us = horizon_us if keep_us is None else keep_us
        self.max_reps = max_reps

    def tie(self, value: Fingerprint) -> str:
        return value.doc_id

    def initial(self) -> list[Fingerprint]:
        return []

    def decide(self, state, items, complete):
        fps = [i[2] for i in items]
        reps, verdicts, dropped = run_anchor(state, fps, self.rule, self.horizon_us, self.max_reps)
        outs = [Out(None, fp.ts_us, (fp.doc_id, Verdict(m))) for fp, m in verdicts if m is not None or not complete]
        return reps, outs, {"representatives_dropped": dropped}

    def expire(self, state, now_us):
        kept = expire(state, now_us, self.keep_us)
        return kept, min((r.ts_us for r in kept), default=None)

    def save(self, key, state):
        return [StatePart(self.name, key, r.doc_id, r.ts_us, r.values, r.size) for r in state]

    def load(self, parts):
        return sorted((Fingerprint(p.doc_id, p.ts_us, p.values, p.size) for p in parts), key=lambda r: r.order)


def decide_document(doc_id: str, ts_us: int, messages: list[Waiting | Verdict]) -> tuple[list[Out], Counts]:
    """A document's decision over its anchors: a first copy is final; a copy
    goes to the resolver keyed by the document it matched; every document
    tells the resolver what it matched (itself, for a first copy)."""
    article, matches = gather(messages)
    match = best_match(matches)
    if match is None:
        story = Out(None, ts_us, {**article, "story_id": doc_id})
        return [story, Out(MATCHED, ts_us, (doc_id, Matched(doc_id, ts_us, ts_us)))], {"stories": 1}
    copy = {**article, "duplicate_of": match.target, "similarity": match.similarity, "duplicate_kind": NEAR}
    return [
        Out(MATCHED, ts_us, (doc_id, Matched(match.target, match.target_ts_us, ts_us))),
        Out(COPIES, ts_us, (match.target, Copy(copy, ts_us, match.target_ts_us))),
    ], {"near_copies": 1}


def resolve_copies(
    key: str, matched: Matched | None, copies: list[Copy], last_hop: bool, pointers: list[Pointer] = ()
) -> tuple[list[Out], Counts]:
    """One hop of story resolution at document ``key`` (see
    :func:`transforms.core.dedup.route`), and the pointers that point at
    it moved on for the next hop (:func:`transforms.core.dedup.jump`).
    Without ``matched`` (the document expired before its copies came) they
    keep ``key`` as their story and the pointers stay at ``key``; those
    copies and what the last hop cannot resolve are counted as
    ``unresolved_copies``."""
    if matched is None:
        outs = [Out(None, c.ts_us, {**c.article, "story_id": key}) for c in copies]
        outs += [Out(JUMPED, p.ts_us, (p.doc_id, Matched(key, p.ts_us, p.ts_us))) for p in pointers]
        return outs, {"unresolved_copies": len(copies)}
    done, forward, unresolved = route(key, matched, copies, last_hop)
    outs = [Out(None, ts_us, article) for article, ts_us in done]
    outs += [Out(FORWARD, copy.ts_us, (target, copy)) for target, copy in forward]
    outs += [Out(JUMPED, m.ts_us, (doc_id, m)) for doc_id, m in jump(key, matched, list(pointers))]
    return outs, {"unresolved_copies": unresolved}
