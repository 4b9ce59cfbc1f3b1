"""The dedup decisions, without Beam: what the keyed stages keep and decide.

A story is represented by its first copy.  Each keyed stage (one key per
exact text hash, one per anchor, see :mod:`transforms.core.overlap`)
processes its documents in ``(event time, doc_id)`` order, so every
decision is the same whatever order the documents arrived in:

* exact stage: the first document with a given normalized-text hash within
  the horizon is kept; later ones are copies of it (similarity 1.0);
* anchor stage: a document is compared, by the 2-grams both share, with
  the representatives this anchor key holds; it matches the most similar
  one it is a copy of (the earliest among equals), else it becomes a
  representative itself.  Representatives older than the horizon are
  dropped, and at most ``max_reps`` of the newest are kept.

Before both, records that share a ``doc_id`` (one URL seen twice: a corpus
that stores an article twice, a feed that re-lists it, a Pub/Sub
redelivery, a page updated in place, two pages declaring one canonical
URL) are told apart by :func:`run_identity`: a URL is evidence of
identity, not proof.  A later record whose text is the same story as an
earlier one of its URL is a ``same_url`` copy of it; one whose text is
another story becomes an article of its own under a new, deterministic
``doc_id``.

A document's final decision is its best match over all its anchors.  The
most similar representative wins rather than the earliest, so a cut copy of
story A goes to A and not to an earlier story C whose "read also" box
reprints A's lead paragraphs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from transforms.core.ids import stable_hash
from transforms.core.normalize import normalize_for_hashing
from transforms.core.overlap import CopyRule, article_words, compact, overlap

MICROS = 1_000_000

# What a later copy is a copy of (the ``duplicate_kind`` column).
SAME_URL = "same_url"  # an earlier record of its own URL: a rerun or a revision of the page
EXACT = "exact"  # another document with the same normalized text
NEAR = "near"  # another document's story, by the 2-grams both share

# When two records share a URL, the URL is strong evidence that they are
# one page, so less text evidence is asked of them than of two outlets'
# copies: half the shorter text's 2-grams, wherever they sit.  A page
# updated in place keeps most of its first version (on ANT's same-URL
# revisions the lowest was 0.65); a URL whose content was replaced shares
# almost nothing with its old text.
SAME_URL_RULE = CopyRule(containment=0.5, lead=1.0, anywhere=0.5)


def exact_key(text: str, *, normalized: str | None = None) -> str:
    """Hash of the normalized text: equal for copies that differ only in
    orthography, punctuation, spacing or case.  ``normalized``: the text's
    :func:`normalize_for_hashing` form, when the caller has it already."""
    normalized = normalize_for_hashing(text) if normalized is None else normalized
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What an anchor key needs of a document: identity, time and its
    compact form (:func:`transforms.core.overlap.compact`)."""

    doc_id: str
    ts_us: int  # event time, microseconds since the epoch
    values: bytes  # uint32 hashes of its distinct word 2-grams, in text order
    size: int  # how many

    @property
    def order(self) -> tuple[int, str]:
        return (self.ts_us, self.doc_id)

    def shingles(self) -> np.ndarray:
        return np.frombuffer(self.values, dtype=np.uint32)


@dataclass(frozen=True, slots=True)
class Match:
    """``doc_id`` is a copy of ``target`` (whose event time is ``target_ts_us``)."""

    doc_id: str
    target: str
    target_ts_us: int
    similarity: float

    @property
    def rank(self) -> tuple[float, int, str]:
        """Sort key: most similar first, then earliest target."""
        return (-self.similarity, self.target_ts_us, self.target)


def within(ts_us: int, other_ts_us: int, horizon_us: int) -> bool:
    return abs(ts_us - other_ts_us) <= horizon_us


def match_at_anchor(
    fp: Fingerprint,
    reps: list[Fingerprint],
    rule: CopyRule,
    horizon_us: int,
) -> Match | None:
    """The best representative within the horizon that ``fp`` is a copy of
    (similarity: the containment of the smaller text in the other)."""
    mine = fp.shingles()
    best: Match | None = None
    for rep in reps:
        if rep.doc_id == fp.doc_id or not within(fp.ts_us, rep.ts_us, horizon_us):
            continue
        shared = overlap(mine, rep.shingles())
        candidate = Match(fp.doc_id, rep.doc_id, rep.ts_us, shared.containment)
        if shared.is_copy(rule) and (best is None or candidate.rank < best.rank):
            best = candidate
    return best


def add_representative(reps: list[Fingerprint], fp: Fingerprint, max_reps: int) -> tuple[list[Fingerprint], int]:
    """``reps`` with ``fp`` added, trimmed to the ``max_reps`` newest; also
    how many were dropped to make room."""
    kept = sorted([*reps, fp], key=lambda r: r.order)
    dropped = max(0, len(kept) - max_reps)
    return kept[dropped:], dropped


def expire(reps: list[Fingerprint], watermark_us: int, horizon_us: int) -> list[Fingerprint]:
    """Representatives that a document at or after ``watermark_us`` can still match."""
    return [r for r in reps if r.ts_us + horizon_us >= watermark_us]


def run_exact(
    first: tuple[str, int] | None, items: list[tuple[int, str, Any]], horizon_us: int
) -> tuple[tuple[str, int] | None, list[tuple[Any, int, tuple[str, int] | None]]]:
    """The exact stage over ``items`` ((ts, doc_id, payload), in order) for
    one text hash: the first copy within the horizon, and per item the first
    copy it repeats (None for a first copy).  Returns the new first copy."""
    out = []
    for ts_us, doc_id, payload in items:
        if first is not None and within(ts_us, first[1], horizon_us):
            out.append((payload, ts_us, first))
        else:
            first = (doc_id, ts_us)
            out.append((payload, ts_us, None))
    return first, out


def run_anchor(
    reps: list[Fingerprint],
    fps: list[Fingerprint],
    rule: CopyRule,
    horizon_us: int,
    max_reps: int,
) -> tuple[list[Fingerprint], list[tuple[Fingerprint, Match | None]], int]:
    """One anchor key over ``fps`` in order: (representatives after, verdict
    per document, representatives dropped for room)."""
    verdicts = []
    dropped = 0
    for fp in fps:
        reps = expire(reps, fp.ts_us, horizon_us)
        match = match_at_anchor(fp, reps, rule, horizon_us)
        if match is None:
            reps, n = add_representative(reps, fp, max_reps)
            dropped += n
        verdicts.append((fp, match))
    return reps, verdicts, dropped


# --- the messages between keyed steps ------------------------------------------
# Each travels keyed (key, message); the key is said where the message is sent.


class Waiting(NamedTuple):
    """An article waiting, under its doc_id, for the verdicts of its
    ``anchors`` anchor keys."""

    article: dict[str, Any]
    anchors: int


class Verdict(NamedTuple):
    """One anchor key's verdict on a document, under its doc_id: the best
    representative it matched there, or None."""

    match: Match | None


class Matched(NamedTuple):
    """What a document matched, under its doc_id, for the resolver: itself
    (``target`` is the doc_id) when it is a first copy."""

    target: str
    target_ts_us: int
    ts_us: int


class Copy(NamedTuple):
    """A later copy waiting for its story, under the doc_id it matched
    (whose event time is ``target_ts_us``)."""

    article: dict[str, Any]
    ts_us: int
    target_ts_us: int


class Pointer(NamedTuple):
    """Document ``doc_id`` (event time ``ts_us``), which points, in this
    hop, at the document it is keyed by: the resolver moves its pointer on
    to where that one points, so each hop's pointers reach twice as far."""

    doc_id: str
    ts_us: int


def gather(messages: list[Waiting | Verdict]) -> tuple[dict[str, Any] | None, list[Match]]:
    """A document's article and the matches its anchor keys reported."""
    article, matches = None, []
    for message in messages:
        if isinstance(message, Waiting):
            article = message.article
        elif message.match is not None:
            matches.append(message.match)
    return article, matches


def route(
    key: str, matched: Matched, copies: list[Copy], last_hop: bool
) -> tuple[list[tuple[dict[str, Any], int]], list[tuple[str, Copy]], int]:
    """One hop of story resolution at document ``key``: (copies resolved,
    with their ``story_id``, and their event time; copies forwarded, keyed
    by the next document; how many stay unresolved).  A copy of a first
    copy has its story; a copy of a copy is forwarded to where that one
    points (``matched``: in hop k, 2^(k-1) matches on, see :func:`jump`),
    for the next hop; the last hop keeps the best known."""
    done, forward, unresolved = [], [], 0
    for copy in copies:
        if matched.target == key or last_hop:
            unresolved += matched.target != key
            done.append(({**copy.article, "story_id": matched.target}, copy.ts_us))
        else:
            forward.append((matched.target, Copy(copy.article, copy.ts_us, matched.target_ts_us)))
    return done, forward, unresolved


def jump(key: str, matched: Matched, pointers: list[Pointer]) -> list[tuple[str, Matched]]:
    """Pointer jumping at document ``key``: each document that points at
    it now points where it points (a first copy points at itself), keyed
    by its own doc_id for the next hop.  A chain of n copies, each matching
    the one before (a story updated again and again), is resolved in about
    log2(n) hops."""
    return [(p.doc_id, Matched(matched.target, matched.target_ts_us, p.ts_us)) for p in pointers]


def in_order(items: list[tuple]) -> list[tuple]:
    """Items (ts, doc_id, ...) in event-time order, ties by doc_id."""
    return sorted(items, key=lambda i: (i[0], i[1]))


def best_match(matches: list[Match]) -> Match | None:
    """The decision over all anchors: the best representative matched."""
    return min(matches, key=lambda m: m.rank, default=None)


def record_id(article: dict[str, Any]) -> str:
    """A record's identity inside the graph, whatever its URL: where it was
    read from and what it says.  Two records with the same id are the same
    input twice, and interchangeable."""
    return stable_hash(
        "record",
        article.get("source_uri") or "",
        article.get("url") or "",
        article.get("title") or "",
        article["text"],
    )


@dataclass(frozen=True, slots=True)
class Variant:
    """One distinct story seen under a URL: the ``doc_id`` its records
    carry, its compact form (:func:`transforms.core.overlap.compact`) and
    the hash of its normalized text.  ``prior``: it is already in the
    output, from an earlier run; one remembered past the horizon has no
    compact form (``size`` -1) and is compared by text only."""

    doc_id: str
    ts_us: int
    values: bytes  # uint32 hashes of its distinct word 2-grams, in text order
    size: int
    text_key: str = ""
    prior: bool = False

    def shingles(self) -> np.ndarray:
        return np.frombuffer(self.values, dtype=np.uint32)


@dataclass(frozen=True, slots=True)
class Identity:
    """What :func:`run_identity` decided for one record: the ``doc_id`` it
    is written under, and for a ``same_url`` copy the earlier record's
    ``doc_id`` and event time, and how similar the two texts are."""

    doc_id: str
    copy_of: str | None = None
    copy_of_ts_us: int = 0
    similarity: float = 1.0
    # The same URL and the same text as a record an earlier run wrote.
    already_ingested: bool = False
    # What was computed to decide, for the later steps to reuse.
    prepared: Prepared | None = None


class Prepared(NamedTuple):
    """What Identify computes of a record's text and the later steps need
    again: Exact its normalized-text hash, Fingerprint its words and
    compact form.  It rides along in the article (``PREPARED``) as far as
    Fingerprint, instead of each step normalizing the text again."""

    text_key: str
    normalized: str
    form: bytes  # compact form (uint32 hashes), as Fingerprint sends it


def variant_doc_id(url_doc_id: str, rec_id: str, kind: str) -> str:
    """A deterministic ``doc_id`` for a later record of an already-seen URL:
    ``kind`` is ``variant`` (another story under the URL) or ``revision``
    (a later copy of the same story)."""
    return stable_hash(kind, url_doc_id, rec_id)


def run_identity(
    known: list[Variant],
    items: list[tuple[int, str, dict[str, Any]]],
    rule: CopyRule = SAME_URL_RULE,
    complete: bool = False,
) -> tuple[list[Variant], list[tuple[dict[str, Any], int, Identity]]]:
    """The records of one URL-derived ``doc_id``, items ``(ts, record_id,
    article)`` in order, against the stories already ``known`` under it.

    The first record keeps the ``doc_id``.  A later one whose text is the
    same story as a known variant (``rule`` on the 2-grams they share) is a
    ``same_url`` copy of the most similar one; any other is a new variant
    with a ``doc_id`` of its own.  A record with the text of a ``prior``
    variant (one an earlier run wrote) is already ingested.  ``complete``:
    no other record of this ``doc_id`` will come, now or in a later run, so
    a lone record needs no compact form."""
    if complete and not known and len(items) == 1:
        ts_us, _, article = items[0]
        return [], [(article, ts_us, Identity(article["doc_id"]))]
    out = []
    # Records of one URL often repeat its text (a feed polled again): each
    # distinct text is normalized and hashed once.
    seen: dict[tuple[str | None, str], Prepared] = {}
    for ts_us, rec_id, article in items:
        url_doc_id = article["doc_id"]
        text = (article.get("title"), article["text"])
        ready = seen.get(text)
        # One normalization for the text's hash and its compact form.
        normalized = normalize_for_hashing(text[1]) if ready is None else ready.normalized
        text_key = exact_key(text[1], normalized=normalized) if ready is None else ready.text_key
        again = next((v for v in known if v.prior and v.text_key == text_key), None)
        if again is not None:
            out.append((article, ts_us, Identity(again.doc_id, already_ingested=True)))
            continue
        if ready is None:
            form = compact(article_words(text[0], text[1], normalized=normalized)).tobytes()
            ready = seen[text] = Prepared(text_key, normalized, form)
        form = np.frombuffer(ready.form, dtype=np.uint32)
        best: tuple[tuple[float, int, str], Variant, float] | None = None
        for variant in known:
            if variant.size < 0:  # remembered past the horizon without its compact form
                continue
            shared = overlap(form, variant.shingles())
            score = shared.containment
            rank = (-score, variant.ts_us, variant.doc_id)
            if shared.is_copy(rule) and (best is None or rank < best[0]):
                best = (rank, variant, score)
        if best is not None:
            _, target, score = best
            doc_id = variant_doc_id(url_doc_id, rec_id, "revision")
            out.append((article, ts_us, Identity(doc_id, target.doc_id, target.ts_us, score)))
            continue
        doc_id = url_doc_id if not known else variant_doc_id(url_doc_id, rec_id, "variant")
        known = [*known, Variant(doc_id, ts_us, ready.form, len(form), text_key)]
        out.append((article, ts_us, Identity(doc_id, prepared=ready)))
    return known, out
