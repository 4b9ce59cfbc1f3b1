"""``newsbeam replay`` on what a real folder holds: files written a moment
ago (modification times finer than a millisecond), a corrupt archive
beside good files, and JSONL files of several records.  Each replay exits
0 and balances: records in = articles + duplicates + rejects."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from pipeline import replay
from tests.conftest import PINNED_INGEST, read_table
from tests.inputs import SEED_000, SEED_001, SEED_002, SEED_003


def _replay(folder: Path, out: Path) -> tuple[int, dict]:
    rc = replay.main([str(folder), "--output", str(out), "--ingested_at", PINNED_INGEST])
    summary = json.loads((out / "_summary.json").read_text()) if (out / "_summary.json").exists() else {}
    return rc, summary


def _assert_balanced(summary: dict, records: int) -> None:
    assert summary["state"] == "DONE"
    assert summary["documents_in"] == records
    assert summary["documents_in"] == summary["articles"] + summary["duplicates"] + summary["rejects"]


def test_a_freshly_written_file_is_replayed(tmp_path):
    """A TestStream wants whole milliseconds: a modification time of
    ...123456789 ns made the replay crash before it started."""
    folder = tmp_path / "in"
    folder.mkdir()
    fresh = folder / "fresh.txt"
    fresh.write_text(SEED_001, encoding="utf-8")
    # Set explicitly, so the test does not depend on the file system's clock grain.
    os.utime(fresh, ns=(1_767_225_600_123_456_789, 1_767_225_600_123_456_789))
    rc, summary = _replay(folder, tmp_path / "out")
    assert rc == 0
    _assert_balanced(summary, 1)
    assert summary["articles"] == 1


def test_a_corrupt_gz_beside_good_files_is_a_reject(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(SEED_000, encoding="utf-8")
    (folder / "b.txt").write_text(SEED_001, encoding="utf-8")
    (folder / "corrupt.html.gz").write_bytes(b"this is not gzip data at all")
    packed = gzip.compress(SEED_002.encode())
    (folder / "cut.txt.gz").write_bytes(packed[: len(packed) // 2])
    for path in folder.iterdir():
        os.utime(path, (1_767_225_600, 1_767_225_600))
    out = tmp_path / "out"
    rc, summary = _replay(folder, out)
    assert rc == 0
    _assert_balanced(summary, 4)
    rejects = {Path(r["source_uri"]).name: (r["stage"], r["reason"]) for r in read_table(out, "rejects").to_pylist()}
    assert rejects == {"corrupt.html.gz": ("read", "unreadable"), "cut.txt.gz": ("read", "unreadable")}
    assert summary["articles"] == 2


def test_a_jsonl_of_several_records_balances(tmp_path):
    """The replay counted one document per file, not per record: a false
    MISMATCH, rc 1."""
    folder = tmp_path / "in"
    folder.mkdir()
    records = [
        {"url": "https://example.org/1", "text": SEED_000, "published": "2020-11-09T10:00:00Z"},
        {"url": "https://example.org/2", "text": SEED_003, "published": "2020-11-09T11:00:00Z"},
        {"url": "https://example.org/3", "text": "   "},
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + ["", "{not json"]
    (folder / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "c.txt").write_text(SEED_001, encoding="utf-8")
    for path in folder.iterdir():  # whole seconds: this test is about counting
        os.utime(path, (1_767_225_600, 1_767_225_600))
    rc, summary = _replay(folder, tmp_path / "out")
    assert rc == 0
    # 4 records (the blank line is none), one for the empty file, one text file.
    _assert_balanced(summary, 6)
    # Each record arrives at its own event time, as a file does: none is late
    # (one element for the file, at its mtime, made the 2020 records late).
    assert summary["rejects_by_reason"] == {"read.bad_json": 1, "read.empty": 2}
    assert summary["articles"] == 3
