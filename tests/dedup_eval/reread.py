"""A blind second and third reading of the labelled pairs the first reader
marked as borderline.

The pairs are chosen by what the first reader's note says of the label
(``torn``, ``borderline``, ``close to copy/rewrite/different``), never by
what any method does with them, in the development and the frozen test part
alike.  Two readers who see neither the labels, the notes nor any output
label each pair from its two texts alone, following
``reread_instructions.md``.  The label kept is the one at least two of the
three readings give (the first reading's when all three differ); a pair
whose two texts are those of a re-read pair gets the same label.  Each
re-read row keeps its three readings under ``reread``.

    python -m tests.dedup_eval.reread batches DIR        # DIR/batch_N.jsonl, blind (key, a, b)
    python -m tests.dedup_eval.reread merge DIR          # DIR/out_<reader>_N.jsonl into the set
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from tests.dedup_eval.real_pairs import PAIRS

BORDERLINE = re.compile(r'torn|borderline|close to "?(copy|rewrite|different)', re.I)
READERS = ("second", "third")


def blind_key(pair_id: str) -> str:
    return hashlib.blake2b(pair_id.encode(), digest_size=4).hexdigest()


def kept_label(first: str, second: str, third: str) -> str:
    """The label two of the three readings give; the first's if all differ."""
    label, votes = Counter([first, second, third]).most_common(1)[0]
    return label if votes >= 2 else first


def _rows(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_batches(rows: Sequence[dict], folder: Path, batches: int = 2) -> int:
    # In an order that says nothing of the label or the part.
    order = lambda r: hashlib.blake2b(r["pair_id"].encode(), digest_size=8).hexdigest()  # noqa: E731
    chosen = sorted((r for r in rows if BORDERLINE.search(r["note"])), key=order)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(batches):
        lines = [json.dumps({"key": blind_key(r["pair_id"]), "a": r["a"]["text"], "b": r["b"]["text"]},
                            ensure_ascii=False) for r in chosen[n::batches]]  # fmt: skip
        (folder / f"batch_{n + 1}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(chosen)


def merge(rows: list[dict], readings: dict[str, dict[str, dict]]) -> Counter:
    """``readings``: per reader (``second``, ``third``), per blind key, its answer."""
    changed: Counter = Counter()
    kept: dict[tuple[str, str], str] = {}
    for row in rows:
        key = blind_key(row["pair_id"])
        if not BORDERLINE.search(row["note"]) or "reread" in row:
            continue
        answers = [readings[reader][key] for reader in READERS]
        first = row["label"]
        row["label"] = kept_label(first, *(a["label"] for a in answers))
        row["reread"] = {"first": first, **{r: a["label"] for r, a in zip(READERS, answers, strict=True)},
                         **{f"{r}_note": a["note"] for r, a in zip(READERS, answers, strict=True)}}  # fmt: skip
        kept[(row["a"]["text"], row["b"]["text"])] = row["label"]
        changed[(first, row["label"])] += 1
    for row in rows:
        label = kept.get((row["a"]["text"], row["b"]["text"]))
        if label and "reread" not in row and row["label"] != label:
            row["reread"] = {"first": row["label"], "same_texts_as_reread_pair": True}
            changed[(row["label"], label)] += 1
            row["label"] = label
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("batches", "merge"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    args = parser.parse_args(argv)
    rows = _rows(args.pairs)
    if args.action == "batches":
        print(f"{write_batches(rows, args.folder)} borderline pairs in {args.folder}")
        return 0
    names = {"second": "x", "third": "y"}
    readings: dict[str, dict[str, dict]] = {}
    for reader, name in names.items():
        readings[reader] = {}
        for path in sorted(args.folder.glob(f"out_{name}_*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    answer = json.loads(line)
                    readings[reader][answer["key"]] = answer
    changed = merge(rows, readings)
    with gzip.GzipFile(args.pairs, "wb", mtime=0) as fh:
        fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
    for (first, kept), n in sorted(changed.items()):
        print(f"{first:>9} -> {kept:<9} {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
