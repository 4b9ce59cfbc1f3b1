"""Shingling, MinHash signatures and the estimated similarity check that
tells a page revised in place from a new text under the same URL.

Everything is deterministic: shingles are hashed with MurmurHash3 (32 bit,
fixed seed, not Python's salted ``hash``) and the permutations come from a
fixed-seed generator, so the same text has the same signature in every
process.  The permutation step is vectorised with numpy (one array
operation per document, not a Python loop per permutation) and uses the
same universal hashing as datasketch, so figures are comparable with it.

Containment is estimated from the Jaccard estimate and the two shingle-set
sizes: |A∩B| = J/(1+J)·(|A|+|B|), so a copy cut to its first 60 % is still
recognised although its Jaccard similarity to the full story is only 0.6.
"""

from __future__ import annotations

from dataclasses import dataclass

import mmh3
import numpy as np

from transforms.core.normalize import tokens

_MERSENNE_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)


def shingles(text: str, size: int = 3) -> set[str]:
    """Word ``size``-grams of the normalized text (the whole text if shorter)."""
    words = tokens(text)
    if not words:
        return set()
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


@dataclass(frozen=True)
class Signature:
    values: np.ndarray  # uint32[num_perm]
    size: int  # number of distinct shingles

    def jaccard(self, other: Signature) -> float:
        return float(np.mean(self.values == other.values))

    def containment(self, other: Signature) -> float:
        """Estimated share of the smaller document's shingles found in the other."""
        j = self.jaccard(other)
        smaller = min(self.size, other.size)
        if smaller == 0:
            return 0.0
        intersection = j / (1.0 + j) * (self.size + other.size)
        return min(1.0, intersection / smaller)


class MinHasher:
    """Signatures with ``num_perm`` permutations from a fixed seed."""

    def __init__(self, num_perm: int = 128, shingle_size: int = 3, seed: int = 1) -> None:
        if num_perm <= 0 or shingle_size <= 0:
            raise ValueError("num_perm and shingle_size must be positive")
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        rng = np.random.RandomState(seed)
        self._a = rng.randint(1, _MERSENNE_PRIME, size=num_perm, dtype=np.uint64)
        self._b = rng.randint(0, _MERSENNE_PRIME, size=num_perm, dtype=np.uint64)

    def signature(self, text: str) -> Signature:
        grams = shingles(text, self.shingle_size)
        if not grams:
            return Signature(np.full(self.num_perm, _MAX_HASH, dtype=np.uint32), 0)
        hashes = np.fromiter((mmh3.hash(g, 0, signed=False) for g in grams), dtype=np.uint64, count=len(grams))
        # (a·x + b) mod p, truncated to 32 bits, for every permutation at once;
        # uint64 products wrap, deterministically, exactly as in datasketch.
        permuted = (hashes[:, None] * self._a[None, :] + self._b[None, :]) % _MERSENNE_PRIME
        values = np.bitwise_and(permuted, _MAX_HASH).min(axis=0).astype(np.uint32)
        return Signature(values, len(grams))


@dataclass(frozen=True)
class SimilarityThresholds:
    jaccard: float = 0.5
    containment: float = 0.8


def is_same_story(a: Signature, b: Signature, thresholds: SimilarityThresholds) -> tuple[bool, float]:
    """(same story?, similarity score): Jaccard for reruns, containment for cuts."""
    j = a.jaccard(b)
    c = a.containment(b)
    score = max(j, c)
    return (j >= thresholds.jaccard or c >= thresholds.containment), score
