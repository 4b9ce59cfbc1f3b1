"""Merge blind readings of held-out articles into one label each; run once
by hand after the readers have written their answers.

Each reader labels by ``label_instructions.md`` and writes one JSON object
per batch (id -> primary, also, mentions, must_not, note).  The label:

* ``primary``: the one more than half the readings give (a third reader
  reads the articles two disagree on; without a majority nothing is
  written);
* ``also``: every alternative a reader of that primary accepts;
* ``mentions``: conflicts every such reader names in passing, but for the
  primary and the alternatives (a mention one reader alone sees is not
  one to count);
* ``must_not``: any reader's.

The readings are kept beside the label (``readings``).

    python -m tests.topics_eval.merge_readings OUT.json READINGS.json [READINGS.json ...]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

FIELDS = ("primary", "also", "mentions", "must_not", "note")


def majority(readings: list[dict]) -> tuple[str | None, bool]:
    """The primary most readings give, and whether more than half give it."""
    primary, count = Counter(r["primary"] for r in readings).most_common(1)[0]
    return primary, 2 * count > len(readings)


def merge(readings: list[dict]) -> dict:
    """One label from an article's readings, which must have a majority."""
    primary, decided = majority(readings)
    if not decided:
        raise ValueError(f"no majority among {[r['primary'] for r in readings]}: a third reading decides")
    agreeing = [r for r in readings if r["primary"] == primary]
    also = sorted({a for r in agreeing for a in r["also"]} - {primary})
    mentions = set.intersection(*(set(r["mentions"]) for r in agreeing)) - {primary, *also}
    must_not = sorted({m for r in readings for m in r["must_not"]})
    return {
        "primary": primary,
        "also": also,
        "mentions": sorted(mentions),
        "must_not": must_not,
        "readings": [{f: r[f] for f in FIELDS} for r in readings],
    }


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    per_article: dict[str, list[dict]] = {}
    for path in argv[1:]:
        for doc_id, reading in json.loads(Path(path).read_text(encoding="utf-8")).items():
            per_article.setdefault(doc_id, []).append(reading)
    single = [doc_id for doc_id, readings in per_article.items() if len(readings) < 2]
    split = [doc_id for doc_id, readings in per_article.items() if not majority(readings)[1]]
    if single or split:
        print(f"read once only: {', '.join(single) or '-'}; no majority: {', '.join(split) or '-'}", file=sys.stderr)
        return 1
    labels = {doc_id: merge(readings) for doc_id, readings in per_article.items()}
    Path(argv[0]).write_text(json.dumps(labels, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(labels)} labels -> {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
