"""``make bench``: newsbeam's throughput next to the bare extractor, in one run.

    python -m bench.run [--runs 3] [--pages 500] [--documents 2000] [--corpora ../shared/corpora]

On the same real pages (bench/corpus.py) it measures, each figure the
median of ``--runs`` runs, each run in a fresh process.  Figures 1-3 run
in interleaved rounds (baseline, 1 worker, 2 workers, then again), and each
ratio is the median of the ratios within a round, since a shared VM's speed
drifts by 20% over minutes:

1. the baseline, a plain loop over ``trafilatura.bare_extraction`` with metadata (bench/baseline.py);
2. ``newsbeam run`` on the DirectRunner with one worker, and its ratio to 1;
3. the same with two worker processes, and its speed-up over one;
4. each stage's own time per document, from the pipeline's ``stage_us.*``
   counters, and what is left for Beam itself (shuffles, coders, start-up);
5. peak resident memory of the whole process tree, at 1x and 4x the documents;
6. the streaming graph: ``newsbeam replay`` (a TestStream, one element and
   one watermark step per document) on the first ``--stream_docs`` pages,
   with dedup and with ``--no_dedup``, beside the batch run on the same pages.

The table is printed and written to bench/results.json, next to the figures
of the previous results.json when there is one, so commits can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.corpus import first_pages, repeated_set, sample_pages, unpack

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("read", "extract", "language", "topics", "dedup", "write")
MAX_BYTES = 10_000_000  # the pipeline's default --max_bytes


@dataclass
class Measured:
    wall_seconds: float
    peak_rss_mb: float
    stdout: str


def measure(cmd: list[str]) -> Measured:
    """Run ``cmd``, sampling the summed RSS of it and all its children."""
    import psutil  # the bench extra; the suite tests this module's arithmetic without it

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = psutil.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        peak = 0
        while proc.poll() is None:
            rss = 0
            try:
                for p in [proc, *proc.children(recursive=True)]:
                    rss += p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass  # a child ended between listing and reading
            peak = max(peak, rss)
            time.sleep(0.1)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.read().decode()[-4000:]}")
        return Measured(wall, peak / 2**20, out.read().decode())


def baseline(folder: Path) -> dict:
    m = measure([sys.executable, "-m", "bench.baseline", str(folder)])
    result = json.loads(m.stdout.strip().splitlines()[-1])
    return {"docs_per_s": result["documents"] / result["seconds"], "documents": result["documents"],
            "extracted": result["extracted"], "peak_rss_mb": m.peak_rss_mb}  # fmt: skip


def balanced_summary(output: Path) -> dict:
    """The run's ``_summary.json``; a run whose records do not add up ends the bench."""
    summary = json.loads((output / "_summary.json").read_text())
    if summary["documents_in"] != summary["articles"] + summary["duplicates"] + summary["rejects"]:
        raise SystemExit(f"unbalanced run: {summary}")
    return summary


def pipeline(folder: Path, output: Path, workers: int) -> dict:
    cmd = [sys.executable, "-m", "pipeline.run", "--input", str(folder), "--output", str(output), "--overwrite"]
    if workers > 1:
        cmd += ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    m = measure(cmd)
    summary = balanced_summary(output)
    docs = summary["documents_in"]
    stages = {s: summary.get("stage_seconds", {}).get(s, 0.0) * 1000 / docs for s in STAGES}
    # One worker: what the stages' own code does not account for is Beam's.
    stages["beam_and_startup"] = summary["elapsed_seconds"] * 1000 / docs - sum(stages.values())
    return {
        "docs_per_s": docs / summary["elapsed_seconds"],
        "documents": docs,
        "articles": summary["articles"],
        "duplicates": summary["duplicates"],
        "rejects": summary["rejects"],
        "wall_seconds": m.wall_seconds,
        "peak_rss_mb": m.peak_rss_mb,
        "stage_ms_per_doc": stages,
    }


def replay(folder: Path, output: Path, dedup: bool) -> dict:
    cmd = [sys.executable, "-m", "pipeline.cli", "replay", str(folder), "--output", str(output), "--overwrite"]
    m = measure(cmd if dedup else [*cmd, "--no_dedup"])
    summary = balanced_summary(output)
    docs = summary["documents_in"]
    return {"docs_per_s": docs / summary["elapsed_seconds"], "documents": docs, "peak_rss_mb": m.peak_rss_mb}


def median_of(runs: list[dict]) -> dict:
    """Each number the median over runs (nested dicts too)."""
    out: dict = {}
    for key, value in runs[0].items():
        if isinstance(value, dict):
            out[key] = median_of([r[key] for r in runs])
        elif isinstance(value, (int, float)):
            out[key] = statistics.median(r[key] for r in runs)
        else:
            out[key] = value
    return out


def per_round_ratio(rounds: list[dict], top: str, bottom: str) -> float:
    """The median over rounds of ``top``'s docs/s over ``bottom``'s in the
    same round: both sides of each ratio ran minutes apart, not a quarter
    of an hour, so a slow spell of a shared machine cancels out."""
    return statistics.median(r[top]["docs_per_s"] / r[bottom]["docs_per_s"] for r in rounds)


def repeat(label: str, runs: int, fn, *args) -> dict:
    results = []
    for n in range(runs):
        print(f"  {label}: run {n + 1}/{runs} ...", file=sys.stderr, flush=True)
        results.append(fn(*args))
    return median_of(results)


def render(results: dict, previous: dict | None) -> str:
    def prev(*path: str) -> str:
        value = previous
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return ""
            value = value[key]
        return f"{value:10.2f}" if isinstance(value, (int, float)) else ""

    f = results["figures"]
    rows = [
        ("baseline: bare_extraction loop, docs/s", f["baseline_docs_per_s"], ("figures", "baseline_docs_per_s")),
        ("pipeline, 1 worker, docs/s", f["pipeline_1w_docs_per_s"], ("figures", "pipeline_1w_docs_per_s")),
        ("  ratio to baseline", f["ratio_1w_to_baseline"], ("figures", "ratio_1w_to_baseline")),
        ("pipeline, 2 workers, docs/s", f["pipeline_2w_docs_per_s"], ("figures", "pipeline_2w_docs_per_s")),
        ("  speed-up over 1 worker", f["speedup_2w_over_1w"], ("figures", "speedup_2w_over_1w")),
    ]
    for stage, ms in f["stage_ms_per_doc"].items():
        rows.append((f"stage {stage}, ms/doc (1 worker)", ms, ("figures", "stage_ms_per_doc", stage)))
    rows += [
        ("peak RSS, baseline, MB", f["baseline_peak_rss_mb"], ("figures", "baseline_peak_rss_mb")),
        ("peak RSS, pipeline 1x, MB", f["pipeline_1x_peak_rss_mb"], ("figures", "pipeline_1x_peak_rss_mb")),
        ("peak RSS, pipeline 2 workers, MB", f["pipeline_2w_peak_rss_mb"], ("figures", "pipeline_2w_peak_rss_mb")),
    ]
    if "stream_docs_per_s" in f:
        rows += [
            (f"batch, first {results['setup']['stream_docs']} pages, docs/s", f["stream_batch_docs_per_s"],
             ("figures", "stream_batch_docs_per_s")),
            ("streaming replay, dedup on, docs/s", f["stream_docs_per_s"], ("figures", "stream_docs_per_s")),
            ("streaming replay, --no_dedup, docs/s", f["stream_no_dedup_docs_per_s"],
             ("figures", "stream_no_dedup_docs_per_s")),
        ]  # fmt: skip
    if "pipeline_4x_peak_rss_mb" in f:
        rows += [
            ("peak RSS, pipeline 4x, MB", f["pipeline_4x_peak_rss_mb"], ("figures", "pipeline_4x_peak_rss_mb")),
            ("  growth 1x -> 4x", f["rss_growth_1x_to_4x"], ("figures", "rss_growth_1x_to_4x")),
            ("pipeline 4x, 1 worker, docs/s", f["pipeline_4x_docs_per_s"], ("figures", "pipeline_4x_docs_per_s")),
        ]
    setup = results["setup"]
    head = (f"newsbeam bench: {setup['documents_1x']} documents ({setup['pages']} pages x {setup['repeats_1x']}, "
            f"{setup['sample_mb']:.0f} MB of HTML per repeat), median of {setup['runs']} runs"
            + (f" ({setup['runs_4x']} at 4x)" if "runs_4x" in setup else "") + f", {setup['cpus']} CPUs")  # fmt: skip
    lines = [head, f"{'':48}{'this run':>10}{'previous':>10}"]
    for label, value, path in rows:
        lines.append(f"{label:48}{value:10.2f}{prev(*path)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"),
                        help="folder of the corpora archives and their 'unpack' script")  # fmt: skip
    parser.add_argument("--work", default=str(ROOT / ".bench"), help="where pages, sets and outputs go")
    parser.add_argument("--pages", type=int, default=500, help="distinct pages sampled (default %(default)s)")
    parser.add_argument("--documents", type=int, default=2000, help="documents at 1x (default %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is kept (default 3)")
    parser.add_argument("--skip_4x", action="store_true", help="leave out the 4x memory-growth runs")
    parser.add_argument("--runs_4x", type=int, default=1,
                        help="4x runs: they give the memory growth, a peak that varies far less from run "
                             "to run than the speed, at four times a run's cost (default %(default)s)")  # fmt: skip
    parser.add_argument("--stream_docs", type=int, default=100,
                        help="pages replayed as a stream; 0 leaves it out (default %(default)s)")  # fmt: skip
    parser.add_argument("--json", default=str(ROOT / "bench" / "results.json"), help="where the table goes as JSON")
    args = parser.parse_args(argv)

    work = Path(args.work)
    archives = unpack(Path(args.corpora), work / "corpora")
    sample = sample_pages(archives, work / f"sample-{args.pages}", args.pages, MAX_BYTES)
    set_1x, docs_1x = repeated_set(sample, work / f"set-{args.pages}-1x", args.documents)
    print(f"bench: {docs_1x} documents from {sample.pages} pages", file=sys.stderr)
    out = work / "out"

    rounds = []
    for n in range(args.runs):
        print(f"  round {n + 1}/{args.runs}: baseline, pipeline 1 worker, pipeline 2 workers ...", file=sys.stderr,
              flush=True)  # fmt: skip
        rounds.append({"baseline": baseline(set_1x), "one": pipeline(set_1x, out, 1), "two": pipeline(set_1x, out, 2)})
    base, one, two = (median_of([r[k] for r in rounds]) for k in ("baseline", "one", "two"))
    figures = {
        "baseline_docs_per_s": base["docs_per_s"],
        "pipeline_1w_docs_per_s": one["docs_per_s"],
        "ratio_1w_to_baseline": per_round_ratio(rounds, "one", "baseline"),
        "pipeline_2w_docs_per_s": two["docs_per_s"],
        "speedup_2w_over_1w": per_round_ratio(rounds, "two", "one"),
        "stage_ms_per_doc": one["stage_ms_per_doc"],
        "baseline_peak_rss_mb": base["peak_rss_mb"],
        "pipeline_1x_peak_rss_mb": one["peak_rss_mb"],
        "pipeline_2w_peak_rss_mb": two["peak_rss_mb"],
    }
    runs = {"baseline": base, "pipeline_1w": one, "pipeline_2w": two}
    setup = {"pages": sample.pages, "sample_mb": sample.bytes / 2**20, "documents_1x": docs_1x,
             "repeats_1x": docs_1x // sample.pages, "runs": args.runs}  # fmt: skip
    if not args.skip_4x:
        set_4x, docs_4x = repeated_set(sample, work / f"set-{args.pages}-4x", 4 * args.documents)
        four = repeat("pipeline 4x, 1 worker", args.runs_4x, pipeline, set_4x, out, 1)
        figures["pipeline_4x_peak_rss_mb"] = four["peak_rss_mb"]
        figures["rss_growth_1x_to_4x"] = four["peak_rss_mb"] / one["peak_rss_mb"]
        figures["pipeline_4x_docs_per_s"] = four["docs_per_s"]
        runs["pipeline_4x"] = four
        setup["documents_4x"] = docs_4x
        setup["runs_4x"] = args.runs_4x
    if args.stream_docs > 0:
        few = first_pages(sample.folder, work / f"first-{args.stream_docs}", args.stream_docs)
        print(f"  streaming: {args.stream_docs} pages, with and without dedup ...", file=sys.stderr, flush=True)
        figures["stream_batch_docs_per_s"] = pipeline(few, out, 1)["docs_per_s"]
        figures["stream_docs_per_s"] = replay(few, out, True)["docs_per_s"]
        figures["stream_no_dedup_docs_per_s"] = replay(few, out, False)["docs_per_s"]
        setup["stream_docs"] = args.stream_docs
    shutil.rmtree(out, ignore_errors=True)
    setup.update(
        cpus=os.cpu_count(),
        python=platform.python_version(),
        machine=platform.machine(),
        commit=_commit(),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    each_round = [{"ratio_1w_to_baseline": per_round_ratio([r], "one", "baseline"),
                   "speedup_2w_over_1w": per_round_ratio([r], "two", "one")} for r in rounds]  # fmt: skip
    results = {"setup": setup, "figures": figures, "runs": runs, "rounds": each_round}
    path = Path(args.json)
    previous = json.loads(path.read_text()) if path.exists() else None
    print(render(results, previous))
    for figure in ("ratio_1w_to_baseline", "speedup_2w_over_1w"):
        print(f"{figure} in each round: " + ", ".join(f"{r[figure]:.2f}" for r in each_round))
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"written to {path}")


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


if __name__ == "__main__":
    main()
