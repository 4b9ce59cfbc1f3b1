"""Deterministic, bounded language identification on top of langdetect.

langdetect is randomised; its module-level ``detect()`` shares one global
factory whose seed any caller may change.  Here each :class:`LanguageDetector`
owns its factory with a fixed seed, and only a bounded prefix of the text is
looked at, so the answer depends on the text alone and costs the same for a
short brief and a 50-page report.  Building one loads ~55 profiles (about a
second): do it once per worker.

:class:`_Detector` is langdetect's own detector with its hot loops
rewritten: the text preparation (regular expressions instead of a loop
per character), the n-gram scan (characters normalized by ``str.translate``,
n-grams remembered per word) and the sampling trials (numpy rows instead of
55-element Python loops, the five draws between two convergence checks
multiplied in one step).  The arithmetic and the random draws are
langdetect's, in the same order, so every language's probability is equal
to the last bit (a test compares them with stock langdetect on hundreds of
texts); it takes under half the time of stock langdetect.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import ErrorCode, LangDetectException
from langdetect.utils.ngram import NGram

_LANG_TAG = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*$")


@dataclass(frozen=True, slots=True)
class LangResult:
    lang: str | None
    prob: float | None
    # detected | declared | none
    source: str


def normalize_lang_tag(tag: str | None) -> str | None:
    """'ar-SA' -> 'ar', 'en_US' -> 'en'; anything else -> None."""
    if not tag:
        return None
    m = _LANG_TAG.match(tag)
    return m.group(1).lower() if m else None


class LanguageDetector:
    def __init__(self, *, seed: int = 0, prefix_chars: int = 2000, min_prob: float = 0.80) -> None:
        if prefix_chars <= 0:
            raise ValueError("prefix_chars must be positive")
        self.prefix_chars = prefix_chars
        self.min_prob = min_prob
        self._factory = DetectorFactory()
        self._factory.load_profile(PROFILES_DIRECTORY)
        self._factory.set_seed(seed)
        self._tables = _Tables(self._factory.word_lang_prob_map)

    def _probabilities(self, text: str) -> list[tuple[str, float]]:
        detector = _Detector(self._factory, self._tables)
        detector.append(text[: self.prefix_chars])
        try:
            return [(p.lang, p.prob) for p in detector.get_probabilities()]
        except LangDetectException:
            return []

    def detect(self, text: str, declared: str | None = None) -> LangResult:
        """Best language of ``text``; the page's ``declared`` language wins
        when detection is unsure (top probability under ``min_prob``)."""
        declared = normalize_lang_tag(declared)
        probs = self._probabilities(text)
        if probs and probs[0][1] >= self.min_prob:
            lang, prob = probs[0]
            return LangResult(_short(lang), round(prob, 6), "detected")
        if declared:
            prob = next((p for lang, p in probs if _short(lang) == declared), None)
            return LangResult(declared, round(prob, 6) if prob is not None else None, "declared")
        if probs:
            lang, prob = probs[0]
            return LangResult(_short(lang), round(prob, 6), "detected")
        return LangResult(None, None, "none")


def _short(lang: str) -> str:
    # langdetect reports 'zh-cn' / 'zh-tw'; the table keeps ISO 639-1 codes.
    return lang.split("-")[0]


_SPACE_RUN = re.compile(" {2,}")
_LATIN = re.compile("[A-z]")  # langdetect's 'A' <= ch <= 'z', punctuation between the cases included
_NON_LATIN = re.compile("[\u0300-\U0010ffff]")


class _CharTable(dict):
    """``str.translate`` table of langdetect's character normalization
    (``NGram.normalize``, one character to one character), each code point
    classified on first sight."""

    def __missing__(self, cp: int) -> str:
        value = self[cp] = NGram.normalize(chr(cp))
        return value


class _Tables:
    """Lookups langdetect recomputes for every character, word and draw,
    filled as they are first needed: a character's normalized form, a
    word's n-grams, and an n-gram's language probabilities as a numpy row.
    All are pure functions of their key, so what is filled so far never
    changes an answer; one instance lives as long as its LanguageDetector,
    and the word memo is bounded (news vocabulary is not)."""

    WORDS_KEPT = 1 << 16

    def __init__(self, word_lang_prob_map: dict[str, list[float]]) -> None:
        self.words = word_lang_prob_map
        self.chars = _CharTable()
        self.rows: dict[str, np.ndarray] = {}
        self.word_grams = functools.lru_cache(maxsize=self.WORDS_KEPT)(self._word_grams)

    def row(self, word: str) -> np.ndarray:
        row = self.rows.get(word)
        if row is None:
            row = self.rows[word] = np.array(self.words[word], dtype=np.float64)
        return row

    def _word_grams(self, word: str, spaced: bool) -> tuple[str, ...]:
        """The known 1-, 2- and 3-grams langdetect's NGram buffer yields
        over one normalized ``word`` (no spaces in it) that follows a space,
        and the space after it when ``spaced``, in langdetect's order."""
        known = self.words
        result: list[str] = []
        grams, capitalword = " ", False
        for ch in word + " " if spaced else word:
            last = grams[-1]
            if len(grams) >= NGram.N_GRAM:
                grams = grams[1:]
            grams += ch
            if ch.isupper():
                capitalword = capitalword or last.isupper()
            else:
                capitalword = False
            if capitalword:
                continue
            if ch != " " and ch in known:
                result.append(ch)
            if grams[-2:] in known:
                result.append(grams[-2:])
            if len(grams) >= 3 and grams in known:
                result.append(grams)
        return tuple(result)


class _Detector(Detector):
    """langdetect 1.0.9's Detector (pinned in setup.py) with its text
    preparation, ``_extract_ngrams`` and ``_detect_block`` rewritten for
    speed; same results."""

    def __init__(self, factory: DetectorFactory, tables: _Tables) -> None:
        super().__init__(factory)
        self._tables = tables

    def append(self, text: str) -> None:
        # Detector.append, whose loop keeps one space of each run of spaces.
        text = self.URL_RE.sub(" ", text)
        text = self.MAIL_RE.sub(" ", text)
        text = NGram.normalize_vi(text)
        self.text += _SPACE_RUN.sub(" ", text[: self.max_text_length])

    def cleaning_text(self) -> None:
        # Detector.cleaning_text.  Its exception for the Latin Extended
        # Additional block compares a block number with a block name, so it
        # never applies: every character from U+0300 up counts as non-Latin.
        latin = len(_LATIN.findall(self.text))
        if latin * 2 < len(_NON_LATIN.findall(self.text)):
            self.text = _LATIN.sub("", self.text)

    def _extract_ngrams(self) -> list[str]:
        # Detector._extract_ngrams feeds every character to one NGram
        # buffer, which starts afresh after each space: so the n-grams of
        # the text are those of its space-separated words, each followed by
        # its space (the last word only when the text ends with one).  A
        # word's n-grams are remembered, and natural text repeats words.
        words = self.text.translate(self._tables.chars).split(" ")
        word_grams = self._tables.word_grams
        result: list[str] = []
        last = len(words) - 1
        for k, word in enumerate(words):
            if word:
                result += word_grams(word, k < last)
        return result

    def _detect_block(self) -> None:
        self.cleaning_text()
        ngrams = self._extract_ngrams()
        if not ngrams:
            raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")
        row = self._tables.row
        n = len(self.langlist)
        langprob = np.zeros(n)
        factors = np.empty((6, n))
        choice = self.random.choice
        self.random.seed(self.seed)
        for _ in range(self.n_trial):
            prob = np.full(n, 1.0 / n)
            alpha = self.alpha + self.random.gauss(0.0, 1.0) * self.ALPHA_WIDTH
            weight = alpha / self.BASE_FREQ
            # langdetect checks for convergence after the first draw and
            # then after every fifth (ITERATION_LIMIT is a multiple of 5), so
            # the five draws between two checks are applied together: a
            # product down axis 0 multiplies row after row, in langdetect's order.
            prob *= weight + row(choice(ngrams))
            drawn = 1
            while True:
                prob /= np.cumsum(prob)[-1]  # cumsum adds left to right, as sum() does on 3.11
                if prob.max() > self.CONV_THRESHOLD or drawn > self.ITERATION_LIMIT:
                    break
                factors[0] = prob
                for k in range(1, 6):
                    factors[k] = row(choice(ngrams))
                factors[1:] += weight
                prob = np.multiply.reduce(factors, axis=0)
                drawn += 5
            langprob += prob / self.n_trial
        self.langprob = [float(p) for p in langprob]
