"""Scores for extracted articles against ground truth.

* Body: the Zyte benchmark's metric, as its README and evaluate.py describe
  it: word tokens (``\\w+``), shingles of 4 consecutive tokens counted as a
  multiset, per page TP/FP/FN normalized to sum to 1; precision is the mean
  over pages with something predicted or expected, recall likewise, and F1
  is the harmonic mean of those two means.
* Headline: exactly the publisher's after NFKC, case folding, every
  punctuation or symbol character read as a space, and runs of space
  collapsed.
* Publication day: the predicted UTC day is the publisher's day, as written
  (in its own zone) or in UTC.
* Publication time: on pages whose publisher gives a time of day, the
  prediction has a time of day (precision ``minute`` or ``second``) within
  an hour of it.  A publisher's time without a zone is read as UTC, as the
  pipeline reads one.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta

_TOKEN = re.compile(r"\w+", re.UNICODE)
TIME_TOLERANCE = timedelta(hours=1)
TIMED = ("minute", "second")


def _shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN.findall(text or "")
    # A text shorter than n tokens is one (short) shingle, as in the benchmark.
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def shingle_counts(expected: str, predicted: str) -> tuple[float, float, float]:
    """One page's (tp, fp, fn) over 4-gram shingles, normalized to sum to 1."""
    want, got = _shingles(expected), _shingles(predicted)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def body_scores(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """``pairs``: (expected, predicted) per page.  F1, precision, recall."""
    counts = [shingle_counts(expected, predicted) for expected, predicted in pairs]
    precision = statistics.mean(_precision(*c) for c in counts if c[0] + c[1] > 0)
    recall = statistics.mean(_recall(*c) for c in counts if c[0] + c[2] > 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


def normalize_headline(text: str | None) -> str:
    """Compared by words: NFKC, case folded, punctuation, symbols and spaces
    as one space, invisible format characters (a zero-width space) dropped."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = "".join("" if unicodedata.category(c) == "Cf" else " " if unicodedata.category(c)[0] in "PSZ" else c
                   for c in text)  # fmt: skip
    return " ".join(text.split())


def headline_right(expected: str | None, predicted: str | None) -> bool:
    return bool(expected) and normalize_headline(expected) == normalize_headline(predicted)


def _publisher_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def has_time_of_day(expected: str | None) -> bool:
    if not expected:
        return False
    at = _publisher_time(expected)
    return (at.hour, at.minute, at.second) != (0, 0, 0)


def day_right(expected: str | None, predicted: datetime | None) -> bool:
    if not expected or predicted is None:
        return False
    at = _publisher_time(expected)
    utc = at.astimezone(UTC) if at.tzinfo else at
    return predicted.astimezone(UTC).date() in (at.date(), utc.date())


def local_day_right(expected: str | None, predicted: datetime | None, precision: str | None) -> bool:
    """An annotated day without a zone ('2022-05-03'): right when the row's
    day is that day, or, for a row with a time of day, when its instant falls
    on that calendar day in some zone (UTC-12 to UTC+14): a page published at
    22:36 in New York is stored as 02:36 UTC the next day."""
    if not expected or predicted is None:
        return False
    try:
        day = datetime.fromisoformat(expected[:10]).replace(tzinfo=UTC)
    except ValueError:
        return False
    if precision not in TIMED:
        return predicted.astimezone(UTC).date() == day.date()
    return day - timedelta(hours=14) <= predicted < day + timedelta(days=1, hours=12)


def time_right(expected: str | None, predicted: datetime | None, precision: str | None) -> bool:
    if not has_time_of_day(expected) or predicted is None or precision not in TIMED:
        return False
    at = _publisher_time(expected)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return abs(predicted - at) <= TIME_TOLERANCE
