"""Pick the real articles the dedup evaluation is built from, out of the
shared corpora, into ``tests/data/dedup/sources.jsonl`` (run once by hand;
the output is committed so the tests never need ../shared).

* Arabic: ANT corpus articles (Al Arabiya, BBC, CNN, France24, Sky News
  Arabia, 2018) in pairs that cover the same event on the same day from
  different outlets (titles share several words) but are different
  articles (true shingle Jaccard under 0.15): the real hard negatives.
* English: article bodies from the Zyte extraction benchmark's ground truth.

    python -m tests.dedup_eval.pick_sources /tmp/corp
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from email.utils import parsedate_to_datetime
from pathlib import Path

from transforms.core.normalize import shingles, tokens

OUT = Path(__file__).resolve().parents[1] / "data" / "dedup" / "sources.jsonl"
_FIELD = re.compile(r"<(URL|SRC|TITLE|TIME|TEXT)>\s*(.*?)\s*</\1>", re.S)
AR_PAIRS = 7
AR_SINGLES = 8
EN_ARTICLES = 14


def _ant(path: Path) -> dict | None:
    fields = dict(_FIELD.findall(path.read_text(encoding="utf-8", errors="replace")))
    paragraphs = [p.strip() for p in fields.get("TEXT", "").splitlines() if len(p.strip()) > 40]
    text_len = sum(map(len, paragraphs))
    if len(paragraphs) < 4 or not 1200 <= text_len <= 6000:
        return None
    published = parsedate_to_datetime(fields["TIME"])
    return {
        "id": path.stem,
        "lang": "ar",
        "outlet": fields["SRC"],
        "url": fields["URL"],
        "title": fields["TITLE"],
        "published": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "paragraphs": paragraphs,
    }


def _jaccard(a: dict, b: dict) -> float:
    sa, sb = shingles("\n".join(a["paragraphs"])), shingles("\n".join(b["paragraphs"]))
    return len(sa & sb) / max(1, len(sa | sb))


def arabic(root: Path) -> list[dict]:
    base = root / "text-ant-arabic-news" / "v2.1-multisource"
    docs = [d for p in sorted(base.glob("*/middleEast/*.txt")) if (d := _ant(p))]
    by_day: dict[str, list[dict]] = {}
    for d in docs:
        by_day.setdefault(d["published"][:10], []).append(d)
    pairs = []
    for day in sorted(by_day):
        for a, b in itertools.combinations(by_day[day], 2):
            shared = {t for t in tokens(a["title"]) if len(t) > 3} & {t for t in tokens(b["title"]) if len(t) > 3}
            if a["outlet"] != b["outlet"] and len(shared) >= 3 and _jaccard(a, b) < 0.15:
                pairs.append((a, b))
    chosen: list[dict] = []
    used: set[str] = set()
    for a, b in pairs:
        if len(chosen) >= 2 * AR_PAIRS:
            break
        if a["id"] in used or b["id"] in used:
            continue
        event = f"event-{a['published'][:10]}-{len(chosen) // 2}"
        chosen += [{**a, "event": event}, {**b, "event": event}]
        used |= {a["id"], b["id"]}
    singles = [d for d in docs[::37] if d["id"] not in used][:AR_SINGLES]
    return chosen + singles


def english(root: Path) -> list[dict]:
    truth = json.loads((root / "html-zyte-benchmark/article-extraction-benchmark/ground-truth.json").read_text())
    out = []
    for key in sorted(truth):
        paragraphs = [p.strip() for p in truth[key]["articleBody"].split("\n") if len(p.strip()) > 60]
        body = "".join(paragraphs)
        latin = sum(c.isascii() for c in body) / max(1, len(body))
        if len(paragraphs) >= 5 and 1500 <= len(body) <= 7000 and latin > 0.95:
            url = truth[key]["url"]
            out.append(
                {
                    "id": f"zyte-{key[:10]}",
                    "lang": "en",
                    "outlet": url.split("/")[2],
                    "url": url,
                    "title": paragraphs[0][:90],
                    "published": None,
                    "paragraphs": paragraphs,
                }
            )
        if len(out) >= EN_ARTICLES:
            break
    return out


def main(root: str) -> None:
    picked = arabic(Path(root)) + english(Path(root))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as fh:
        for doc in picked:
            fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
    print(f"{len(picked)} sources -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
