"""The Read stage on hostile files: truncated and compressed archives,
compressed JSONL, JSONL files with no record, broken symbolic links, FIFOs
and devices.  Each ends in exactly one table, and each run balances:
records in = articles + duplicates + rejects."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from tests.conftest import SEEDS, read_table
from tests.inputs import MAX_BYTES, SEED_000, SEED_001, SEED_002, SEED_003
from transforms.read import MatchFilesFn

SEED_004 = (SEEDS / "004_9fef331906d48881.txt").read_text(encoding="utf-8")

COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zst": lambda data: zstandard.ZstdCompressor().compress(data),
    "deflate": zlib.compress,
}


def page(text: str) -> bytes:
    """A seed as a UTF-8 HTML article page."""
    paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines()[1:] if line.strip())
    title = text.splitlines()[0]
    return (
        f'<html lang="ar"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    ).encode()


def outcomes(out: Path) -> dict[str, tuple]:
    """source_uri -> ('article',) / ('duplicate',) / (stage, reason, detail), each source once."""
    found: dict[str, tuple] = {}
    tables = {"articles": lambda r: ("article",), "duplicates": lambda r: ("duplicate",)}
    tables["rejects"] = lambda r: (r["stage"], r["reason"], r["detail"])
    for name, outcome in tables.items():
        for row in read_table(out, name).to_pylist():
            assert row["source_uri"] not in found, f"{row['source_uri']} is in two tables"
            found[row["source_uri"]] = outcome(row)
    return found


def assert_balanced(summary, records: int) -> None:
    assert summary.state == "DONE"
    assert summary.documents_in == records
    assert summary.documents_in == summary.articles + summary.duplicates + summary.rejects


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_a_truncated_archive_is_an_unreadable_reject_naming_the_truncation(run_pipeline, tmp_path, suffix):
    """Beam's reader returned a truncated archive's first part as the whole
    (a .gz became a 42-word article of an 815-word page; a .bz2 or .xz,
    whose output comes at the end, became ``empty``)."""
    folder = tmp_path / "in"
    folder.mkdir()
    compress = COMPRESS[suffix]
    (folder / f"whole.html.{suffix}").write_bytes(compress(page(SEED_002)))
    packed = compress(page(SEED_003))
    (folder / f"cut.html.{suffix}").write_bytes(packed[: len(packed) * 2 // 3])
    summary, out = run_pipeline(folder)
    assert_balanced(summary, 2)
    seen = outcomes(out)
    assert seen[f"{folder}/whole.html.{suffix}"] == ("article",)
    stage, reason, detail = seen[f"{folder}/cut.html.{suffix}"]
    assert (stage, reason) == ("read", "unreadable")
    assert "truncated" in detail


def test_a_compression_bomb_is_too_large_and_a_concatenated_gz_is_read_whole(run_pipeline, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "bomb.html.gz").write_bytes(gzip.compress(b"<p>" + b" " * (50 * MAX_BYTES) + b"</p>"))
    # Two gzip members, as `cat a.gz b.gz` makes: one document, both halves.
    html = page(SEED_001)
    (folder / "two-members.html.gz").write_bytes(gzip.compress(html[:500]) + gzip.compress(html[500:]))
    summary, out = run_pipeline(folder, "--max_bytes", str(MAX_BYTES))
    assert_balanced(summary, 2)
    seen = outcomes(out)
    assert seen[f"{folder}/bomb.html.gz"][:2] == ("read", "too_large")
    assert seen[f"{folder}/two-members.html.gz"] == ("article",)
    (article,) = read_table(out).to_pylist()
    assert article["text"].splitlines()[-1].strip() == SEED_001.strip().splitlines()[-1].strip()


def _record(n: int, text: str) -> bytes:
    return json.dumps({"url": f"https://example.org/{n}", "text": text}, ensure_ascii=False).encode() + b"\n"


@pytest.mark.parametrize("suffix", ["gz", "bz2", "xz", "zst"])
def test_compressed_jsonl_is_read_record_by_record_with_the_same_caps(run_pipeline, tmp_path, suffix):
    """A .jsonl.gz killed the whole run (Beam's compressed reader has no
    readline(size)); now each record is one record in, as in a plain .jsonl,
    and a truncated one keeps the records before the cut."""
    folder = tmp_path / "in"
    folder.mkdir()
    compress = COMPRESS[suffix]
    body = _record(1, SEED_000) + b"{not json\n" + _record(3, "x" * (MAX_BYTES + 10)) + b"\n" + _record(4, SEED_001)
    (folder / f"records.jsonl.{suffix}").write_bytes(compress(body))
    packed = compress(_record(5, SEED_002) + _record(6, SEED_003) + _record(7, SEED_004 * 3))
    # Cut inside the last record (the .bz2 and .xz formats give nothing
    # before their end, so only the truncation itself is seen there).
    (folder / f"cut.jsonl.{suffix}").write_bytes(packed[: len(packed) - 40])
    (folder / f"blank.jsonl.{suffix}").write_bytes(compress(b"\n \n"))
    summary, out = run_pipeline(folder, "--max_bytes", str(MAX_BYTES))
    seen = outcomes(out)
    records = f"{folder}/records.jsonl.{suffix}"
    assert seen[f"{records}#L1"] == ("article",)
    assert seen[f"{records}#L2"][:2] == ("read", "bad_json")
    assert seen[f"{records}#L3"][:2] == ("read", "too_large")
    assert seen[f"{records}#L5"] == ("article",)  # line 4 is blank: not a record
    assert seen[f"{folder}/blank.jsonl.{suffix}"][:2] == ("read", "empty")
    from_cut = {uri: o for uri, o in seen.items() if "/cut.jsonl." in uri}
    truncated = [o for o in from_cut.values() if o[:2] == ("read", "unreadable")]
    assert len(truncated) == 1 and "truncated" in truncated[0][2]
    assert all(o == ("article",) for o in from_cut.values() if o not in truncated)
    assert len(from_cut) <= 3
    assert_balanced(summary, 5 + len(from_cut))


def test_a_jsonl_file_with_no_records_is_an_empty_reject(run_pipeline, tmp_path):
    """An empty or blank-only .jsonl left no trace at all."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(SEED_001, encoding="utf-8")
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "blank.jsonl").write_bytes(b"\n   \n\t\n")
    summary, out = run_pipeline(folder)
    assert_balanced(summary, 3)
    seen = outcomes(out)
    for name in ("empty.jsonl", "blank.jsonl"):
        assert seen[f"{folder}/{name}"][:2] == ("read", "empty"), name
    assert seen[f"{folder}/good.txt"] == ("article",)


def test_a_broken_symlink_is_a_reject(run_pipeline, tmp_path):
    """Beam's listing drops a link it cannot size: the file vanished silently."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.txt").write_text(SEED_001, encoding="utf-8")
    (folder / "broken.html").symlink_to(tmp_path / "gone.html")
    (folder / "sub" / "broken.jsonl").symlink_to(tmp_path / "gone.jsonl")
    (folder / "broken.md").symlink_to(tmp_path / "gone.md")  # not a document type: not read
    summary, out = run_pipeline(folder)
    assert_balanced(summary, 3)
    seen = outcomes(out)
    assert seen[f"{folder}/broken.html"][:2] == ("read", "broken_symlink")
    assert "gone.html" in seen[f"{folder}/broken.html"][2]
    assert seen[f"{folder}/sub/broken.jsonl"][:2] == ("read", "broken_symlink")
    assert len(seen) == 3


def test_the_files_matched_come_largest_first_with_the_unlisted_ones(tmp_path):
    """The local runner deals the matched files to its workers in turn: in
    falling size their shares even out.  The broken link (size 0) is still
    among them, and equal sizes keep their path order."""
    for name, size in (("a.html", 10), ("b.html", 3000), ("c.txt", 200), ("d.txt", 200)):
        (tmp_path / name).write_bytes(b"x" * size)
    (tmp_path / "broken.html").symlink_to(tmp_path / "gone.html")
    found = list(MatchFilesFn().process(f"{tmp_path}/*"))
    assert [Path(m.path).name for m in found] == ["b.html", "c.txt", "d.txt", "a.html", "broken.html"]


def test_a_file_name_that_is_not_utf8_is_read_under_an_escaped_name(run_pipeline, tmp_path):
    """Python keeps such bytes as lone surrogates, which no coder can write:
    one such name failed the whole run."""
    folder = tmp_path / "in"
    folder.mkdir()
    raw = os.fsencode(folder)
    with open(raw + b"/caf\xe9.txt", "wb") as fh:  # latin-1 bytes, as an old archive names files
        fh.write(SEED_001.encode("utf-8"))
    with open(raw + b"/vide\xff.html", "wb") as fh:
        fh.write(b"   ")
    (folder / "good.txt").write_text(SEED_002, encoding="utf-8")
    summary, out = run_pipeline(folder)
    assert_balanced(summary, 3)
    seen = outcomes(out)
    assert seen[f"{folder}/caf\\xe9.txt"] == ("article",)
    assert seen[f"{folder}/vide\\xff.html"][:2] == ("read", "empty")
    assert seen[f"{folder}/good.txt"] == ("article",)


def test_a_jsonl_published_that_cannot_be_read_is_counted_and_the_record_kept(run_pipeline, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    records = [
        {"url": "https://a.example/1", "text": SEED_001, "published": "garbage-date"},
        {"url": "https://a.example/2", "text": SEED_002, "published": 1604923200},  # Unix seconds
        {"url": "https://a.example/3", "text": SEED_003, "published": "2024-13-45"},
    ]
    (folder / "news.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    summary, out = run_pipeline(folder)
    assert_balanced(summary, 3)
    assert summary.ignored_fields == {"published": 2}
    rows = {r["url"]: r for r in read_table(out).to_pylist()}
    assert rows["https://a.example/2"]["published_at"].isoformat() == "2020-11-09T12:00:00+00:00"
    assert rows["https://a.example/1"]["published_at"] is None and rows["https://a.example/3"]["published_at"] is None
    assert "fields ignored    published 2" in summary.render(str(out))


def test_files_under_a_linked_folder_are_read_once(run_pipeline, tmp_path):
    """Beam's listing walks without following links: a linked folder of
    documents was neither read nor counted.  A link back into the input,
    or a loop of links, reads nothing twice."""
    elsewhere = tmp_path / "archive"
    (elsewhere / "deeper").mkdir(parents=True)
    (elsewhere / "a.txt").write_text(SEED_001, encoding="utf-8")
    (elsewhere / "deeper" / "b.txt").write_text(SEED_002, encoding="utf-8")
    (elsewhere / "deeper" / "loop").symlink_to(elsewhere)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(SEED_003, encoding="utf-8")
    (folder / "linked").symlink_to(elsewhere)
    (folder / "again").symlink_to(folder)
    summary, out = run_pipeline(folder)
    assert_balanced(summary, 3)
    seen = outcomes(out)
    assert seen == {
        f"{folder}/good.txt": ("article",),
        f"{folder}/linked/a.txt": ("article",),
        f"{folder}/linked/deeper/b.txt": ("article",),
    }


def test_a_fifo_or_device_is_refused_without_opening_it(run_pipeline, tmp_path):
    """Opening a FIFO blocks until a writer comes: it hung the run."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(SEED_001, encoding="utf-8")
    fifo = folder / "fifo.html"
    os.mkfifo(fifo)
    (folder / "null.html").symlink_to("/dev/null")
    done = threading.Event()

    def unblock_a_reader() -> None:
        # Should the FIFO be opened for reading (the bug), open it for
        # writing too, so the run ends and this test fails instead of hanging.
        while not done.wait(0.5):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # ENXIO: nobody is reading it, as it should be
                pass

    watchdog = threading.Thread(target=unblock_a_reader, daemon=True)
    watchdog.start()
    try:
        summary, out = run_pipeline(folder)
    finally:
        done.set()
        watchdog.join()
    assert_balanced(summary, 3)
    seen = outcomes(out)
    assert seen[f"{folder}/fifo.html"] == ("read", "not_a_regular_file", "a FIFO, not a regular file")
    assert seen[f"{folder}/null.html"] == ("read", "not_a_regular_file", "a character device, not a regular file")
    assert seen[f"{folder}/good.txt"] == ("article",)
