"""Pick the articles of the agency-attribution evaluation into
``tests/data/agencies/candidates.jsonl``; run once by hand.  Labels are
added by people reading each article (``labels.json``); both files are
committed, so the tests never need ../shared.

Groups, each in the order of a hash of the id: ANT articles that end in a
credit line (France 24's "فرانس24/ أ ف ب"), whose first line carries a
parenthesis (a dateline's credit, or an acronym), that name an agency in
the running text (mostly citations: "told AFP", "وفقا لرويترز"), CNN
Arabic's own "(CNN)" datelines, and a random rest; English pages of the
html corpora that name an agency, and a random rest.

    python -m tests.agencies_eval.pick_articles /tmp/corp
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.topics_eval.pick_articles import _read, write_candidates
from tests.topics_eval.pick_heldout import _english_pages
from transforms.core.ids import stable_hash

OUT = Path(__file__).resolve().parents[1] / "data" / "agencies" / "candidates.jsonl"
MAX_CHARS = 3000
_CREDIT_END = re.compile(r"فرانس\s*24\s*/")
_FIRST_PAREN = re.compile(r"^.{0,60}?\([^)]{1,25}\)")
_NAMED_AR = re.compile(r"فرانس برس|رويترز|الأناضول|أسوشيتد|شينخوا|سانا|د ب أ|أ ف ب")
_NAMED_EN = re.compile(r"\b(AP|AFP|Reuters|Associated Press|Agence France|Xinhua|Anadolu|dpa|Bloomberg)\b")
GROUPS = {
    "ant:credit-line": 18,
    "ant:first-paren": 18,
    "ant:named": 36,
    "ant:cnn": 6,
    "ant:other": 12,
    "en:named": 40,
    "en:other": 10,
}


def _key(doc_id: str) -> str:
    return stable_hash("agencies", doc_id)


def _group_ant(doc: dict) -> str:
    lines = [line for line in doc["text"].split("\n") if line.strip()]
    if lines and _CREDIT_END.search(lines[-1]) and len(lines[-1]) < 40:
        return "ant:credit-line"
    if doc["outlet"].lower() == "cnn" and lines and "(CNN)" in lines[0]:
        return "ant:cnn"
    if lines and _FIRST_PAREN.match(lines[0]):
        return "ant:first-paren"
    if _NAMED_AR.search(doc["text"]):
        return "ant:named"
    return "ant:other"


def pick(root: Path) -> list[dict]:
    base = root / "text-ant-arabic-news" / "v2.1-multisource"
    taken: dict[str, list[dict]] = {g: [] for g in GROUPS}
    titles: set[str] = set()
    for path in sorted(base.glob("*/*/*.txt"), key=lambda p: _key(p.stem)):
        doc = _read(path)
        group = _group_ant(doc)
        if len(taken[group]) >= GROUPS[group] or len(doc["text"]) < 200 or doc["title"] in titles:
            continue
        titles.add(doc["title"])
        taken[group].append({**doc, "lang": "ar", "group": group})
        if all(len(taken[g]) >= GROUPS[g] for g in GROUPS if g.startswith("ant:")):
            break
    for page in sorted(_english_pages(root), key=lambda p: _key(p["id"])):
        text = re.sub(r"\n\s*\n+", "\n", page["text"]).strip()[:MAX_CHARS]
        if len(text) < 300 or re.search(r"[\u0600-\u06ff]", text):
            continue
        group = "en:named" if _NAMED_EN.search(text) else "en:other"
        if len(taken[group]) < GROUPS[group]:
            taken[group].append({**page, "text": text, "lang": "en", "outlet": "", "category": "", "group": group})
    return [d for g in GROUPS for d in taken[g]]


def main(argv: list[str]) -> int:
    return write_candidates(OUT, pick(Path(argv[0])))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
