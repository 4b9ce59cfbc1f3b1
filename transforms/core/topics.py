"""Conflict-topic tagging: which armed conflicts an article is about, how
strongly, and the aliases that say so.

Text is matched on the same normalization as dedup
(:func:`~transforms.core.normalize.normalize_for_hashing`) with one
Aho-Corasick automaton holding every surface form of every alias.  Keys are
padded with spaces, so a hit is always a whole word sequence; Arabic clitic
prefixes are compiled into the keys instead of being stripped from the text,
so "وبشوشي" matches شوشي while "بشوشين" matches nothing.

Scoring follows GDELT's and the Europe Media Monitor's recipe: tier weight
times count, title and lead boosted, a bonus for several distinct aliases,
context and shared aliases counted only next to a core alias, negative terms
(the conflict's own and the taxonomy-wide off-topic ones) subtracted.
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
from transforms.core.taxonomy import EVERY_CONFLICT, NEGATIVE, Alias, Taxonomy, load_taxonomy, parse_taxonomy

_ARABIC = re.compile("[\u0600-\u06ff]")
ARTICLE = "ال"
# "(ال)" in the taxonomy: the word also takes the definite article.
OPTIONAL_ARTICLE = "(ال)"
# Conjunctions (و ف) then prepositions (ب ل ك), each optional, in that order.
PLAIN_PROCLITICS = ("", "و", "ف", "ب", "ل", "ك", "وب", "فب", "ول", "فل", "وك", "فك")
# Before the article, ل fuses with it: ل + القوات = للقوات.
ARTICLE_PROCLITICS = ("", "و", "ف", "ب", "ك", "وب", "فب", "وك", "فك")
LAM_PROCLITICS = ("ل", "ول", "فل")
_GLOBAL = -1  # conflict index of the taxonomy-wide off-topic terms


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
    scores: tuple[tuple[str, float], ...]  # every conflict scored above 0, strongest first
    evidence: tuple[Evidence, ...]  # aliases behind every scored conflict
    gated: tuple[str, ...] = ()  # conflicts with hits that did not pass the gate

    def columns(self, taxonomy_version: str) -> dict[str, Any]:
        """The article columns of this result (see ``schema.ARTICLE_SCHEMA``)."""
        return {
            "topics": list(self.topics),
            "primary_topic": self.primary,
            "topic_scores": [{"topic": t, "score": s} for t, s in self.scores],
            "topic_evidence": [e._asdict() for e in self.evidence],
            "topic_taxonomy": taxonomy_version,
        }


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
        return {p + stem for p in ARTICLE_PROCLITICS} | {p + stem[1:] for p in LAM_PROCLITICS}
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
        self._all_langs = frozenset(a.lang for a in self._aliases)
        keyed: dict[str, dict[tuple[int, str], _Entry]] = {}
        for i, alias in enumerate(self._aliases):
            entry = _Entry(index[alias.conflict], i, alias.lang, alias.tier)
            for form in surface_forms(alias.text):
                # The first alias of a conflict to claim a form keeps it.
                keyed.setdefault(form, {}).setdefault((entry.conflict, alias.lang), entry)
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
        # conflict -> alias -> [count, weighted sum]
        hits: dict[int, dict[int, list[float]]] = {}
        for segment, is_title in ((title or "", True), (text or "", False)):
            normalized = normalize_for_hashing(segment)
            if not normalized:
                continue
            for start, entries in self._spans(normalized, langs):
                boost = p.title_boost if is_title else (p.lead_boost if start < p.lead_chars else 1.0)
                for entry in entries:
                    slot = hits.setdefault(entry.conflict, {}).setdefault(entry.alias, [0, 0.0])
                    if slot[0] < p.max_count:
                        slot[1] += self._weights[entry.tier] * boost
                    slot[0] += 1
        return self._score(hits)

    def _spans(self, normalized: str, langs: frozenset[str]) -> list[tuple[int, tuple[_Entry, ...]]]:
        """Leftmost-longest non-overlapping alias hits as (start, entries):
        a negative such as "Qarabag FK" swallows the "Qarabag" inside it."""
        candidates = []
        for end, (length, entries) in self._automaton.iter(f" {normalized} "):
            usable = tuple(e for e in entries if e.lang in langs)
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

    def _score(self, hits: dict[int, dict[int, list[float]]]) -> TopicResult:
        p = self.params
        off_topic = hits.pop(_GLOBAL, {})
        off_topic_weight = sum(w for _, w in off_topic.values())
        scored: list[tuple[str, float, int]] = []
        gated: list[str] = []
        for conflict, by_alias in sorted(hits.items()):
            tiers = [self._aliases[a].tier for a in by_alias]
            if "core" not in tiers:
                gated.append(self._ids[conflict])
                continue
            positive = sum(w for a, (_, w) in by_alias.items() if self._aliases[a].tier != NEGATIVE)
            negative = sum(w for a, (_, w) in by_alias.items() if self._aliases[a].tier == NEGATIVE)
            distinct = len(tiers) - tiers.count(NEGATIVE)
            bonus = 1.0 + p.distinct_bonus * min(distinct - 1, p.max_distinct_bonus)
            score = round(positive * bonus - negative - off_topic_weight, 3)
            if score > 0:
                scored.append((self._ids[conflict], score, conflict))
            else:
                gated.append(self._ids[conflict])
        scored.sort(key=lambda s: (-s[1], s[0]))
        top = scored[0][1] if scored else 0.0
        topics = tuple(t for t, s, _ in scored if s >= p.min_score and s >= p.min_share * top)
        evidence = tuple(ev for _, _, conflict in scored for ev in self._evidence(conflict, hits[conflict] | off_topic))
        return TopicResult(
            topics=topics,
            primary=topics[0] if topics else None,
            scores=tuple((t, s) for t, s, _ in scored),
            evidence=evidence,
            gated=tuple(gated),
        )

    def _evidence(self, conflict: int, by_alias: dict[int, list[float]]) -> Iterable[Evidence]:
        ordered = sorted(by_alias.items(), key=lambda kv: (-kv[1][1], self._aliases[kv[0]].text))
        for a, (count, _) in ordered:
            alias = self._aliases[a]
            yield Evidence(self._ids[conflict], alias.text, alias.tier, alias.kind, int(count))


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
