"""Wire-agency attribution: which news agencies an article credits as the
source of its copy, where it says so, and its dateline's place.

An agency counts only where it is credited with the copy:

* ``dateline``: the credit at the start of the body, "KYIV (Reuters) -",
  "WASHINGTON (AP) —", "باكو (أ ف ب) -", "(رويترز) -";
* ``credit line``: a short paragraph or closing bracket that is nothing but
  credits, "فرانس24/ أ ف ب", "(AFP)", "Source: Reuters", "المصدر: وكالات",
  or Reuters' "Reporting by ...; Editing by ...";
* ``byline``: the author field naming an agency, "By The Associated Press".

A name in the running text ("told Reuters", "نقلت وكالة رويترز") is a
citation and is never credited; nor is a photo credit ("Photo: AFP").  The
agencies and their spellings are package data (``data/agencies.yaml``),
matched after the normalization topics and dedup use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from transforms.core.normalize import normalize_for_hashing
from transforms.core.taxonomy import SAFE_LOADER

DEFAULT_AGENCIES = "agencies.yaml"
DATELINE, CREDIT_LINE, BYLINE = "dateline", "credit line", "byline"
# How far into its paragraph a dateline can end, the paragraphs it may open
# (captions and teasers come first on many pages), and how long a credit line is.
DATELINE_CHARS = 160
DATELINE_PARAGRAPHS = 5
CREDIT_LINE_CHARS = 80
# Paragraphs at the end of the body where a credit line may stand (and the first).
EDGE_PARAGRAPHS = 3
# A dateline's place is at most this many words ("دبي، الإمارات العربية المتحدة").
PLACE_WORDS = 4
# How far before a closing bracket an agency's name makes it a gloss ("وكالة الأنباء السعودية (واس)").
GLOSS_CHARS = 40

_DASH = r"[-–—]"
# PLACE[, date] (CREDIT) -   or   PLACE - (CREDIT)   or   (CREDIT) -   (a colon after the bracket is a quote's)
_DATELINE = re.compile(
    rf"^\s*(?P<place>[^()\n!?؟\"«»:]{{0,80}}?)\s*(?:{_DASH}+\s*)?\((?P<credit>[^()\n]{{1,60}})\)\s*{_DASH}",
)
# Newsroom labels that open a paragraph like a place: "BREAKING —", "FILE PHOTO -".
_LABELS = frozenset(
    "BREAKING UPDATE UPDATED FILE EXCLUSIVE ANALYSIS OPINION WATCH VIDEO PHOTOS PHOTO LIVE EDITORIAL COMMENT "
    "REVIEW FACTBOX EXPLAINER CORRECTED CORRECTION URGENT ADVISORY NOTE".split()
)
# Words of an outlet's name that say nothing of which outlet it is.
_GENERIC = frozenset({"news", "the", "arabic", "online", "عربيه", "بالعربيه", "نيوز", "الاخباريه", "موقع"})
# An English dateline without a credit: "LONDON —", "SEOUL, South Korea —".
_CAPS_DATELINE = re.compile(
    r"^\s*(?P<place>[A-Z][A-Z.'-]+(?: [A-Z][A-Z.'-]+){0,2}(?:, [A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+)?)?)\s+[-–—]+\s"
)
# A Japanese or Chinese dateline: "【6月18日 AFP】".
_BRACKET_DATELINE = re.compile(r"^\s*【(?P<credit>[^】\n]{1,40})】")
_PARAGRAPHS = re.compile(r"\s*\n\s*")
# A closing bracket of credits at the very end of the body: "... he said. (AFP)"
_CLOSING = re.compile(r"\((?P<credit>[^()\n]{1,60})\)\s*$")
_LABEL = re.compile(
    r"^\s*(?:source|sources|credit|المصدر|المصادر|مصدر|with|additional reporting by|©|\(c\)|[-–—:|•*])\s*:?\s*", re.I
)
_PHOTO = re.compile(r"photo|image|picture|getty|video|footage|صورة|صور|الصورة|فيديو|أرشيفية|ارشيفية", re.I)
_REUTERS_SIGNATURE = re.compile(r"\b(?:reporting|writing) by\b.{0,200}?\bediting by\b", re.I | re.S)
_STAFF_AND_AGENCIES = re.compile(r"\b(?:staff|agencies) and agencies\b|\bwith agencies\b", re.I)
_PARTS = re.compile(r"\s*(?:/|\||،|,|\+|&|\band\b|\s-\s|\s–\s|\s—\s)\s*", re.I)
# Words a credit wraps a name in: "وكالة", "news agency", "the".
_WRAPPERS = ("وكاله", "انباء", "الانباء", "للانباء", "the", "news agency", "agency", "news")


@dataclass(frozen=True)
class Credit:
    agency: str
    where: str  # dateline | credit line | byline
    text: str  # the credit as written


@dataclass(frozen=True)
class Attribution:
    agencies: tuple[str, ...]  # credited agency ids, sorted
    credits: tuple[Credit, ...]
    dateline: str | None  # the dateline's place as written

    def columns(self) -> dict[str, Any]:
        """The article columns of this result (see ``schema.ARTICLE_SCHEMA``)."""
        return {
            "agencies": list(self.agencies),
            "agency_credits": [{"agency": c.agency, "where": c.where, "text": c.text} for c in self.credits],
            "dateline": self.dateline,
        }


class AgencyError(ValueError):
    """The agency list is malformed; the message names the record at fault."""


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    names: tuple[str, ...]  # every spelling, any language
    short: tuple[str, ...]  # spellings that are ordinary words or initials elsewhere


def packaged_agencies_text() -> str:
    return resources.files("transforms.core").joinpath("data", DEFAULT_AGENCIES).read_text(encoding="utf-8")


def parse_agencies(text: str) -> tuple[str, tuple[Agency, ...]]:
    """(version, agencies) of an agency list's YAML text."""
    try:
        doc = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise AgencyError(f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not doc.get("version") or not doc.get("agencies"):
        raise AgencyError("the agency list must be a mapping with version and agencies")
    agencies, seen = [], set()
    for record in doc["agencies"]:
        if not isinstance(record, dict) or not record.get("id") or not record.get("names"):
            raise AgencyError(f"an agency record lacks id or names: {record!r}")
        if record["id"] in seen:
            raise AgencyError(f"agency {record['id']!r} appears twice")
        seen.add(record["id"])
        names = tuple(str(n) for by_lang in record["names"].values() for n in by_lang or ())
        agencies.append(Agency(record["id"], record.get("name", record["id"]), names, tuple(record.get("short") or ())))
    return str(doc["version"]), tuple(agencies)


def _name_key(text: str) -> str:
    """A name's comparison form: normalized, without words carrying digits
    (dates and outlets' numbers, "6月18日", "فرانس24", are never an agency)."""
    return " ".join(w for w in normalize_for_hashing(text).split() if not any(ch.isdigit() for ch in w))


def _key(text: str) -> str:
    """A credit part's comparison form: its name key without the words a
    credit wraps a name in ("وكالة رويترز", "Reuters news agency")."""
    words = _name_key(text).split()
    while words and words[0] in _WRAPPERS:
        words = words[1:]
    key = " ".join(words)
    for wrapper in _WRAPPERS:
        key = key.removesuffix(f" {wrapper}")
    return key


class AgencyMatcher:
    """Finds the agencies credited in an article.  Build once per worker;
    :meth:`attribute` is pure."""

    def __init__(self, text: str | None = None) -> None:
        self.version, agencies = parse_agencies(text or packaged_agencies_text())
        self._full: dict[str, str] = {}  # key -> agency id: names that are credits anywhere
        self._short: dict[str, str] = {}  # key -> agency id: also in brackets and credit lines only
        for agency in agencies:
            # Names keep their wrappers: "وكالة أنباء الإمارات" is WAM, "الإمارات" is not.
            for name in agency.names:
                self._full.setdefault(_name_key(name), agency.id)
            for name in agency.short:
                self._short.setdefault(_name_key(name), agency.id)
        self._full.pop("", None)
        self._short.pop("", None)

    def _credited(self, credit: str, outlet: frozenset[str], short: bool = True) -> list[str] | None:
        """The agencies a credit names when it is nothing but credits: each
        part an agency or the outlet's own name ("فرانس24/ أ ف ب"); None when
        a part is anything else (running text, a photographer's name:
        "Mahmud Hams/AFP").  ``short``: whether short spellings count."""
        parts = [part for part in _PARTS.split(_LABEL.sub("", credit)) if _key(part)]
        if not parts:
            return None
        found = []
        for part in parts:
            key, whole = _key(part), _name_key(part)
            agency = self._full.get(whole) or self._full.get(key)
            if agency is None and short:
                agency = self._short.get(whole) or self._short.get(key)
            if agency:
                found.append(agency)
            elif not _is_outlet(part, key, outlet):
                return None
        return found

    def _names_an_agency(self, text: str) -> bool:
        words = f" {_name_key(text)} "
        return any(f" {name} " in words for name in self._full if len(name) > 3) or " وكاله " in words

    def _dateline(self, paragraph: str, first: bool, outlet: frozenset[str]) -> tuple[str | None, list[Credit]] | None:
        """(place, its credits) when the paragraph opens with a dateline."""
        match = _DATELINE.match(paragraph[:DATELINE_CHARS]) or _BRACKET_DATELINE.match(paragraph)
        if match:
            place = (match.groupdict().get("place") or "").strip(" -–—،,")
            agencies = None if _PHOTO.search(match.group("credit")) else self._credited(match.group("credit"), outlet)
            latin = re.match(r"[A-Za-z]", place)
            believable = (
                len(place.split()) <= PLACE_WORDS
                and not self._names_an_agency(place)  # "لوكالة الأنباء الألمانية (د.ب.أ)": a citation's gloss
                # A Latin place is capitalised ("Kyiv, Ukraine (CNN) —"); after captions, in capitals
                # ("MUMBAI (Reuters) -"); an Arabic one only opens the text.
                and (not place or (latin and _capital(place, first)) or (not latin and first))
            )
            if agencies is not None and believable:
                return place or None, [Credit(a, DATELINE, match.group("credit").strip()) for a in agencies]
        caps = _CAPS_DATELINE.match(paragraph)
        if caps and caps.group("place").split()[0].strip(".,") not in _LABELS:
            return caps.group("place"), []
        return None

    def _credit_line(self, paragraph: str, outlet: frozenset[str]) -> list[str]:
        if len(paragraph) > CREDIT_LINE_CHARS or _PHOTO.search(paragraph):
            return []
        return self._credited(paragraph.strip().strip("()[]"), outlet) or []

    def attribute(self, text: str, author: str | None = None, outlet: str | None = None) -> Attribution:
        """The credits of an article's body and author field.  ``outlet``:
        the outlet's name, whose own credit ("(CNN)", "فرانس24/") is no
        agency's but still makes a dateline or a credit line."""
        credits: list[Credit] = []
        own = frozenset(w for w in _key(outlet or "").split() if len(w) > 2 and w not in _GENERIC)
        dateline, dated = None, -1  # dated: the paragraph the dateline opens
        paragraphs = [p for p in _PARAGRAPHS.split((text or "").strip()) if p]
        for k, paragraph in enumerate(paragraphs[:DATELINE_PARAGRAPHS]):
            found = self._dateline(paragraph, k == 0, own)
            if found is not None:
                dated, (dateline, opening) = k, found
                credits += opening
                break
        # The first paragraph and the last ones, but not the dateline's: "(Reuters)" as a line of its own.
        last = len(paragraphs) - EDGE_PARAGRAPHS
        edges = [p for k, p in enumerate(paragraphs) if (k == 0 or k >= last) and k != dated]
        for paragraph in dict.fromkeys(edges):
            credits += [Credit(a, CREDIT_LINE, paragraph.strip()) for a in self._credit_line(paragraph, own)]
        if paragraphs and len(paragraphs[-1]) > CREDIT_LINE_CHARS:
            closing = _CLOSING.search(paragraphs[-1])
            before = paragraphs[-1][: closing.start()][-GLOSS_CHARS:] if closing else ""
            # Not a gloss ("وكالة الأنباء السعودية (واس)"), a photo credit or an acronym ("(INA)"): full spellings.
            if closing and not _PHOTO.search(closing.group("credit")) and not self._names_an_agency(before):
                credit = f"({closing.group('credit').strip()})"
                found = self._credited(closing.group("credit"), own, short=False) or ()
                credits += [Credit(a, CREDIT_LINE, credit) for a in found]
        tail = "\n".join(paragraphs[-EDGE_PARAGRAPHS:])
        signature = _REUTERS_SIGNATURE.search(tail)
        if signature and "reuters" in self._full.values():
            credits.append(Credit("reuters", CREDIT_LINE, signature.group(0).strip()[:120]))
        staff = _STAFF_AND_AGENCIES.search(" ".join(filter(None, (author, paragraphs[0] if paragraphs else ""))))
        if staff and "wires" in self._full.values():
            credits.append(Credit("wires", BYLINE, staff.group(0)))
        for part in _PARTS.split(re.sub(r"^\s*by\s+", "", author or "", flags=re.I)):
            agency = self._full.get(_name_key(part)) or self._full.get(_key(part))
            if agency:
                credits.append(Credit(agency, BYLINE, (author or "").strip()))
        unique = tuple(dict.fromkeys(credits))
        return Attribution(tuple(sorted({c.agency for c in unique})), unique, dateline)


def _is_outlet(part: str, key: str, outlet: frozenset[str]) -> bool:
    """A credit's part that is the outlet's own name: it shares a word with
    the outlet, or carries a number, as outlets' names do and people's do
    not ("France 24", "فرانس 24")."""
    return bool(re.search(r"\d", part)) or bool(outlet & set(key.split()))


def _capital(place: str, first: bool) -> bool:
    word = place.split()[0].strip(".,")
    return word[:1].isupper() if first else word.isupper()
