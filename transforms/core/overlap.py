"""What two texts share, counted exactly: how dedup decides wire copy.

Each document is kept in a compact form: the 32-bit hashes of its distinct
word 2-grams, in the order they first occur (capped, so a document's state
is bounded).  Two documents are compared by what they share, not by an
estimate: the share of the smaller one's 2-grams found in the other
(*containment*), and where in the larger one the shared text sits (*lead*:
the position of the first quarter of the shared 2-grams).  Outlets cut,
add and reword an agency dispatch; what they keep is its lead, so a copy
shares text from near the start of the longer version, while a "read
also" box reprinting another story's first paragraphs at the foot of an
article shares it only near its end.  A text found nearly whole in
another (a brief that is one paragraph of a longer story) is a copy
wherever it sits.

Two documents meet at all only if they share an *anchor*: a word 5-gram
whose hash is divisible by ``every``.  The choice depends on the 5-gram
alone, not on the rest of the document, so a cut copy keeps the anchors of
the text it kept, whatever its length; a long text has more of them, and
at most ``max_anchors`` (the smallest hashes) are used.

Hashes are MurmurHash3 with fixed seeds, the same in every process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat

import mmh3
import numpy as np

from transforms.core.normalize import normalize_for_hashing, tokens, words_of

GRAM_WORDS = 2  # words per compared shingle
ANCHOR_WORDS = 5  # words per anchor
MAX_SHINGLES = 4096  # distinct 2-grams kept per document (16 KiB)
_GRAM_SEED = 11
_ANCHOR_SEED = 13


def _grams(words: Sequence[str], n: int) -> list[str]:
    if len(words) <= n:
        return [" ".join(words)] if words else []
    # n shifted views zipped (the shorter ones end it): a third less than joining
    # one slice per position.
    return [" ".join(gram) for gram in zip(*(words[i:] for i in range(n)), strict=False)]


def _hashes(grams: list[str], seed: int) -> Iterator[int]:
    """Each gram's unsigned 32-bit MurmurHash3, by ``map`` (no Python frame per gram)."""
    return map(mmh3.hash, grams, repeat(seed), repeat(False))


def article_words(title: str | None, text: str, *, normalized: str | None = None) -> list[str]:
    """The normalized words compared of an article: its headline's, then its
    text's (a page's first line is its headline in one source and the start
    of its body in another).  ``normalized``: the text's
    :func:`~transforms.core.normalize.normalize_for_hashing` form, when the
    caller has it already."""
    return tokens(title or "") + words_of(normalize_for_hashing(text) if normalized is None else normalized)


def compact(words: Sequence[str], cap: int = MAX_SHINGLES) -> np.ndarray:
    """The hashes (uint32) of the distinct word 2-grams of ``words``, in the
    order they first occur, at most ``cap``."""
    hashes = dict.fromkeys(_hashes(_grams(words, GRAM_WORDS), _GRAM_SEED))
    return np.fromiter(hashes, dtype=np.uint32, count=len(hashes))[:cap]


def anchors(words: Sequence[str], every: int, max_anchors: int) -> list[str]:
    """The document's anchor keys: its word 5-grams whose hash is divisible
    by ``every`` (the ``max_anchors`` smallest).  A text with none (a brief
    of a few words) uses its smallest 5-gram hash, so it still meets the
    same brief run elsewhere."""
    hashes = set(_hashes(_grams(words, ANCHOR_WORDS), _ANCHOR_SEED))
    chosen = sorted(h for h in hashes if h % every == 0)[:max_anchors] or sorted(hashes)[:1]
    return [f"{h:08x}" for h in chosen]


@dataclass(frozen=True)
class CopyRule:
    """When one text is a copy of another: at least ``containment`` of the
    smaller one's 2-grams are in the other, and the first quarter of them
    lies within the first ``lead`` of the larger; or at least ``anywhere``
    of them are, wherever they sit."""

    containment: float = 0.4
    lead: float = 0.5
    anywhere: float = 0.6


@dataclass(frozen=True)
class Overlap:
    containment: float  # share of the smaller text's 2-grams found in the other
    lead: float  # where the shared text sits in the larger one (0: from its start; 1: nothing shared)

    def is_copy(self, rule: CopyRule) -> bool:
        if self.containment >= rule.anywhere:
            return True
        return self.containment >= rule.containment and self.lead <= rule.lead


def _lead(shared: np.ndarray) -> float:
    """Where, as a share of the text ``shared`` marks (True: a 2-gram the
    other text has too), the first quarter of the shared 2-grams lies: a
    few set phrases two reports of one war share anywhere do not move it,
    a shared block does."""
    at = np.flatnonzero(shared)
    return float(at[(len(at) - 1) // 4]) / len(shared) if len(at) else 1.0


def overlap(a: np.ndarray, b: np.ndarray) -> Overlap:
    """What compact forms ``a`` and ``b`` share; symmetric in its arguments."""
    if len(a) == 0 or len(b) == 0:
        return Overlap(0.0, 1.0)
    smaller, larger = (a, b) if len(a) <= len(b) else (b, a)
    in_smaller = np.isin(larger, smaller, assume_unique=True)
    # Both forms hold distinct hashes: the larger's shared ones are the smaller's.
    containment = int(in_smaller.sum()) / len(smaller)
    lead = _lead(in_smaller)
    if len(a) == len(b):  # either is "the larger": the earlier start counts, whichever order they come in
        lead = min(lead, _lead(np.isin(smaller, larger, assume_unique=True)))
    return Overlap(round(containment, 4), round(lead, 4))
