"""Mine candidate pairs of real wire copy from the ANT corpus, to be labelled
by reading them (run by hand; needs ``../shared/corpora`` unpacked).

Pairs are two articles of one day from two different outlets.  They are
drawn evenly across the whole range of exact word 3-gram containment (the
share of the shorter text's 3-grams found in the other), not only from the
high end, so the labelled set holds copies that share little as well as
different articles that share a lot.  Identical texts and pairs sharing
almost nothing are left out: neither needs a reader.

    python -m tests.dedup_eval.mine_pairs CORPUS_DIR OUT.jsonl [--per_bin 24]
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import mmh3

from tests.dedup_eval.pick_sources import _FIELD
from transforms.core.normalize import tokens

BINS = [(0.05, 0.15), (0.15, 0.25), (0.25, 0.35), (0.35, 0.45), (0.45, 0.55), (0.55, 0.65), (0.65, 0.75),
        (0.75, 0.85), (0.85, 0.95), (0.95, 0.999)]  # fmt: skip


def parse(path: Path) -> dict[str, str]:
    fields = dict(_FIELD.findall(path.read_text(encoding="utf-8", errors="replace")))
    return {name.lower(): fields.get(name, "") for name in ("URL", "SRC", "TITLE", "TIME", "TEXT")}


def trigrams(text: str) -> set[int]:
    words = tokens(text)
    return {mmh3.hash(" ".join(words[i : i + 3])) for i in range(max(0, len(words) - 2))}


def mine(corpus: Path, per_bin: int, seed: int = 19, bins=BINS, exclude: frozenset[str] = frozenset()) -> list[dict]:
    by_day: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(corpus.glob("*/*/*.txt")):
        day = path.stem.rsplit("-", 1)[-1]
        art = parse(path)
        if len(art["text"]) < 400:
            continue
        art["file"] = path.relative_to(corpus).as_posix()
        art["day"] = day
        by_day[day].append(art)
    binned: dict[int, list[tuple]] = defaultdict(list)
    for day, arts in sorted(by_day.items()):
        grams = [trigrams(a["text"]) for a in arts]
        index: dict[int, list[int]] = defaultdict(list)
        for i, g in enumerate(grams):
            for h in g:
                index[h].append(i)
        shared: dict[tuple[int, int], int] = defaultdict(int)
        for docs in index.values():
            if len(docs) > 30:  # a stock phrase, not evidence
                continue
            for i, j in combinations(docs, 2):
                shared[(i, j)] += 1
        seen_text = set()
        for (i, j), n in shared.items():
            a, b = arts[i], arts[j]
            if a["src"] == b["src"] or a["text"] == b["text"] or a["url"] == b["url"]:
                continue
            containment = n / max(1, min(len(grams[i]), len(grams[j])))
            if f"{a['file']}|{b['file']}" in exclude:
                continue
            for k, (lo, hi) in enumerate(bins):
                if lo <= containment < hi:
                    key = (a["file"], b["file"])
                    if key not in seen_text:
                        seen_text.add(key)
                        binned[k].append((day, a, b, round(containment, 3)))
    rng = random.Random(seed)
    pairs = []
    for k in range(len(bins)):
        found = sorted(binned[k], key=lambda p: (p[1]["file"], p[2]["file"]))
        rng.shuffle(found)
        for day, a, b, containment in found[:per_bin]:
            pairs.append({
                "pair_id": f"{a['file']}|{b['file']}", "day": day, "containment3": containment,
                "a": {k2: a[k2] for k2 in ("file", "src", "url", "title", "time", "text")},
                "b": {k2: b[k2] for k2 in ("file", "src", "url", "title", "time", "text")},
            })  # fmt: skip
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="the unpacked text-ant-arabic-news/v2.1-multisource folder")
    parser.add_argument("out", type=Path)
    parser.add_argument("--per_bin", type=int, default=24)
    parser.add_argument("--bins", help="containment bins lo:hi,lo:hi,... (default: 0.05 to 1 in tenths)")
    parser.add_argument("--exclude", type=Path, help="a JSONL of pairs already mined, left out")
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    bins = [tuple(float(x) for x in b.split(":")) for b in args.bins.split(",")] if args.bins else BINS
    exclude = frozenset(json.loads(line)["pair_id"] for line in args.exclude.open()) if args.exclude else frozenset()
    pairs = mine(args.corpus, args.per_bin, args.seed, bins, exclude)
    with args.out.open("w", encoding="utf-8") as fh:
        for pair in pairs:
            fh.write(json.dumps(pair, ensure_ascii=False) + "\n")
    print(f"{len(pairs)} pairs -> {args.out}")


if __name__ == "__main__":
    main()
