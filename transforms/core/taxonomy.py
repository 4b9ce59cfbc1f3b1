"""The conflict taxonomy: loading, validating and flattening it.

The taxonomy is package data (``data/taxonomy.yaml``), versioned, one
record per armed conflict.  This module turns it into flat, immutable
:class:`Alias` records the tagger compiles; it never matches text itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from transforms.core.schema import NO_TOPIC

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
SECTIONS = ("version", "languages", "weights", "event_terms", "negative_terms", "frames", "conflicts")
RECORD_KEYS = ("id", "names", "ucdp", "episodes", "sides", "terms", "negatives")
# A conflict id names a topic=<id> folder and a value users filter on.
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_LANG = re.compile(r"[a-z]{2,3}")


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
    return decode_taxonomy(Path(path).read_bytes())


def decode_taxonomy(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TaxonomyError(f"not UTF-8 text (byte {exc.start})") from exc


# libyaml's safe loader where PyYAML was built with it (its wheels are):
# the same documents, read about five times faster than in Python, which a
# worker's start-up feels.  The agency list is read with it too.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(SAFE_LOADER):
    """YAML's safe loader, but a key given twice in one mapping is an error
    (a second ``violence:`` would silently replace the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # <<: *base, whose keys the mapping's own override
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise TaxonomyError(f"{key!r} is given twice in one mapping (line {line})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_taxonomy(path: str | None = None) -> Taxonomy:
    return parse_taxonomy(read_taxonomy_text(path))


def parse_taxonomy(text: str) -> Taxonomy:
    """Check and flatten a taxonomy's YAML text; any mistake is a
    :class:`TaxonomyError` whose one-line message names the place."""
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader that also refuses duplicate keys
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise TaxonomyError(f"not valid YAML{where}: {exc.problem or exc.context}") from exc
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # an impossible date (2016-13-45) is a ValueError
        raise TaxonomyError(f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise TaxonomyError("the taxonomy must be a mapping with version, weights and conflicts")
    _known_keys(doc, SECTIONS, "the taxonomy")
    version = _required(doc, "version", "the taxonomy")
    if not isinstance(version, str):  # version: 2026.10 would read as the number 2026.1
        raise TaxonomyError(f'version: a quoted string ("2026.12.14"), not {version!r}')
    languages = _mapping(doc.get("languages") or {}, "languages")
    _known_keys(languages, ("complete", "partial"), "languages")
    complete = tuple(_codes(languages.get("complete"), "languages.complete"))
    _codes(languages.get("partial"), "languages.partial")
    weights = _weights(_required(doc, "weights", "the taxonomy"))
    events = [
        alias
        for kind, by_lang in _mapping(doc.get("event_terms") or {}, "event_terms").items()
        for alias in _event_aliases(kind, by_lang)
    ]
    missing = [t for t in (*TIERS, NEGATIVE, *([EVENT] if events else [])) if t not in weights]
    if missing:
        raise TaxonomyError(f"weights lack {missing}")
    conflicts: list[Conflict] = []
    aliases = _aliases(EVERY_CONFLICT, doc.get("negative_terms"), NEGATIVE, "off-topic", "negative_terms") + events
    aliases += _frame_aliases(doc.get("frames"))
    seen: set[str] = set()
    records = _required(doc, "conflicts", "the taxonomy")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise TaxonomyError("conflicts: a list of conflict records (- id: ...)")
    for record in records:
        conflict_id = _required(record, "id", "a conflict record")
        if not isinstance(conflict_id, str) or not _ID.fullmatch(conflict_id) or conflict_id == NO_TOPIC:
            raise TaxonomyError(
                f"conflict id {conflict_id!r}: lower-case letters, digits and dashes, not {NO_TOPIC!r} "
                "(it names a topic= folder, and untagged articles go to topic=none)"
            )
        _known_keys(record, RECORD_KEYS, conflict_id)
        if conflict_id in seen:
            raise TaxonomyError(f"conflict {conflict_id!r} appears twice")
        seen.add(conflict_id)
        own = _conflict_aliases(conflict_id, record)
        conflicts.append(
            Conflict(
                id=conflict_id,
                names=_names(_required(record, "names", conflict_id), conflict_id),
                ucdp=_records(record.get("ucdp"), f"{conflict_id}.ucdp"),
                episodes=_records(record.get("episodes"), f"{conflict_id}.episodes"),
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


def _known_keys(mapping: dict, known: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(k) for k in mapping if k not in known)
    if unknown:
        raise TaxonomyError(f"{where}: unknown key {unknown[0]!r} (expected one of {', '.join(known)})")


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise TaxonomyError(f"{where}: a mapping, not {type(value).__name__} {value!r:.60}")
    return value


def _codes(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(c, str) and _LANG.fullmatch(c) for c in value):
        raise TaxonomyError(f"{where}: a list of language codes ([ar, en]), not {value!r:.60}")
    return value


def _weights(value: Any) -> dict[str, float]:
    known = (*TIERS, NEGATIVE, EVENT)
    weights = _mapping(value, "weights")
    _known_keys(weights, known, "weights")
    for name, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) or weight < 0:
            raise TaxonomyError(f"weights.{name}: a number of 0 or more, not {weight!r}")
    return {name: float(weight) for name, weight in weights.items()}


def _names(value: Any, conflict_id: str) -> dict[str, str]:
    names = _mapping(value, f"{conflict_id}.names")
    for lang, name in names.items():
        if not (isinstance(lang, str) and _LANG.fullmatch(lang)) or not isinstance(name, str) or not name.strip():
            raise TaxonomyError(f"{conflict_id}.names: a name per language code ({{en: ..., ar: ...}}), not {lang!r}")
    return dict(names)


def _records(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise TaxonomyError(f"{where}: a list of records ({{name: ..., start: ...}})")
    return tuple(value)


def _conflict_aliases(conflict_id: str, record: dict) -> list[Alias]:
    out: list[Alias] = []
    for kind, tiers in _mapping(record.get("terms") or {}, f"{conflict_id}.terms").items():
        if kind not in KINDS:
            raise TaxonomyError(f"{conflict_id}: unknown term kind {kind!r} (expected one of {KINDS})")
        for tier, by_lang in _mapping(tiers or {}, f"{conflict_id}.terms.{kind}").items():
            if tier not in TIERS:
                raise TaxonomyError(f"{conflict_id}.{kind}: unknown tier {tier!r} (expected one of {TIERS})")
            out += _aliases(conflict_id, by_lang, tier, kind, f"{conflict_id}.terms.{kind}.{tier}")
    out += _aliases(conflict_id, record.get("negatives"), NEGATIVE, NEGATIVE, f"{conflict_id}.negatives")
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
    return _aliases(EVERY_CONFLICT, by_lang, EVENT, kind, f"event_terms.{kind}")


def _frame_aliases(frames: Any) -> list[Alias]:
    shape = "frames: a mapping of frame names to their terms per language ({elections: {en: [election]}})"
    if frames is None:
        return []
    if not isinstance(frames, dict) or not all(isinstance(by_lang, dict) for by_lang in frames.values()):
        raise TaxonomyError(shape)
    return [
        alias
        for name, by_lang in frames.items()
        for alias in _aliases(EVERY_CONFLICT, by_lang, FRAME, str(name), f"frames.{name}")
    ]


def _aliases(conflict_id: str, by_lang: dict | None, tier: str, kind: str, where: str) -> list[Alias]:
    """The aliases of one {language: [alias, ...]} mapping; ``where`` names it in errors."""
    out = []
    for lang, texts in _mapping(by_lang or {}, f"{where} (aliases per language code)").items():
        if not isinstance(lang, str) or not _LANG.fullmatch(lang):
            raise TaxonomyError(f"{where}: {lang!r} is not a language code (ar, en, fr ...)")
        if texts is not None and not isinstance(texts, list):  # a bare string would be read letter by letter
            raise TaxonomyError(f"{where}.{lang}: a list of aliases, not {texts!r:.60}")
        for text in texts or ():
            if not isinstance(text, str) or not text.strip():
                raise TaxonomyError(f"{where}.{lang}: empty or non-text alias {text!r}")
            out.append(Alias(conflict_id, text.strip(), lang, tier, kind))
    return out


def _required(mapping: dict, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or mapping.get(key) in (None, "", [], {}):
        raise TaxonomyError(f"{where} has no {key!r}")
    return mapping[key]
