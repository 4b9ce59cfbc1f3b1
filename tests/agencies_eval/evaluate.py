"""Evaluate wire-agency attribution (``make eval-agencies``).

The set: 140 articles (``tests/data/agencies``; picked by
``pick_articles.py``): ANT articles with France 24's closing credit line,
with a parenthesis in their first line, naming an agency in the running
text, CNN Arabic's own datelines and a random rest; English pages of the
html corpora naming an agency and a random rest.  Each was labelled by a
reader (``label_instructions.md``): the agencies credited with the copy and
where, the agencies only cited, photo credits, the dateline's place.

Every article is in a development or a frozen test part by a hash of its
id; misses are listed for the development part only.  Prints precision and
recall of ``agencies`` over (article, agency) pairs, the cited agencies
counted as credits (target 0), where the credit was found, and the
datelines.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.topics_eval.evaluate import DEV, TEST, hashed_part
from transforms.core.agencies import AgencyMatcher
from transforms.core.normalize import normalize_for_hashing

DATA = Path(__file__).resolve().parents[1] / "data" / "agencies"
TARGET = 0.95


def part(item_id: str) -> str:
    return hashed_part("agencies-part", item_id, 0.5)


@dataclass(frozen=True)
class Outcome:
    id: str
    part: str
    gold: frozenset[str]
    cited: frozenset[str]
    predicted: frozenset[str]
    gold_where: dict
    predicted_where: dict
    gold_dateline: str | None
    predicted_dateline: str | None


def load() -> list[tuple[dict, dict]]:
    labels = json.loads((DATA / "labels.json").read_text(encoding="utf-8"))
    docs = [json.loads(line) for line in (DATA / "candidates.jsonl").read_text(encoding="utf-8").splitlines()]
    return [(d, labels[d["id"]]) for d in docs]


def evaluate(matcher: AgencyMatcher | None = None) -> list[Outcome]:
    matcher = matcher or AgencyMatcher()
    outcomes = []
    for doc, label in load():
        result = matcher.attribute(doc["text"], doc.get("author"), doc.get("outlet"))
        gold_where: dict[str, set] = {}
        for c in label["credited"]:
            gold_where.setdefault(c["agency"], set()).add(c["where"])
        predicted_where: dict[str, set] = {}
        for c in result.credits:
            predicted_where.setdefault(c.agency, set()).add(c.where)
        outcomes.append(
            Outcome(
                doc["id"], part(doc["id"]), frozenset(gold_where), frozenset(label["cited"]) - frozenset(gold_where),
                frozenset(result.agencies), gold_where, predicted_where, label.get("dateline"), result.dateline,
            )
        )  # fmt: skip
    return outcomes


def figures(outcomes: list[Outcome]) -> dict:
    tp = sum(len(o.gold & o.predicted) for o in outcomes)
    predicted = sum(len(o.predicted) for o in outcomes)
    gold = sum(len(o.gold) for o in outcomes)
    cited_as_credit = [(o.id, a) for o in outcomes for a in o.predicted & o.cited]
    where_right = sum(1 for o in outcomes for a in o.gold & o.predicted if o.gold_where[a] & o.predicted_where[a])
    with_dateline = [o for o in outcomes if o.gold_dateline]
    dateline_right = sum(1 for o in with_dateline if _same_place(o.gold_dateline, o.predicted_dateline))
    spurious = sum(1 for o in outcomes if o.predicted_dateline and not o.gold_dateline)
    return {
        "articles": len(outcomes),
        "credited_pairs": gold,
        "precision": round(tp / predicted, 4) if predicted else None,
        "recall": round(tp / gold, 4) if gold else None,
        "cited_counted_as_credit": cited_as_credit,
        "cited_pairs": sum(len(o.cited) for o in outcomes),
        "where_right": f"{where_right} of {tp}",
        "datelines": f"{dateline_right} of {len(with_dateline)} right, {spurious} found where there is none",
    }


def _same_place(a: str | None, b: str | None) -> bool:
    return bool(a and b) and normalize_for_hashing(a) == normalize_for_hashing(b)


def render(outcomes: list[Outcome]) -> str:
    lines = [f"agency attribution: {len(outcomes)} labelled articles (target precision and recall >= {TARGET})"]
    for name in (DEV, TEST):
        f = figures([o for o in outcomes if o.part == name])
        lines.append(
            f"  {name:5} {f['articles']:3d} articles, {f['credited_pairs']} credits: precision {f['precision']}, "
            f"recall {f['recall']}; cited agencies counted as credits: {len(f['cited_counted_as_credit'])} "
            f"of {f['cited_pairs']}; where right: {f['where_right']}; datelines: {f['datelines']}"
        )
    lines.append("")
    lines.append("development part, misses (article: labelled -> found):")
    for o in outcomes:
        if o.part == DEV and (o.gold != o.predicted or (not _same_place(o.gold_dateline, o.predicted_dateline)
                              and (o.gold_dateline or o.predicted_dateline))):  # fmt: skip
            lines.append(
                f"  {o.id}: {sorted(o.gold)} -> {sorted(o.predicted)}; dateline {o.gold_dateline!r} -> {o.predicted_dateline!r}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    outcomes = evaluate()
    print(render(outcomes))
    test = figures([o for o in outcomes if o.part == TEST])
    if args.json:
        doc = {name: figures([o for o in outcomes if o.part == name]) for name in (DEV, TEST)}
        Path(args.json).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    ok = (test["precision"] or 0) >= TARGET and (test["recall"] or 0) >= TARGET and not test["cited_counted_as_credit"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
