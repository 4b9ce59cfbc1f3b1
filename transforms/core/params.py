"""Parameter sets of the stages: one frozen dataclass each, the one place
their defaults, their checks and their flags' help are written.

A field whose metadata has a ``help`` is a flag: :func:`add_flags` adds
``--<FLAG_PREFIX>_<field>`` with the field's type, default and help to an
argparse parser, and :meth:`Params.from_options` builds the dataclass back
from the parsed flags and checks it.  So a new field with a help text gets
its flag, its ``newsbeam run --help`` line and its Flex Template parameter
without being written anywhere else.

``check()`` raises ``ValueError`` naming the flag at fault.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar


class Params:
    """What the parameter dataclasses share: their flags' prefix and how
    they are read back from parsed flags."""

    FLAG_PREFIX: ClassVar[str]

    @classmethod
    def flag(cls, name: str) -> str:
        """The flag of field ``name``, without its dashes: 'dedup_bands'."""
        return f"{cls.FLAG_PREFIX}_{name}"

    @classmethod
    def flag_fields(cls) -> list[dataclasses.Field]:
        """The fields that are flags (those with a help text), in order."""
        return [f for f in dataclasses.fields(cls) if "help" in f.metadata]

    @classmethod
    def from_options(cls, opts: Any):
        """The parameters the parsed flags ``opts`` give (an argparse
        namespace or a PipelineOptions view), checked."""
        params = cls(**{f.name: getattr(opts, cls.flag(f.name)) for f in cls.flag_fields()})
        params.check()
        return params

    def check(self) -> None:
        """Raise ValueError naming the first flag whose value cannot work."""

    def _positive_int(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if value is None or value < 1:
                raise ValueError(f"--{self.flag(name)} must be a positive integer, got {value!r}")


def add_flags(parser, cls: type[Params]) -> None:
    """Add one argparse flag per flag field of ``cls``: its type, default and help."""
    hints = typing.get_type_hints(cls)
    for f in cls.flag_fields():
        parser.add_argument(f"--{cls.flag(f.name)}", type=hints[f.name], default=f.default, help=f.metadata["help"])


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class DedupParams(Params):
    """Near-duplicate detection: the anchors that make two articles
    candidates, the rule on the word 2-grams they share that makes them one
    story, and how long a story stays open.  Defaults chosen on the
    development part of ``make eval-dedup``; docs/dedup.md records the
    figures behind them."""

    FLAG_PREFIX: ClassVar[str] = "dedup"

    containment: float = field(
        default=0.4,
        metadata=_help(
            "Share of the shorter article's word 2-grams found in the other at or above which it is a copy "
            "(default %(default)s)."
        ),
    )
    lead: float = field(
        default=0.5,
        metadata=_help(
            "The first quarter of a copy's shared word 2-grams must lie within this share of the longer "
            "article, so a box reprinting another story at its foot is no copy (default %(default)s)."
        ),
    )
    containment_anywhere: float = field(
        default=0.6,
        metadata=_help(
            "Share of the shorter article's word 2-grams found in the other at or above which it is a copy "
            "wherever the shared text sits (default %(default)s)."
        ),
    )
    anchor_every: int = field(
        default=8,
        metadata=_help(
            "One word 5-gram in this many (chosen by hash) is an anchor; two articles are compared only "
            "when they share one (default %(default)s)."
        ),
    )
    max_anchors: int = field(
        default=64,
        metadata=_help("Anchors per article at most; a longer text keeps its smallest (default %(default)s)."),
    )
    horizon_days: float = field(
        default=3.0,
        metadata=_help(
            "Days after a story's first copy (event time) in which copies still join it (default %(default)s)."
        ),
    )
    max_reps: int = field(
        default=100,
        metadata=_help("Story representatives kept per anchor; the oldest go first (default %(default)s)."),
    )

    def __post_init__(self) -> None:
        # Checked on construction: a rule that cannot run is refused before any pipeline is built.
        self.check()

    def check(self) -> None:
        self._positive_int("anchor_every", "max_anchors", "max_reps")
        for name in ("containment", "lead", "containment_anywhere"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"--{self.flag(name)} must be above 0 and at most 1, got {value!r}")
        if not self.horizon_days > 0:
            raise ValueError(f"--{self.flag('horizon_days')} must be positive, got {self.horizon_days!r}")
        if self.containment_anywhere < self.containment:
            raise ValueError(
                f"--{self.flag('containment_anywhere')} ({self.containment_anywhere}) must not be below "
                f"--{self.flag('containment')} ({self.containment})"
            )


@dataclass(frozen=True)
class ScoringParams(Params):
    """Knobs of the topic score; defaults chosen on ``make eval-topics``
    (the README records the figures behind them).  Only the two gates are
    flags.

    Not checked on construction: the evaluation tries any thresholds;
    ``newsbeam run`` and ``newsbeam tag`` check them (:meth:`check`).
    """

    FLAG_PREFIX: ClassVar[str] = "topic"

    title_boost: float = 3.0
    lead_boost: float = 1.5
    lead_chars: int = 300  # normalized characters of the body that count as lead
    max_count: int = 10  # occurrences of one alias that still add weight
    distinct_bonus: float = 0.15  # per distinct alias beyond the first ...
    max_distinct_bonus: int = 4  # ... for at most this many
    # score of a conflict named only in passing (kept in topic_scores, never a topic):
    # the weight of one context alias
    mention_score: float = 1.0
    # share of the body's paragraphs naming an open conflict that keeps it a topic off the title and lead
    min_spread: float = 0.5
    # a topic needs at least this score ...
    min_score: float = field(
        default=12.0, metadata=_help("Score a conflict needs to be one of an article's topics (default %(default)s).")
    )
    # ... and this share of the strongest topic's
    min_share: float = field(
        default=0.25,
        metadata=_help(
            "Share of the strongest topic's score another conflict needs to be listed too, "
            "so passing mentions stay out (default %(default)s)."
        ),
    )

    def check(self) -> None:
        if not self.min_score > 0:
            raise ValueError(f"--{self.flag('min_score')} must be positive, got {self.min_score!r}")
        if not 0.0 <= self.min_share <= 1.0:
            raise ValueError(f"--{self.flag('min_share')} must be between 0 and 1, got {self.min_share!r}")


@dataclass(frozen=True)
class LanguageParams(Params):
    """Language detection: langdetect with a fixed seed on a bounded prefix
    of title and body; below ``min_prob`` the page's declared language wins."""

    FLAG_PREFIX: ClassVar[str] = "lang"

    # Measured by `make bench`: 1000 characters cost 30% less than 2000 and
    # gave the same language on 596 pages and articles (ANT Arabic, the seeds,
    # the bench sample).
    prefix_chars: int = field(
        default=1000, metadata=_help("Characters of title+body that language detection looks at (default %(default)s).")
    )
    min_prob: float = field(
        default=0.80,
        metadata=_help("Below this detection probability the page's declared language wins (default 0.80)."),
    )
    seed: int = field(
        default=0, metadata=_help("Seed of langdetect's sampling; fixed so results are reproducible (default 0).")
    )

    def check(self) -> None:
        self._positive_int("prefix_chars")
        if not 0.0 <= self.min_prob <= 1.0:
            raise ValueError(f"--{self.flag('min_prob')} must be between 0 and 1, got {self.min_prob!r}")
