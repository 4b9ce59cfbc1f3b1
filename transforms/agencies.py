"""Attribution stage: the news agencies each article credits with its copy.

The agency list travels as YAML text (read once at graph-build time), so
workers need no file of their own; each builds its matcher in ``setup()``.
Attribution is a pure function of an article's text and author, so results
do not depend on bundling, runner or worker count.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from transforms.common import NamedCounters, StageDoFn, timed_stage
from transforms.core.agencies import AgencyMatcher
from transforms.shutdown import skip_last_collection

AGENCY_PREFIX = "agency."
CREDIT_LINES = "credit_lines"  # the record field the extract stage fills for this stage only
NO_AGENCY = "none"


class AttributeAgenciesFn(StageDoFn):
    STAGE = "agencies"

    def __init__(self, agencies_text: str):
        self.agencies_text = agencies_text

    def setup(self) -> None:
        super().setup()
        self._matcher = AgencyMatcher(self.agencies_text)
        self._counters = NamedCounters(AGENCY_PREFIX)
        skip_last_collection()

    @timed_stage
    def process(self, article: dict[str, Any]) -> Iterator[dict[str, Any]]:
        # A saved text's credit lines, cleaned out of its text, close it again here.
        credit_lines = article.get(CREDIT_LINES) or ()
        text = "\n".join((article["text"], *credit_lines))
        attribution = self._matcher.attribute(text, article.get("author"), article.get("outlet"))
        for agency in attribution.agencies or (NO_AGENCY,):
            self._counters.inc(agency)
        yield {**{k: v for k, v in article.items() if k != CREDIT_LINES}, **attribution.columns()}


class AttributeAgencies(beam.PTransform):
    """Articles -> the same articles with agencies, agency_credits and dateline."""

    def __init__(self, agencies_text: str):
        super().__init__()
        self.agencies_text = agencies_text

    def expand(self, articles):
        return articles | "Attribute" >> beam.ParDo(AttributeAgenciesFn(self.agencies_text))
