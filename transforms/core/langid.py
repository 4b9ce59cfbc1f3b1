"""Deterministic, bounded language identification on top of langdetect.

langdetect is randomised; its module-level ``detect()`` shares one global
factory whose seed any caller may change.  Here each :class:`LanguageDetector`
owns its factory with a fixed seed, and only a bounded prefix of the text is
looked at, so the answer depends on the text alone and costs the same for a
short brief and a 50-page report.  Building one loads ~55 profiles (about a
second): do it once per worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

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

    def _probabilities(self, text: str) -> list[tuple[str, float]]:
        detector = self._factory.create()
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
