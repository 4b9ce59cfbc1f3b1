"""Daily runs into one output: two days of real ANT articles appended one
after the other give the rows and story_ids of one run over both days;
day 1's files stay byte for byte; day 2 again adds nothing and is counted
as already ingested."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import duckdb

from tests.conftest import DATA, PINNED_INGEST, read_table


def _write_days(root: Path) -> tuple[Path, Path, Path]:
    """day1/, day2/ and both/: copies of day-1 stories and new stories on day 2."""
    with gzip.open(DATA / "dedup" / "ant_pairs.jsonl.gz", "rt", encoding="utf-8") as fh:
        pairs = sorted((json.loads(line) for line in fh), key=lambda p: p["pair_id"])
    copies = [p for p in pairs if p["label"] == "copy" and p["a"]["text"] != p["b"]["text"]][:6]
    different = [p for p in pairs if p["label"] == "different"][:3]
    days: dict[str, list[str]] = {"day1": [], "day2": []}
    for i, pair in enumerate(copies + different):
        for day, side, date in (("day1", "a", "2018-05-20"), ("day2", "b", "2018-05-21")):
            record = {"url": f"https://{pair[side]['src'].lower()}.example/{side}{i}", "text": pair[side]["text"],
                      "source": pair[side]["src"], "published": f"{date}T{8 + i:02d}:15:00Z"}  # fmt: skip
            days[day].append(json.dumps(record, ensure_ascii=False))
    folders = []
    for name, lines in (("day1", days["day1"]), ("day2", days["day2"]), ("both", days["day1"] + days["day2"])):
        folder = root / name
        folder.mkdir()
        (folder / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        folders.append(folder)
    return folders[0], folders[1], folders[2]


def _run(folder: Path, out: Path, *flags: str):
    from pipeline.run import run

    return run(["--input", str(folder), "--output", str(out), "--ingested_at", PINNED_INGEST, *flags])


def _rows(out: Path) -> list[tuple]:
    rows = []
    for table in ("articles", "duplicates"):
        for r in read_table(out, table).to_pylist():
            rows.append((r["url"], r["doc_id"], r["story_id"], r.get("duplicate_of"), r["text"], r["event_time"]))
    return sorted(rows)


def _files(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in out.rglob("*.parquet")
        # State and the stories table are rebuilt whole by every run; table files never are.
        if "_state" not in p.parts and "stories" not in p.parts
    }


def test_appended_days_are_one_run_over_both(tmp_path):
    day1, day2, both = _write_days(tmp_path)
    one = _run(both, tmp_path / "one")
    assert one.balanced and one.duplicates >= 3
    out = tmp_path / "daily"
    first = _run(day1, out, "--append")
    after_day1 = _files(out)
    second = _run(day2, out, "--append")
    assert first.balanced and second.balanced and second.duplicates >= 3
    # The rows (not the file layout, nor the run-unique file names) of one run over both days.
    assert _rows(out) == _rows(tmp_path / "one")
    assert all(_files(out)[name] == digest for name, digest in after_day1.items())
    # Day 2 again: nothing added, every record already ingested.
    files = _files(out)
    again = _run(day2, out, "--append")
    assert again.balanced and (again.articles, again.duplicates, again.rejects) == (0, 0, 0)
    assert again.already_ingested == again.documents_in == 9
    assert _files(out) == files
    # The appended output reads as one table.
    ((count,),) = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning = true)"
    ).fetchall()
    assert count == one.articles
