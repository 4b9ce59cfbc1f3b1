"""Topic stage: tag every article with the armed conflicts it is about.

The taxonomy travels as YAML text (read once at graph-build time), so
workers need no file of their own; each builds its automaton in
``setup()``.  Tagging is a pure function of title, text and language, so
results do not depend on bundling, runner or worker count.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from transforms.common import TOPICS_PREFIX, NamedCounters, StageDoFn, timed_stage
from transforms.core.schema import NO_TOPIC
from transforms.core.taxonomy import parse_taxonomy
from transforms.core.topics import ScoringParams, TopicTagger
from transforms.shutdown import skip_last_collection


class TagTopicsFn(StageDoFn):
    STAGE = "topics"

    def __init__(self, taxonomy_text: str, params: ScoringParams):
        self.taxonomy_text = taxonomy_text
        self.params = params

    def setup(self) -> None:
        super().setup()
        self._tagger = TopicTagger(parse_taxonomy(self.taxonomy_text), self.params)
        self._counters = NamedCounters(TOPICS_PREFIX)
        skip_last_collection()

    @timed_stage
    def process(self, article: dict[str, Any]) -> Iterator[dict[str, Any]]:
        result = self._tagger.tag(article.get("title"), article["text"], article.get("lang"))
        self._counters.inc(result.primary or NO_TOPIC)
        yield {**article, **result.columns(self._tagger.version)}


class TagTopics(beam.PTransform):
    """Articles -> the same articles with topics, primary_topic,
    topic_scores, topic_evidence and topic_taxonomy."""

    def __init__(self, taxonomy_text: str, params: ScoringParams | None = None, **scoring: float):
        """``params``, or the :class:`ScoringParams` fields to change from
        their defaults (``min_score=``, ``min_share=``)."""
        super().__init__()
        self.taxonomy_text = taxonomy_text
        self.params = params or ScoringParams(**scoring)

    def expand(self, articles):
        return articles | "Tag" >> beam.ParDo(TagTopicsFn(self.taxonomy_text, self.params))
