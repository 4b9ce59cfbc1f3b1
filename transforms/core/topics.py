"""Conflict-topic tagging: which armed conflicts an article is about, how
strongly, and the aliases that say so.

Text is matched on the same normalization as dedup
(:func:`~transforms.core.normalize.normalize_for_hashing`) with one
Aho-Corasick automaton holding every surface form of every alias.  Keys are
padded with spaces, so a hit is always a whole word sequence; Arabic clitic
prefixes are compiled into the keys instead of being stripped from the text,
so "وبشوشي" matches شوشي while "بشوشين" matches nothing.

A gate in the spirit of GDELT's event coding and the Europe Media Monitor's
combined alerts decides which conflicts an article is about: a conflict's
core names open it, its places only with a word of violence or ceasefire
(armed groups or victims too, for a core place), and a war between two parties only when
both are named (:meth:`TopicTagger._opening`).  A conflict named but not opened is a
passing mention, kept in the scores with a small score; one opened under a
title that frames another story (an election) stays in the scores too.  Scoring follows
the same recipe: tier weight times count, title and lead boosted, a bonus
for several distinct aliases, event terms beside the conflict's aliases
added, negative terms (the conflict's own and the taxonomy-wide off-topic
ones) subtracted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import ahocorasick

from transforms.core.normalize import normalize_for_hashing
from transforms.core.params import ScoringParams  # its defaults and flags live with the other parameter sets
from transforms.core.taxonomy import (
    EVENT,
    EVERY_CONFLICT,
    FRAME,
    NEGATIVE,
    OPENING_EVENTS,
    Alias,
    Taxonomy,
    load_taxonomy,
    parse_taxonomy,
)

_ARABIC = re.compile("[\u0600-\u06ff]")
ARTICLE = "ال"
# "(ال)" in the taxonomy: the word also takes the definite article.
OPTIONAL_ARTICLE = "(ال)"
# Conjunctions (و ف) then prepositions (ب ل ك), each optional, in that order.
PLAIN_PROCLITICS = ("", "و", "ف", "ب", "ل", "ك", "وب", "فب", "ول", "فل", "وك", "فك")
# Before the article, ل fuses with it: ل + القوات = للقوات.
ARTICLE_PROCLITICS = ("", "و", "ف", "ب", "ك", "وب", "فب", "وك", "فك")
LAM_PROCLITICS = ("ل", "ول", "فل")
_GLOBAL = -1  # conflict index of the taxonomy-wide off-topic, event and frame terms
_TITLE = 0  # the title's sentence unit
_PARAGRAPH = re.compile(r"\s*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+")


class Evidence(NamedTuple):
    topic: str
    alias: str
    tier: str
    kind: str
    count: int


@dataclass(frozen=True)
class TopicResult:
    topics: tuple[str, ...]
    primary: str | None
    scores: tuple[tuple[str, float], ...]  # every scored or mentioned conflict, strongest first
    evidence: tuple[Evidence, ...]  # aliases and event terms behind every conflict in scores
    # (conflict, why): the gate's decision on every conflict with evidence
    decisions: tuple[tuple[str, str], ...] = ()

    def columns(self, taxonomy_version: str) -> dict[str, Any]:
        """The article columns of this result (see ``schema.ARTICLE_SCHEMA``)."""
        return {
            "topics": list(self.topics),
            "primary_topic": self.primary,
            "topic_scores": [{"topic": t, "score": s} for t, s in self.scores],
            "topic_evidence": [e._asdict() for e in self.evidence],
            "topic_taxonomy": taxonomy_version,
        }


class _Hit:
    """The occurrences of one alias in one article: how many, their weight
    (at most ``max_count`` of them add), and the sentences they are in."""

    __slots__ = ("count", "prominent", "units", "weight")

    def __init__(self) -> None:
        self.count = 0
        self.weight = 0.0
        self.units: set[int] = set()
        self.prominent = False  # in the title or the lead

    def add(self, weight: float, unit: int, max_count: int, prominent: bool = False) -> None:
        if self.count < max_count:
            self.weight += weight
        self.count += 1
        self.units.add(unit)
        self.prominent |= prominent

    def merge(self, other: _Hit, max_count: int) -> None:
        room = max(max_count - self.count, 0)
        self.weight += other.weight * min(room, other.count) / other.count
        self.count += other.count
        self.units |= other.units


class _Sentence(NamedTuple):
    text: str
    unit: int  # sentences one apart in a paragraph are units one apart; paragraphs are further apart
    paragraph: int  # 0: the title


def _sentences(title: str | None, text: str) -> Iterable[_Sentence]:
    """The title, then the body's sentences.  "Near" is the same or the next
    sentence of a paragraph: unit numbers leave a gap between paragraphs."""
    yield _Sentence(title or "", 0, 0)
    unit = 0
    for paragraph, block in enumerate(_PARAGRAPH.split(text or ""), start=1):
        unit += 2
        for k, sentence in enumerate(_SENTENCE_END.split(block)):
            yield _Sentence(sentence, unit + k, paragraph)
        unit += k


def _beside(units: set[int]) -> set[int]:
    """The sentences near these: each, and the one before and after it in its paragraph."""
    return {u + d for u in units for d in (-1, 0, 1)}


def stems(alias: str) -> frozenset[str]:
    """The stems of an alias's words: each word of three letters or more,
    without the article, cut to four letters."""
    words = normalize_for_hashing(alias.removeprefix(OPTIONAL_ARTICLE)).split()
    return frozenset(w.removeprefix(ARTICLE)[:4] for w in words if len(w.removeprefix(ARTICLE)) >= 3)


def same_name(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two aliases are one name in two forms: a stem of one begins a
    stem of the other (Libya and Libyan, ليبيا and الليبية, اليمن and
    اليمنية, دولة مالي and في مالي); Tripoli and Libya are two."""
    return any(x.startswith(y) or y.startswith(x) for x in a for y in b)


class _Entry(NamedTuple):
    conflict: int  # index into the taxonomy's conflicts, _GLOBAL for off-topic terms
    alias: int  # index into the tagger's alias list
    lang: str
    tier: str


def surface_forms(alias: str) -> set[str]:
    """Every normalized form under which ``alias`` is accepted in text.

    Latin and Cyrillic aliases are taken as they normalize.  Arabic ones
    also in joined form (two words written as one) and behind every clitic
    prefix; with ``(ال)`` also with the article and its clitics."""
    takes_article = alias.startswith(OPTIONAL_ARTICLE)
    base = normalize_for_hashing(alias.removeprefix(OPTIONAL_ARTICLE))
    if not base:
        return set()
    if not _ARABIC.search(base):
        return {base}
    stems = {base}
    if base.count(" ") == 1:
        stems.add(base.replace(" ", ""))
    forms: set[str] = set()
    for stem in stems:
        forms |= _with_proclitics(stem)
        if takes_article and not stem.startswith(ARTICLE):
            forms |= _with_proclitics(ARTICLE + stem)
    return forms


def _with_proclitics(stem: str) -> set[str]:
    if stem.startswith(ARTICLE):
        # ل + القوات = للقوات; before a word that itself begins with ل the article's
        # lam goes too: ل + اللاذقية = للاذقية.
        fused = stem[2:] if stem.startswith(ARTICLE + "ل") else stem[1:]
        return {p + stem for p in ARTICLE_PROCLITICS} | {p + fused for p in LAM_PROCLITICS}
    return {p + stem for p in PLAIN_PROCLITICS}


class TopicTagger:
    """Tags articles against one taxonomy.  Build once per worker (the
    automaton takes a fraction of a second); :meth:`tag` is pure."""

    def __init__(self, taxonomy: Taxonomy, params: ScoringParams | None = None):
        self.taxonomy = taxonomy
        self.params = params or ScoringParams()
        self._ids = taxonomy.ids
        index = {cid: i for i, cid in enumerate(self._ids)} | {EVERY_CONFLICT: _GLOBAL}
        self._aliases: list[Alias] = list(taxonomy.aliases)
        self._weights = dict(taxonomy.weights)
        self._stems = [stems(a.text) for a in self._aliases]
        # Per conflict, the alias indices naming each of its two sides (if it has them).
        self._sides = [
            tuple({i for i, a in enumerate(self._aliases) if a.conflict == c.id and a.text in side} for side in c.sides)
            for c in taxonomy.conflicts
        ]
        self._all_langs = frozenset(a.lang for a in self._aliases)
        keyed: dict[str, dict[tuple[int, str, bool], _Entry]] = {}
        for i, alias in enumerate(self._aliases):
            entry = _Entry(index[alias.conflict], i, alias.lang, alias.tier)
            for form in surface_forms(alias.text):
                # The first alias of a conflict to claim a form keeps it (an event
                # term, a frame term and an off-topic term are three claims).
                claim = alias.tier if alias.tier in (EVENT, FRAME) else ""
                keyed.setdefault(form, {}).setdefault((entry.conflict, alias.lang, claim), entry)
        self._automaton = ahocorasick.Automaton()
        for form, entries in keyed.items():
            self._automaton.add_word(f" {form} ", (len(form) + 2, tuple(entries.values())))
        self._automaton.make_automaton()

    @property
    def version(self) -> str:
        return self.taxonomy.version

    def languages_for(self, lang: str | None) -> frozenset[str]:
        """An article in a language the taxonomy has complete is matched on
        that language's aliases only; anything else on all of them."""
        if lang and lang in self.taxonomy.complete_languages:
            return frozenset({lang})
        return self._all_langs

    def tag(self, title: str | None, text: str, lang: str | None = None) -> TopicResult:
        p = self.params
        langs = self.languages_for(lang)
        hits: dict[int, dict[int, _Hit]] = {}  # conflict -> alias -> its occurrences
        events: dict[int, dict[int, _Hit]] = {}  # sentence -> event term -> its occurrences
        frames: dict[int, _Hit] = {}  # frame term in the title -> its occurrences
        paragraphs: dict[int, int] = {}  # unit -> its paragraph
        offset = 0  # normalized characters of the body before this sentence (the lead is its first lead_chars)
        for sentence in _sentences(title, text):
            normalized = normalize_for_hashing(sentence.text)
            if not normalized:
                continue
            is_title = sentence.paragraph == 0
            paragraphs[sentence.unit] = sentence.paragraph
            for start, entries in self._spans(normalized, langs, is_title):
                boost = p.title_boost if is_title else (p.lead_boost if offset + start < p.lead_chars else 1.0)
                for entry in entries:
                    if entry.tier == FRAME:
                        frames.setdefault(entry.alias, _Hit()).add(0.0, sentence.unit, p.max_count, True)
                        continue
                    if entry.tier == EVENT:
                        table = events.setdefault(sentence.unit, {})
                    else:
                        table = hits.setdefault(entry.conflict, {})
                    table.setdefault(entry.alias, _Hit()).add(
                        self._weights[entry.tier] * boost, sentence.unit, p.max_count, boost > 1
                    )
            if not is_title:
                offset += len(normalized) + 1
        return self._score(hits, events, paragraphs, frames)

    def _spans(
        self, normalized: str, langs: frozenset[str], is_title: bool = False
    ) -> list[tuple[int, tuple[_Entry, ...]]]:
        """Leftmost-longest non-overlapping alias hits as (start, entries):
        a negative such as "Qarabag FK" swallows the "Qarabag" inside it.
        Frame terms count in the title only."""
        candidates = []
        for end, (length, entries) in self._automaton.iter(f" {normalized} "):
            usable = tuple(e for e in entries if e.lang in langs and (is_title or e.tier != FRAME))
            if not usable:
                continue
            # Offsets into ``normalized``: the key's first and last word characters.
            start, last = end - length + 1, end - 2
            candidates.append((start, last, usable))
        candidates.sort(key=lambda c: (c[0], -c[1]))
        kept = []
        taken_to = -1
        for start, last, entries in candidates:
            if start > taken_to:
                kept.append((start, entries))
                taken_to = last
        return kept

    def _opening(
        self, conflict: int, by_alias: dict[int, _Hit], opening_units: set[int], any_event: bool
    ) -> str | None:
        """The gate: why this conflict's evidence opens it, or None.

        A core name, actor or event of the conflict opens it.  A core place
        (a town at the heart of the war: Gaza, Idlib, Kandahar) opens it
        when the article has an event term of any kind anywhere.  Two
        distinct place or country aliases (Tripoli and Libya, not Libya and
        Libyan) open it when a term of violence or of its ending is in the
        sentence of one, or next to it; not one of victims or armed groups,
        since a fire in a capital kills too and a profile of a country's
        parties names its militias.  A district named in a harvest
        story, or "clashes between fans" beside one country's name, opens
        nothing.  A war between two
        parties (the taxonomy's ``sides``) opens on its places only when the
        article names both: Iran's cities and militias beside a violence
        term, with Israel unnamed, are no Iran-Israel war story."""
        aliases = [self._aliases[a] for a in by_alias]
        named = sorted({a.kind for a in aliases if a.tier == "core" and a.kind != "places"})
        if named:
            return f"core {'/'.join(named)}"
        if not all(side & by_alias.keys() for side in self._sides[conflict]):
            return None
        if any_event and any(a.tier == "core" for a in aliases):
            return "core place, an event term in the article"
        parties = set().union(*self._sides[conflict])
        # A two-party war's parties are its countries, whatever their tier (Israel is shared).
        located = [a for a in by_alias if self._aliases[a].tier in ("core", "context") or a in parties]
        near = [a for a in located if _beside(by_alias[a].units) & opening_units]
        if any(not same_name(self._stems[a], self._stems[b]) for a in near for b in located):
            return "two places, violence or ceasefire beside them"
        return None

    def _score(
        self,
        hits: dict[int, dict[int, _Hit]],
        events: dict[int, dict[int, _Hit]],
        paragraphs: dict[int, int],
        frames: dict[int, _Hit],
    ) -> TopicResult:
        p = self.params
        # A title naming an election and no event term frames an election story.
        frame = sorted({self._aliases[a].kind for a in frames}) if _TITLE not in events else []
        off_topic = hits.pop(_GLOBAL, {})
        off_topic_weight = sum(h.weight for h in off_topic.values())
        opening = {u for u, terms in events.items() if any(self._aliases[a].kind in OPENING_EVENTS for a in terms)}
        body_paragraphs = len(set(paragraphs.values()) - {0})
        listed: list[tuple[str, float, int]] = []  # (conflict id, score, index) of every conflict in topic_scores
        eligible: set[str] = set()  # opened and focused: may be a topic
        decisions: list[tuple[str, str]] = []
        for conflict, by_alias in sorted(hits.items()):
            cid = self._ids[conflict]
            negative = sum(h.weight for a, h in by_alias.items() if self._aliases[a].tier == NEGATIVE)
            positive = {a: h for a, h in by_alias.items() if self._aliases[a].tier != NEGATIVE}
            own = [h for a, h in positive.items() if self._aliases[a].tier in ("core", "context")]
            why = self._opening(conflict, positive, opening, bool(events))
            if why is None:
                # A passing mention (a context alias alone, a place with no word
                # of violence) is findable in topic_scores, with a small score.
                mention = round(min(sum(h.weight for h in own) - negative - off_topic_weight, p.mention_score), 3)
                if own and mention > 0:
                    listed.append((cid, mention, conflict))
                    decisions.append((cid, "mentioned in passing: not opened"))
                else:
                    decisions.append((cid, "not opened"))
                continue
            bonus = 1.0 + p.distinct_bonus * min(len(positive) - 1, p.max_distinct_bonus)
            # Event terms weigh for a conflict in the sentences that name it and the next ones.
            near: dict[int, _Hit] = {}
            for unit in sorted(_beside(set().union(*(h.units for h in positive.values()))) & set(events)):
                for a, h in events[unit].items():
                    near.setdefault(a, _Hit()).merge(h, p.max_count)
            by_alias.update(near)
            weight = sum(h.weight for h in positive.values()) + sum(h.weight for h in near.values())
            if why.startswith("core place"):
                # The term that opened a core place may stand far from it: it shows in the
                # evidence too, adding no weight.
                for terms in events.values():
                    for a, h in terms.items():
                        if a not in near:
                            far = by_alias.setdefault(a, _Hit())
                            far.count += h.count
                            far.units |= h.units
            score = round(weight * bonus - negative - off_topic_weight, 3)
            if score <= 0:
                decisions.append((cid, f"opened ({why}), outweighed by negative terms"))
                continue
            listed.append((cid, score, conflict))
            # The article keeps to it: named in the title or lead, or in half of its paragraphs.
            spread = {paragraphs[u] for h in own for u in h.units} - {0}
            if frame and not self._beyond_frame(positive):
                # The story is the election; the war is its background.
                by_alias.update(frames)
                story = "/".join(frame)
                decisions.append((cid, f"opened ({why}), but the title frames a story of {story}: not a topic"))
            elif any(h.prominent for h in own) or len(spread) >= p.min_spread * body_paragraphs - 1e-9:
                eligible.add(cid)
                decisions.append((cid, f"opened ({why})"))
            else:
                decisions.append((cid, f"opened ({why}), but named only off the title and lead: not a topic"))
        listed.sort(key=lambda s: (-s[1], s[0]))
        top = max((s for t, s, _ in listed if t in eligible), default=0.0)
        topics = tuple(t for t, s, _ in listed if t in eligible and s >= p.min_score and s >= p.min_share * top)
        evidence = tuple(ev for _, _, conflict in listed for ev in self._evidence(conflict, hits[conflict] | off_topic))
        # An open conflict the thresholds leave out says which one.
        score = {t: s for t, s, _ in listed}
        for k, (cid, why) in enumerate(decisions):
            if cid in eligible and cid not in topics:
                below = "the minimum score" if score[cid] < p.min_score else "a share of the strongest topic's score"
                decisions[k] = (cid, f"{why}, but below {below}: not a topic")
        return TopicResult(
            topics=topics,
            primary=topics[0] if topics else None,
            scores=tuple((t, s) for t, s, _ in listed),
            evidence=evidence,
            decisions=tuple(decisions),
        )

    def _beyond_frame(self, by_alias: dict[int, _Hit]) -> bool:
        """Whether a framed article is about the conflict after all: the title
        names one of its core aliases, or the article names two distinct core
        names or parties of it (Libya's rival governments agreeing on an
        election date; not an Iraqi campaign that recalls the army)."""
        core = [a for a in by_alias if self._aliases[a].tier == "core"]
        if any(_TITLE in by_alias[a].units for a in core):
            return True
        parties: list[int] = []
        for a in core:
            if self._aliases[a].kind == "places":
                continue
            if not any(same_name(self._stems[a], self._stems[b]) for b in parties):
                parties.append(a)
        return len(parties) >= 2

    def _evidence(self, conflict: int, by_alias: dict[int, _Hit]) -> Iterable[Evidence]:
        ordered = sorted(by_alias.items(), key=lambda kv: (-kv[1].weight, self._aliases[kv[0]].text))
        for a, hit in ordered:
            alias = self._aliases[a]
            yield Evidence(self._ids[conflict], alias.text, alias.tier, alias.kind, hit.count)


@functools.cache
def default_tagger() -> TopicTagger:
    """The tagger of the packaged taxonomy with default scoring.  Cached
    because building it is the expensive part; it is immutable, so the
    cache never changes a result."""
    return TopicTagger(load_taxonomy())


def tag(title: str | None, text: str, lang: str | None = None, *, taxonomy: str | None = None) -> TopicResult:
    """Tag one article: ``tag(title, text, lang)``.  ``taxonomy`` is the YAML
    text of another taxonomy to tag against (for people tuning one)."""
    tagger = default_tagger() if taxonomy is None else TopicTagger(parse_taxonomy(taxonomy))
    return tagger.tag(title, text, lang)
