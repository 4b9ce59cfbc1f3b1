"""--append: daily runs into one output.  Each run adds its files beside the
old ones (never rewriting them), logs what it added in _runs/, commits only
once it succeeded (a failed run, or a failed commit, adds nothing), and a
second run into the same output meanwhile is refused.  An output built by
appended runs, and outputs merged by copying, read with DuckDB and pyarrow
Hive partitioning, empty tables included."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from pipeline import commit
from pipeline import run as run_module
from tests.conftest import ROOT, SEEDS
from tests.test_cli_safety import _fail_after_one_file, _one_line, snapshot

SEED = {n: (SEEDS / f).read_text(encoding="utf-8") for n, f in enumerate(sorted(p.name for p in SEEDS.glob("*.txt")))}


def _day(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _append(folder: Path, out: Path, day: str, *extra: str) -> run_module.Summary:
    summary = run_module.run(["--input", str(folder), "--manifest", "none", "--output", str(out), "--append",
                              "--ingested_at", f"{day}T06:00:00Z", *extra])  # fmt: skip
    assert summary.state == "DONE" and summary.balanced
    return summary


def _table_files(listing: dict[str, str]) -> dict[str, str]:
    """The Parquet files of the tables in a snapshot, with their hashes."""
    return {k: v for k, v in listing.items() if k.split("/")[0] in ("articles", "duplicates", "rejects") and
            k.endswith(".parquet")}  # fmt: skip


def _duck(glob: Path) -> tuple[int, list]:
    con = duckdb.connect()
    rel = f"read_parquet('{glob}', hive_partitioning=true)"
    count = con.sql(f"select count(*) from {rel}").fetchall()[0][0]
    columns = [d[0] for d in con.sql(f"select * from {rel} limit 0").description]
    return count, columns


@pytest.fixture(scope="module")
def three_days(tmp_path_factory):
    """Three appended runs: day 1 has no duplicate and no reject, day 2 a
    copy and an empty file, day 3 a copy."""
    root = tmp_path_factory.mktemp("days")
    out = root / "out"
    days = [
        _day(root / "d1", {"a.txt": SEED[0], "b.txt": SEED[1]}),
        _day(root / "d2", {"c.txt": SEED[2], "c-copy.txt": SEED[2], "empty.txt": " \n"}),
        _day(root / "d3", {"d.txt": SEED[3], "d-copy.txt": SEED[3], "e.txt": SEED[4]}),
    ]
    summaries, after = [], []
    for n, folder in enumerate(days, start=1):
        summaries.append(_append(folder, out, f"2026-01-0{n}"))
        after.append(snapshot(out))
    return out, summaries, after


def test_three_appended_runs_read_as_one_table_with_duckdb_and_pyarrow(three_days):
    out, summaries, _ = three_days
    assert [(s.articles, s.duplicates, s.rejects) for s in summaries] == [(2, 0, 0), (1, 1, 1), (2, 1, 0)]
    for table, rows in (("articles", 5), ("duplicates", 2), ("rejects", 1)):
        count, columns = _duck(out / table / "**" / "*.parquet")
        assert count == rows, table
        assert ("date" in columns and "topic" in columns) == (table != "rejects"), columns
        assert ds.dataset(out / table, format="parquet", partitioning="hive").to_table().num_rows == rows
    dates = duckdb.sql(
        f"select distinct date::varchar from read_parquet('{out}/duplicates/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert dates and ("1970-01-01",) not in dates  # the empty file adds no row, so no date


def test_day_one_files_are_byte_identical_after_later_runs(three_days):
    out, _, after = three_days
    day1, now = _table_files(after[0]), snapshot(out)
    assert day1 and all(now[name] == digest for name, digest in day1.items())
    # Each later run only added files.
    assert set(after[0]) <= set(after[1]) <= set(after[2])


def test_each_run_logs_the_files_it_added_and_rollback_restores_the_tables(three_days, tmp_path):
    out, summaries, after = three_days
    logs = sorted((out / "_runs").glob("*.json"))
    assert len(logs) == 3
    records = [json.loads(p.read_text()) for p in logs]  # run ids sort by start, to the millisecond
    assert [r["counts"]["articles"] for r in records] == [s.articles for s in summaries]
    added = [f for r in records for f in r["files_added"]]
    on_disk = sorted(str(p.relative_to(out)) for t in ("articles", "duplicates", "rejects")
                     for p in (out / t).rglob("*.parquet"))  # fmt: skip
    assert sorted(added) == on_disk and len(set(added)) == len(added)
    for record, summary in zip(records, summaries, strict=True):
        assert record["mode"] == "append" and "--append" in record["command"]
        assert record["counts"]["articles"] == summary.articles and record["counts"]["already_ingested"] == 0
        assert all(f"part-{record['run_id']}-00000.parquet" in f for f in record["files_added"])
    # Rolling day 3 back: delete the files its log lists, then the log.
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    for name in records[2]["files_added"]:
        (copy / name).unlink()
    (copy / "_runs" / f"{records[2]['run_id']}.json").unlink()
    assert _table_files(snapshot(copy)) == _table_files(after[1])
    assert sorted(p.name for p in (copy / "_runs").iterdir()) == [p.name for p in logs[:2]]


def test_outputs_of_separate_runs_merge_into_one_readable_table(tmp_path):
    """A run with no duplicate leaves its empty duplicates file in a
    partition folder, not at the table's root, so copying two outputs
    together gives a table Hive readers accept."""
    one = _day(tmp_path / "one", {"a.txt": SEED[0]})
    two = _day(tmp_path / "two", {"b.txt": SEED[1], "b-copy.txt": SEED[1]})
    merged = tmp_path / "merged"
    for n, folder in enumerate((one, two), start=1):
        out = tmp_path / f"out{n}"
        run_module.run(["--input", str(folder), "--manifest", "none", "--output", str(out),
                        "--ingested_at", f"2026-02-0{n}T00:00:00Z"])  # fmt: skip
        shutil.copytree(out / "duplicates", merged / "duplicates", dirs_exist_ok=True)
    assert not list((tmp_path / "out1" / "duplicates").glob("*.parquet")), "an empty file at the table's root"
    count, columns = _duck(merged / "duplicates" / "**" / "*.parquet")
    assert count == 1 and "date" in columns
    assert ds.dataset(merged / "duplicates", format="parquet", partitioning="hive").to_table().num_rows == 1


def test_a_reject_read_again_is_already_ingested_not_written_twice(tmp_path):
    """A folder read every day keeps its unreadable files: the second run
    counts them as already in the output; one whose content changed is a
    new reject."""
    folder = _day(tmp_path / "in", {"a.txt": SEED[0], "empty.txt": "   ", "short.txt": "قصير"})
    out = tmp_path / "out"
    first = _append(folder, out, "2026-01-01")
    assert (first.articles, first.rejects, first.already_ingested) == (1, 2, 0)
    again = _append(folder, out, "2026-01-02")
    assert (again.articles, again.rejects, again.already_ingested) == (0, 0, 3)
    (folder / "short.txt").write_text("قصير جدا", encoding="utf-8")
    changed = _append(folder, out, "2026-01-03")
    assert (changed.rejects, changed.already_ingested) == (1, 2)
    count, _ = _duck(out / "rejects")
    assert count == 3


def test_append_is_refused_with_overwrite_and_for_endless_runs(tmp_path, capsys):
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("http://127.0.0.1:9/feed.xml\n")
    for flags, says in [
        (["--input", str(SEEDS), "--append", "--overwrite"], "--append cannot be combined with --overwrite"),
        (["--feeds", str(feeds), "--streaming", "--append"], "--append only applies to a batch job"),
    ]:
        code = run_module.main([*flags, "--output", str(tmp_path / "out")])
        assert code == 2
        assert says in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def _held_lock(out: Path, pid: int) -> Path:
    lock = out / commit.LOCK_FILE
    lock.write_text(json.dumps({"run_id": "20260101T000000Z-00000000", "pid": pid, "host": socket.gethostname(),
                                "started_at": "2026-01-01T00:00:00+00:00", "command": []}))  # fmt: skip
    return lock


def test_a_second_run_into_the_same_output_is_refused(three_days, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(three_days[0], out)
    lock = _held_lock(out, os.getpid())  # a live process holds it
    before = snapshot(out)
    day = _day(tmp_path / "d4", {"f.txt": SEED[0]})
    code = run_module.main(["--input", str(day), "--output", str(out), "--append"])
    assert code == 2
    line = _one_line(capsys.readouterr().err)
    assert "is in use by run 20260101T000000Z-00000000" in line and f"remove {lock}" in line
    assert snapshot(out) == before


def test_a_lock_left_by_a_dead_process_is_taken_over(three_days, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(three_days[0], out)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    _held_lock(out, gone.pid)
    stale_staging = out / ".newsbeam-staging-20260101T000000Z-00000000"
    stale_staging.mkdir()
    _append(_day(tmp_path / "d4", {"f.txt": SEED[0]}), out, "2026-01-04")
    assert not (out / commit.LOCK_FILE).exists() and not stale_staging.exists()
    assert len(list((out / "_runs").glob("*.json"))) == 4


def test_an_append_failing_mid_way_adds_nothing(three_days, tmp_path, monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(three_days[0], out)
    before = snapshot(out)
    calls = _fail_after_one_file(monkeypatch)
    with pytest.raises(Exception, match="disk full"):
        _append(_day(tmp_path / "d4", {"f.txt": SEED[0], "empty.txt": ""}), out, "2026-01-04")
    assert len(calls) > 1
    assert snapshot(out) == before


def test_a_commit_failing_mid_way_is_undone(three_days, tmp_path, monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(three_days[0], out)
    before = snapshot(out)
    original, moves = commit.move, []

    def failing(src: str, dst: str) -> None:
        moves.append(dst)
        if len(moves) == 3:
            raise OSError("the disk went away")
        original(src, dst)

    monkeypatch.setattr(commit, "move", failing)
    with pytest.raises(OSError, match="the disk went away"):
        _append(_day(tmp_path / "d4", {"f.txt": SEED[0], "g.txt": SEED[1]}), out, "2026-01-04")
    assert len(moves) > 3  # it failed after moving files in, which were moved back
    assert snapshot(out) == before


def test_without_append_a_second_run_is_refused_and_says_how_to_add(three_days, capsys):
    code = run_module.main(["--input", str(SEEDS), "--output", str(three_days[0])])
    assert code == 2
    assert "pass --append to add to its tables" in _one_line(capsys.readouterr().err)


def test_append_is_in_the_help(capsys):
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--help"], cwd=ROOT, capture_output=True,
                          text=True, check=True)  # fmt: skip
    assert "--append" in done.stdout
