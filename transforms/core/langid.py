"""Deterministic, bounded language identification on top of langdetect.

langdetect is randomised; its module-level ``detect()`` shares one global
factory whose seed any caller may change.  Here each :class:`LanguageDetector`
owns its factory with a fixed seed, and only a bounded prefix of the text is
looked at, so the answer depends on the text alone and costs the same for a
short brief and a 50-page report.  Building one loads ~55 profiles (about a
second): do it once per worker.

:class:`_Detector` is langdetect's own detector with its hot loops
rewritten: the text preparation (regular expressions instead of a loop
per character), the n-gram scan (one pass, character normalization looked
up in a table) and the sampling trials (numpy rows instead of 55-element
Python loops).  The arithmetic and the random draws are langdetect's, in the same
order, so the probabilities are equal to the last bit (a test compares them
with stock langdetect on hundreds of texts); it costs about half as much.
"""

from __future__ import annotations

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


class _Tables:
    """Lookups langdetect recomputes for every character and every draw,
    filled as they are first needed: a character's normalized form, and an
    n-gram's language probabilities as a numpy row.  Both are pure
    functions of their key, so what is filled so far never changes an
    answer; one instance lives as long as its LanguageDetector."""

    def __init__(self, word_lang_prob_map: dict[str, list[float]]) -> None:
        self.words = word_lang_prob_map
        self.chars: dict[str, str] = {}
        self.rows: dict[str, np.ndarray] = {}

    def row(self, word: str) -> np.ndarray:
        row = self.rows.get(word)
        if row is None:
            row = self.rows[word] = np.array(self.words[word], dtype=np.float64)
        return row


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
        # NGram.add_char and the 1..3-gram loop of Detector._extract_ngrams, inlined.
        known = self.word_lang_prob_map
        chars = self._tables.chars
        result: list[str] = []
        grams, capitalword = " ", False
        for raw in self.text:
            ch = chars.get(raw)
            if ch is None:
                ch = chars[raw] = NGram.normalize(raw)
            last = grams[-1]
            if last == " ":
                grams, capitalword = " ", False
                if ch == " ":
                    continue
            elif len(grams) >= NGram.N_GRAM:
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
            if len(grams) >= 2:
                if grams[-2:] in known:
                    result.append(grams[-2:])
                if len(grams) >= 3 and grams in known:
                    result.append(grams)
        return result

    def _detect_block(self) -> None:
        self.cleaning_text()
        ngrams = self._extract_ngrams()
        if not ngrams:
            raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")
        row = self._tables.row
        n = len(self.langlist)
        langprob = np.zeros(n)
        self.random.seed(self.seed)
        for _ in range(self.n_trial):
            prob = np.full(n, 1.0 / n)
            alpha = self.alpha + self.random.gauss(0.0, 1.0) * self.ALPHA_WIDTH
            weight = alpha / self.BASE_FREQ
            i = 0
            while True:
                prob *= weight + row(self.random.choice(ngrams))
                if i % 5 == 0:
                    # cumsum adds left to right, as Python's sum() does on 3.11.
                    prob /= np.cumsum(prob)[-1]
                    if prob.max() > self.CONV_THRESHOLD or i >= self.ITERATION_LIMIT:
                        break
                i += 1
            langprob += prob / self.n_trial
        self.langprob = [float(p) for p in langprob]
