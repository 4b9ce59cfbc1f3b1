"""The input of ``make report``: one week of ANT articles from all five
outlets (Al Arabiya, BBC Arabic, CNN Arabic, France 24 Arabic, Sky News
Arabia), as JSON Lines the pipeline reads (url, source, title, text,
published: the RSS time).  The week is fixed, so the demonstration is the
same on every machine; it was chosen as a busy news week (the US embassy's
move to Jerusalem and the Gaza border killings, Iraq's election), not for
its figures.

    python -m tests.report_demo.ant_week CORPORA_UNPACKED OUT.jsonl
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from tests.dedup_eval.pick_sources import _FIELD

WEEK = (datetime(2018, 5, 13, tzinfo=UTC), datetime(2018, 5, 20, tzinfo=UTC))
OUTLETS = {
    "alarabia": "Al Arabiya",
    "BBC": "BBC Arabic",
    "CNN": "CNN Arabic",
    "france24": "France 24 Arabic",
    "skynews": "Sky News Arabia",
}


def records(root: Path) -> list[dict]:
    base = root / "text-ant-arabic-news" / "v2.1-multisource"
    out = []
    for path in sorted(base.glob("*/*/*.txt")):
        fields = dict(_FIELD.findall(path.read_text(encoding="utf-8", errors="replace")))
        try:
            published = parsedate_to_datetime(fields.get("TIME", ""))
        except (TypeError, ValueError):
            continue
        if not (WEEK[0] <= published < WEEK[1]) or not fields.get("TEXT", "").strip():
            continue
        out.append(
            {
                "url": fields.get("URL", "").strip(),
                "source": OUTLETS.get(fields.get("SRC", "").strip(), fields.get("SRC", "").strip()),
                "title": fields.get("TITLE", "").strip(),
                "text": fields["TEXT"].strip(),
                "published": published.isoformat(),
                "lang": "ar",
            }
        )
    return out


def main(argv: list[str]) -> int:
    rows = records(Path(argv[0]))
    with open(argv[1], "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    outlets = sorted({r["source"] for r in rows})
    print(f"{len(rows)} articles from {len(outlets)} outlets ({', '.join(outlets)}) -> {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
