"""The conflict taxonomy: loading, validating and flattening it.

The taxonomy is package data (``data/taxonomy.yaml``), versioned, one
record per armed conflict.  This module turns it into flat, immutable
:class:`Alias` records the tagger compiles; it never matches text itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

TIERS = ("core", "context", "shared")
KINDS = ("names", "actors", "places", "events")
NEGATIVE = "negative"
# Taxonomy-wide conflict-event vocabulary (clashes, shelling, ceasefire ...):
# never evidence of one conflict by itself, it lets place names open one.
EVENT = "event"
# Violence and its ending open a conflict on its places; armed groups and
# victims open it on a core place only (a fire in a capital kills too, and
# a party profile names militias without any fighting).
EVENT_KINDS = ("violence", "armed", "peace", "victims")
OPENING_EVENTS = ("violence", "peace")
# Story frames (``frames``): a title that names one (an election) and no
# event term frames the article as that story; the conflicts it names are
# topics only if the title names their core aliases too.
FRAME = "frame"
# The conflict id of taxonomy-wide off-topic terms, which subtract from all.
EVERY_CONFLICT = "*"
DEFAULT_TAXONOMY = "taxonomy.yaml"


class TaxonomyError(ValueError):
    """The taxonomy file is malformed; the message names the record at fault."""


@dataclass(frozen=True, slots=True)
class Alias:
    """One surface name of a conflict as the taxonomy writes it."""

    conflict: str
    text: str
    lang: str
    tier: str  # core | context | shared | negative | event | frame
    # names | actors | places | events | negative | off-topic | violence | armed | peace | victims | a frame's name
    kind: str


@dataclass(frozen=True, slots=True)
class Conflict:
    id: str
    names: dict[str, str]
    ucdp: tuple[dict[str, Any], ...]
    episodes: tuple[dict[str, Any], ...]
    # A war between two parties: the aliases that name each (texts of the
    # conflict's own aliases).  Its places open it only when both are named.
    sides: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True, slots=True)
class Taxonomy:
    version: str
    complete_languages: tuple[str, ...]
    weights: dict[str, float]
    conflicts: tuple[Conflict, ...]
    aliases: tuple[Alias, ...]  # positive tiers, negatives, off-topic, event and frame terms alike

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.conflicts)


def packaged_taxonomy_text() -> str:
    return resources.files("transforms.core").joinpath("data", DEFAULT_TAXONOMY).read_text(encoding="utf-8")


def read_taxonomy_text(path: str | None = None) -> str:
    """The YAML text of the taxonomy at ``path``, or of the packaged one."""
    if not path:
        return packaged_taxonomy_text()
    return Path(path).read_text(encoding="utf-8")


def load_taxonomy(path: str | None = None) -> Taxonomy:
    return parse_taxonomy(read_taxonomy_text(path))


def parse_taxonomy(text: str) -> Taxonomy:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise TaxonomyError("the taxonomy must be a mapping with version, weights and conflicts")
    version = _required(doc, "version", "the taxonomy")
    complete = tuple((doc.get("languages") or {}).get("complete") or ())
    weights = {k: float(v) for k, v in _required(doc, "weights", "the taxonomy").items()}
    events = [
        alias for kind, by_lang in (doc.get("event_terms") or {}).items() for alias in _event_aliases(kind, by_lang)
    ]
    missing = [t for t in (*TIERS, NEGATIVE, *([EVENT] if events else [])) if t not in weights]
    if missing:
        raise TaxonomyError(f"weights lack {missing}")
    conflicts: list[Conflict] = []
    aliases = _aliases(EVERY_CONFLICT, doc.get("negative_terms"), NEGATIVE, "off-topic") + events
    aliases += _frame_aliases(doc.get("frames"))
    seen: set[str] = set()
    for record in _required(doc, "conflicts", "the taxonomy"):
        conflict_id = _required(record, "id", "a conflict record")
        if conflict_id in seen:
            raise TaxonomyError(f"conflict {conflict_id!r} appears twice")
        seen.add(conflict_id)
        own = _conflict_aliases(conflict_id, record)
        conflicts.append(
            Conflict(
                id=conflict_id,
                names=dict(_required(record, "names", conflict_id)),
                ucdp=tuple(record.get("ucdp") or ()),
                episodes=tuple(record.get("episodes") or ()),
                sides=_sides(conflict_id, record.get("sides"), {a.text for a in own if a.tier != NEGATIVE}),
            )
        )
        for lang in complete:
            if not any(a.lang == lang and a.tier == "core" for a in own):
                raise TaxonomyError(f"{conflict_id}: no core alias in {lang!r}, a language the taxonomy calls complete")
        aliases += own
    return Taxonomy(
        version=str(version),
        complete_languages=complete,
        weights=weights,
        conflicts=tuple(conflicts),
        aliases=tuple(aliases),
    )


def _conflict_aliases(conflict_id: str, record: dict) -> list[Alias]:
    out: list[Alias] = []
    for kind, tiers in (record.get("terms") or {}).items():
        if kind not in KINDS:
            raise TaxonomyError(f"{conflict_id}: unknown term kind {kind!r} (expected one of {KINDS})")
        for tier, by_lang in (tiers or {}).items():
            if tier not in TIERS:
                raise TaxonomyError(f"{conflict_id}.{kind}: unknown tier {tier!r} (expected one of {TIERS})")
            out += _aliases(conflict_id, by_lang, tier, kind)
    out += _aliases(conflict_id, record.get("negatives"), NEGATIVE, NEGATIVE)
    return out


def _sides(conflict_id: str, sides: Any, aliases: set[str]) -> tuple[frozenset[str], ...]:
    if sides is None:
        return ()
    shape = f"{conflict_id}.sides: two lists of the conflict's aliases, one per party"
    if not isinstance(sides, list) or len(sides) != 2:
        raise TaxonomyError(shape)
    for side in sides:
        if not isinstance(side, list) or not side or not all(isinstance(text, str) for text in side):
            raise TaxonomyError(shape)
    unknown = sorted({text for side in sides for text in side} - aliases)
    if unknown:
        raise TaxonomyError(f"{conflict_id}.sides: not aliases of the conflict: {unknown}")
    both = sorted(set(sides[0]) & set(sides[1]))
    if both:
        raise TaxonomyError(f"{conflict_id}.sides: on both sides: {both}")
    return tuple(frozenset(side) for side in sides)


def _event_aliases(kind: str, by_lang: dict | None) -> list[Alias]:
    if kind not in EVENT_KINDS:
        raise TaxonomyError(f"event_terms: unknown kind {kind!r} (expected one of {EVENT_KINDS})")
    return _aliases(EVERY_CONFLICT, by_lang, EVENT, kind)


def _frame_aliases(frames: Any) -> list[Alias]:
    shape = "frames: a mapping of frame names to their terms per language ({elections: {en: [election]}})"
    if frames is None:
        return []
    if not isinstance(frames, dict) or not all(isinstance(by_lang, dict) for by_lang in frames.values()):
        raise TaxonomyError(shape)
    return [alias for name, by_lang in frames.items() for alias in _aliases(EVERY_CONFLICT, by_lang, FRAME, str(name))]


def _aliases(conflict_id: str, by_lang: dict | None, tier: str, kind: str) -> list[Alias]:
    out = []
    for lang, texts in (by_lang or {}).items():
        if isinstance(texts, str):  # a bare string would be read letter by letter
            raise TaxonomyError(f"{conflict_id}.{kind}.{tier}.{lang}: a list of aliases, not {texts!r}")
        for text in texts or ():
            if not isinstance(text, str) or not text.strip():
                raise TaxonomyError(f"{conflict_id}.{kind}.{tier}.{lang}: empty or non-text alias {text!r}")
            out.append(Alias(conflict_id, text.strip(), lang, tier, kind))
    return out


def _required(mapping: dict, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or mapping.get(key) in (None, "", [], {}):
        raise TaxonomyError(f"{where} has no {key!r}")
    return mapping[key]
