"""Language stage: langdetect with a fixed seed on a bounded prefix of each
article; the page's declared language decides when detection is unsure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from transforms.common import NamedCounters, StageDoFn, timed_stage
from transforms.core.langid import LanguageDetector
from transforms.core.params import LanguageParams
from transforms.shutdown import skip_last_collection


class DetectLanguageFn(StageDoFn):
    STAGE = "language"

    def __init__(self, params: LanguageParams):
        self.params = params

    def setup(self) -> None:
        super().setup()
        p = self.params
        self._detector = LanguageDetector(seed=p.seed, prefix_chars=p.prefix_chars, min_prob=p.min_prob)
        self._counters = NamedCounters("lang.")
        skip_last_collection()

    @timed_stage
    def process(self, article: dict[str, Any]) -> Iterator[dict[str, Any]]:
        row = dict(article)
        declared = row.pop("declared_lang", None)
        # The title is in the same language and helps very short bodies.
        sample = f"{row['title']}\n{row['text']}" if row.get("title") else row["text"]
        result = self._detector.detect(sample, declared)
        row["lang"], row["lang_prob"], row["lang_source"] = result.lang, result.prob, result.source
        self._counters.inc(result.lang or "unknown")
        yield row


class DetectLanguage(beam.PTransform):
    """articles -> articles with ``lang``, ``lang_prob`` and ``lang_source``."""

    def __init__(self, params: LanguageParams = LanguageParams()):
        super().__init__()
        self.params = params

    def expand(self, articles):
        return articles | "Detect" >> beam.ParDo(DetectLanguageFn(self.params))
