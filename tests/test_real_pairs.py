"""The labelled real wire-copy pairs behind ``make eval-dedup``: well formed,
big enough, split into a frozen test part that does not move, and the
borderline pairs labelled by three blind readings (tests/dedup_eval/reread.py)."""

from __future__ import annotations

import gzip
import json
from collections import Counter

from tests.dedup_eval.real_pairs import LABELS, PAIRS, Pair, load_pairs, score
from tests.dedup_eval.reread import BORDERLINE, kept_label


def test_the_labelled_set_is_whole_and_its_test_part_frozen():
    pairs = load_pairs()
    assert len(pairs) >= 200 and len({p.pair_id for p in pairs}) == len(pairs)
    assert {p.label for p in pairs} == set(LABELS)
    assert all(p.a.strip() and p.b.strip() and p.a != p.b for p in pairs)
    parts = Counter(p.part for p in pairs)
    assert 0.3 < parts["test"] / len(pairs) < 0.5
    # The part is a function of the id alone: the same pair is always in it.
    assert Pair("FR/x.txt|SK/y.txt", "copy", "a", "b").part == Pair("FR/x.txt|SK/y.txt", "different", "c", "d").part
    for label in LABELS:
        assert Counter(p.part for p in pairs if p.label == label)["test"] >= 10, label


def test_pair_scores_count_what_they_say():
    pairs = [Pair(str(i), label, "a", "b") for i, label in enumerate(["copy", "copy", "different", "rewrite"])]
    s = score("m", "dev", pairs, [True, False, True, False])
    assert (s.copy_recall, s.different_merged, s.rewrites_merged) == (0.5, 1, 0)
    assert s.f1 == 0.5  # precision 1/2 (the different pair merged), recall 1/2; rewrites not scored
    assert score("m", "dev", pairs, [True, False, False, True]).f1 == round(2 / 3, 4)


def test_borderline_pairs_keep_the_label_two_of_three_blind_readings_give():
    rows = _rows()
    reread = [r for r in rows if BORDERLINE.search(r["note"])]
    assert len(reread) >= 40
    for row in reread:
        readings = row["reread"]
        assert row["label"] == kept_label(readings["first"], readings["second"], readings["third"]), row["pair_id"]
    assert kept_label("copy", "rewrite", "different") == "copy"
    assert kept_label("copy", "rewrite", "rewrite") == "rewrite"
    # The same two texts under other URLs carry the same label.
    labels: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        labels.setdefault((row["a"]["text"], row["b"]["text"]), set()).add(row["label"])
    assert all(len(found) == 1 for found in labels.values())


def _rows() -> list[dict]:
    with gzip.open(PAIRS, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
