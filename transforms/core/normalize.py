"""Text normalization for hashing and matching, one function for dedup and
topic tagging alike, so both see the same words.

Orthographic variation the Arabic press really shows is folded away: NFKC,
diacritics (U+0610-061A, U+064B-065F, U+0670) and tatweel removed, alef
forms to bare alef, alef maksura to yeh, teh marbuta to heh, Persian yeh
and keheh to their Arabic forms, Arabic-Indic digits to ASCII, punctuation
and symbols to spaces, Latin case-folded.
"""

from __future__ import annotations

import unicodedata

_FOLD = {
    **{ord(c): "ا" for c in "أإآٱ"},
    ord("ى"): "ي",
    ord("ة"): "ه",
    ord("ی"): "ي",  # Persian yeh
    ord("ک"): "ك",  # keheh
    ord("ـ"): None,  # tatweel
    ord("ٰ"): None,  # superscript alef
    **{cp: None for cp in range(0x0610, 0x061B)},
    **{cp: None for cp in range(0x064B, 0x0660)},
    **{0x0660 + d: str(d) for d in range(10)},  # Arabic-Indic digits
    **{0x06F0 + d: str(d) for d in range(10)},  # Extended (Persian) digits
}


class _Table(dict):
    """The ``str.translate`` table: the folds above, then punctuation,
    symbols, separators and control characters to a space, everything else
    kept.  Code points are classified on first sight and remembered, so the
    per-character work runs in C; the memo only caches a pure function of
    the code point and never changes a result."""

    def __missing__(self, cp: int) -> str | int:
        value = " " if unicodedata.category(chr(cp))[0] in "PSZC" else cp
        self[cp] = value
        return value


_TABLE = _Table(_FOLD)


def normalize_for_hashing(text: str) -> str:
    """The folded, punctuation-free, single-spaced form of ``text``."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().translate(_TABLE).split())


def tokens(text: str) -> list[str]:
    """Normalized words of ``text``."""
    return words_of(normalize_for_hashing(text))


def words_of(normalized: str) -> list[str]:
    """The words of a text already in :func:`normalize_for_hashing` form."""
    return normalized.split(" ") if normalized else []


def shingles(text: str, size: int = 3) -> set[str]:
    """Word ``size``-grams of the normalized text (the whole text if shorter):
    what the evaluation's MinHash baselines hash."""
    words = tokens(text)
    if not words:
        return set()
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}
