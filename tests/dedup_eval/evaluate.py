"""``make eval-dedup``: newsbeam's dedup against the labels, and against
three baselines run on the same extracted texts.

The evaluation set is generated (``generate.py``) into a folder, the real
pipeline runs on it (``pipeline.run``), and its ``story_id`` per file is
read back from ``OUTPUT/articles`` and ``OUTPUT/duplicates``.  Baselines,
each given the texts newsbeam extracted and processing them in event-time
order:

* exact: hash of the normalized text;
* trafilatura simhash: trafilatura's own ``Simhash`` (64 bit), a document
  joins the first earlier cluster head within a similarity threshold;
* datasketch MinHashLSH: in-memory LSH over the same shingles at a Jaccard
  threshold, clusters by union of LSH candidates.

Scores are pairwise precision, recall and F1 over all document pairs, the
adjusted Rand index, and the number of merged pairs of distinct stories.
Then the same for real wire copy: ANT pairs labelled by reading them, on a
development and a frozen test part (``real_pairs.py``).

    python -m tests.dedup_eval.evaluate [--keep DIR] [extra pipeline flags]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from math import comb
from pathlib import Path

import pyarrow.dataset as ds

from tests.dedup_eval import real_pairs
from tests.dedup_eval.generate import build_set, load_stories, write_set
from transforms.core.dedup import exact_key
from transforms.core.normalize import shingles

PINNED_INGEST = "2026-01-01T00:00:00Z"


@dataclass
class Scores:
    method: str
    precision: float
    recall: float
    f1: float
    ari: float
    merged_distinct_pairs: int
    clusters: int
    seconds: float


def pairwise(labels: dict[str, str], predicted: dict[str, str]) -> tuple[float, float, float, int]:
    """Precision, recall, F1 over document pairs, and false-merge pairs."""
    names = sorted(labels)
    tp = fp = fn = 0
    for a, b in combinations(names, 2):
        same_true = labels[a] == labels[b]
        same_pred = predicted[a] == predicted[b]
        tp += same_true and same_pred
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, fp


def adjusted_rand_index(labels: dict[str, str], predicted: dict[str, str]) -> float:
    names = sorted(labels)
    n = len(names)
    joint = Counter((labels[x], predicted[x]) for x in names)
    sum_joint = sum(comb(v, 2) for v in joint.values())
    sum_true = sum(comb(v, 2) for v in Counter(labels[x] for x in names).values())
    sum_pred = sum(comb(v, 2) for v in Counter(predicted[x] for x in names).values())
    expected = sum_true * sum_pred / comb(n, 2)
    maximum = (sum_true + sum_pred) / 2
    return 1.0 if maximum == expected else (sum_joint - expected) / (maximum - expected)


def score(method: str, labels: dict[str, str], predicted: dict[str, str], seconds: float) -> Scores:
    p, r, f1, fp = pairwise(labels, predicted)
    return Scores(method, p, r, f1, adjusted_rand_index(labels, predicted), fp, len(set(predicted.values())), seconds)


# --- baselines over the extracted texts ---------------------------------------


@dataclass(frozen=True)
class Extracted:
    name: str
    text: str
    order: tuple  # (event time, doc_id)


def exact_baseline(docs: Sequence[Extracted]) -> dict[str, str]:
    first: dict[str, str] = {}
    return {d.name: first.setdefault(exact_key(d.text), d.name) for d in docs}


def simhash_baseline(docs: Sequence[Extracted], threshold: float = 0.9) -> dict[str, str]:
    from trafilatura.deduplication import Simhash

    heads: list[tuple[str, Simhash]] = []
    out = {}
    for d in docs:
        h = Simhash(d.text)
        match = next((name for name, other in heads if h.similarity(other) >= threshold), None)
        if match is None:
            heads.append((d.name, h))
        out[d.name] = match or d.name
    return out


def datasketch_baseline(docs: Sequence[Extracted], threshold: float = 0.5, num_perm: int = 128) -> dict[str, str]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for d in docs:
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch([s.encode("utf-8") for s in sorted(shingles(d.text))])
        parent[d.name] = d.name
        for candidate in sorted(lsh.query(m)):
            root_a, root_b = find(candidate), find(d.name)
            if root_a != root_b:
                # The earlier document's root names the cluster.
                parent[root_b] = root_a
        lsh.insert(d.name, m)
    return {name: find(name) for name in parent}


BASELINES: dict[str, Callable[[Sequence[Extracted]], dict[str, str]]] = {
    "exact hash (normalized)": exact_baseline,
    "trafilatura simhash >= 0.9": simhash_baseline,
    "datasketch MinHashLSH J >= 0.5": datasketch_baseline,
}


# --- running it ---------------------------------------------------------------


def run_newsbeam(folder: Path, out: Path, extra: Sequence[str] = ()) -> tuple[dict[str, dict], float]:
    """Run the real pipeline; per file name, its row (articles or duplicates)."""
    from pipeline.run import run

    started = time.perf_counter()
    summary = run(["--input", str(folder), "--output", str(out), "--ingested_at", PINNED_INGEST, "--overwrite", *extra])
    seconds = time.perf_counter() - started
    if not summary.balanced:
        raise RuntimeError("records in != articles + duplicates + rejects")
    rows: dict[str, dict] = {}
    for table in ("articles", "duplicates"):
        dataset = ds.dataset(out / table, format="parquet", partitioning="hive")
        for row in dataset.to_table(columns=["doc_id", "story_id", "source_uri", "text", "event_time"]).to_pylist():
            rows[row["source_uri"].rsplit("/", 1)[1]] = row
    return rows, seconds


def evaluate(folder: Path, out: Path, extra: Sequence[str] = ()) -> tuple[list[Scores], dict]:
    labels_full = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    rows, seconds = run_newsbeam(folder, out, extra)
    missing = sorted(set(labels_full) - set(rows))
    labels = {name: v["story"] for name, v in labels_full.items() if name in rows}
    predicted = {name: rows[name]["story_id"] for name in labels}
    results = [score("newsbeam (anchors + 2-gram overlap)", labels, predicted, seconds)]
    docs = sorted(
        (Extracted(name, rows[name]["text"], (rows[name]["event_time"], rows[name]["doc_id"])) for name in labels),
        key=lambda d: d.order,
    )
    for method, baseline in BASELINES.items():
        started = time.perf_counter()
        clusters = baseline(docs)
        results.append(score(method, labels, clusters, time.perf_counter() - started))
    # Per rewrite kind: the share of copies put in their source's story.
    by_kind: dict[str, list[bool]] = {}
    story_of_original = {v["story"]: predicted[n] for n, v in labels_full.items() if v["kind"] == "original"}
    for name, v in labels_full.items():
        if name in predicted and v["kind"] != "original":
            for kind in v["kind"].split("+"):
                by_kind.setdefault(kind, []).append(predicted[name] == story_of_original.get(v["story"]))
    detail = {
        "documents": len(labels_full),
        "stories": len(set(labels.values())),
        "missing": missing,
        "caught_by_kind": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_kind.items())},
    }
    return results, detail


def render(results: list[Scores], detail: dict) -> str:
    lines = [
        f"dedup evaluation: {detail['documents']} documents, {detail['stories']} stories"
        + (f", {len(detail['missing'])} not extracted: {detail['missing']}" if detail["missing"] else ""),
        "",
        f"{'method':<38} {'precision':>9} {'recall':>7} {'F1':>7} {'ARI':>7} {'merged':>7} {'clusters':>8} {'s':>6}",
    ]
    for s in results:
        lines.append(
            f"{s.method:<38} {s.precision:>9.4f} {s.recall:>7.4f} {s.f1:>7.4f} {s.ari:>7.4f} "
            f"{s.merged_distinct_pairs:>7} {s.clusters:>8} {s.seconds:>6.1f}"
        )
    lines += [
        "",
        "copies joined to their story, per rewrite (alone or combined): "
        + ", ".join(f"{k} {v}" for k, v in detail["caught_by_kind"].items()),
    ]
    lines.append("merged = pairs of documents from distinct stories put in one cluster (target 0)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", help="Folder to write the evaluation set and output into (default: a temp folder)")
    parser.add_argument("--json", help="Also write the scores as JSON to this file")
    parser.add_argument("--seed", type=int, default=7, help="Generator seed (default 7)")
    parser.add_argument("--per_story", type=int, default=4, help="Rewrites per story (default 4)")
    args, extra = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        if (base / "set").exists():
            shutil.rmtree(base / "set")
        folder = write_set(build_set(load_stories(), seed=args.seed, per_story=args.per_story), base / "set")
        results, detail = evaluate(folder, base / "out", extra)
    print()
    print(render(results, detail))
    if args.json:
        Path(args.json).write_text(json.dumps({"scores": [asdict(s) for s in results], **detail}, indent=2))
    newsbeam = results[0]
    best_baseline = max(s.f1 for s in results[1:])
    ok = newsbeam.f1 >= 0.97 and newsbeam.merged_distinct_pairs == 0 and newsbeam.f1 > best_baseline
    print(f"target (F1 >= 0.97, nothing merged, ahead of every baseline): {'met' if ok else 'NOT met'}")
    # Beside the synthetic set: real wire copy, labelled by reading it.
    print()
    real, real_detail = real_pairs.evaluate(real_pairs.load_pairs(), extra)
    print(real_pairs.render(real, real_detail))
    test = next(s for s in real if s.method == "newsbeam" and s.part == "test")
    real_ok = test.copy_recall >= 0.95 and test.different_merged == 0
    print(
        f"target on the real test part (copy recall >= 0.95, no different pair merged): {'met' if real_ok else 'NOT met'}"
    )
    if args.json:
        scores = json.loads(Path(args.json).read_text())
        scores["real_pairs"] = {"scores": [asdict(s) for s in real], **real_detail}
        Path(args.json).write_text(json.dumps(scores, indent=2))
    return 0 if ok and real_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
