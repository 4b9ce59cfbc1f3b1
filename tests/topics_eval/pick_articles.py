"""Pick the real Arabic articles of the topic evaluation out of the ANT
corpus (Al Arabiya, BBC, CNN, France24, Sky News Arabia, 2018) into
``tests/data/topics/ant_candidates.jsonl``; run once by hand.  Labels are
added by a person reading each article, in ``ant_labels.json``; the
candidates and labels are committed, so the tests never need ../shared.

Three groups: articles holding the hard negatives the taxonomy must resist
(the Qarabag football club, Baku as Formula 1 host or as "Paco", Tripoli
in Lebanon, Amman, Oman), articles found by one telling word per conflict,
and a spread of sport, economy, culture and technology articles.

    python -m tests.topics_eval.pick_articles /tmp/corp
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.dedup_eval.pick_sources import _FIELD
from transforms.core.normalize import normalize_for_hashing

OUT = Path(__file__).resolve().parents[1] / "data" / "topics" / "ant_candidates.jsonl"
MAX_CHARS = 3000

HARD = {
    "qarabag": ["قرة باغ", "قره باغ", "كاراباخ"],
    "baku": ["باكو"],
    "tripoli-lebanon": ["طرابلس اللبنانية", "شمال لبنان"],
    "amman": ["العاصمة الأردنية عمان"],
    "oman": ["سلطنة عمان"],
}
PER_HARD = 6
PROBES = {
    "syria": "إدلب",
    "yemen": "الحوثيين",
    "iraq": "الحشد الشعبي",
    "israel-palestine": "قطاع غزة",
    "israel-lebanon": "حزب الله",
    "iran-israel": "الحرس الثوري",
    "libya": "حفتر",
    "afghanistan-pakistan": "طالبان",
    "myanmar": "الروهينغا",
    "nigeria-jihadist": "بوكو حرام",
    "somalia": "حركة الشباب",
    "turkey-pkk": "حزب العمال الكردستاني",
    "russia-ukraine": "أوكرانيا",
    "sudan": "دارفور",
    "south-sudan": "جنوب السودان",
    "dr-congo": "الكونغو",
    "ethiopia": "إثيوبيا",
    "mali": "مالي",
    "burkina-faso": "بوركينا فاسو",
}
PER_PROBE = 4
OTHER_CATEGORIES = ("sport", "economy", "culture", "technology")
PER_OTHER = 4


def _read(path: Path) -> dict:
    fields = dict(_FIELD.findall(path.read_text(encoding="utf-8", errors="replace")))
    return {
        "id": path.stem,
        "outlet": fields.get("SRC", ""),
        "category": path.parent.name,
        "url": fields.get("URL", ""),
        "title": fields.get("TITLE", "").strip(),
        "text": fields.get("TEXT", "").strip()[:MAX_CHARS],
    }


def _has(doc: dict, word: str) -> bool:
    hay = f" {normalize_for_hashing(doc['title'] + ' ' + doc['text'])} "
    return f" {normalize_for_hashing(word)} " in hay


def pick(root: Path) -> list[dict]:
    base = root / "text-ant-arabic-news" / "v2.1-multisource"
    docs = [_read(p) for p in sorted(base.glob("*/*/*.txt"))]
    docs = [d for d in docs if len(d["text"]) >= 400]
    chosen: dict[str, dict] = {}

    def take(group: str, pool: list[dict], n: int) -> None:
        seen_titles = {d["title"] for d in chosen.values()}
        step = max(1, len(pool) // max(n, 1))
        for d in pool[::step]:
            if sum(1 for c in chosen.values() if c["group"] == group) >= n:
                break
            if d["id"] not in chosen and d["title"] not in seen_titles:
                chosen[d["id"]] = {**d, "group": group}
                seen_titles.add(d["title"])

    for group, words in HARD.items():
        take(f"hard:{group}", [d for d in docs if any(_has(d, w) for w in words)], PER_HARD)
    news = [d for d in docs if d["category"] in ("middleEast", "internationalNews")]
    for conflict, word in PROBES.items():
        take(f"probe:{conflict}", [d for d in news if _has(d, word)], PER_PROBE)
    for category in OTHER_CATEGORIES:
        take(f"other:{category}", [d for d in docs if d["category"] == category], PER_OTHER)
    take("other:news", news, 10)
    return list(chosen.values())


def write_candidates(path: Path, picked: list[dict]) -> int:
    """Write the picked articles, one JSON object a line; the exit status."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for d in picked:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    print(f"{len(picked)} articles -> {path}")
    return 0


def main(argv: list[str]) -> int:
    return write_candidates(OUT, pick(Path(argv[0])))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
