"""The benchmark's input set: pages found in every archive layout, the
same sample every time, repeats that are separate files of the same bytes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bench.corpus import first_pages, repeated_set, sample_pages

PAGE = b"<html><body><p>%d</p></body></html>"


def _archives(root: Path) -> list[Path]:
    plain = root / "html-trafilatura" / "eval"
    zipped = root / "html-fundus" / "de"
    fixtures = root / "html-mediacloud" / "mcmetadata" / "test" / "fixtures"
    for folder in (plain, zipped, fixtures):
        folder.mkdir(parents=True)
    for n in range(4):
        (plain / f"page{n}.html").write_bytes(PAGE % n)
        (zipped / f"page{n}.html.gz").write_bytes(gzip.compress(PAGE % (10 + n)))
    (fixtures / "cached-httpsexamplecom").write_bytes(PAGE % 20)
    (fixtures / "DERIVED_language_labels.json").write_text("{}")  # not a page
    (plain / "notes.txt").write_text("not a page")
    (plain / "empty.html").write_bytes(b"  ")  # not worth extracting
    (plain / "huge.html").write_bytes(b"<html>" + b"x" * 500)  # over max_bytes
    return [root / "html-trafilatura", root / "html-fundus", root / "html-mediacloud"]


def test_the_sample_is_every_kind_of_page_decompressed_and_the_same_each_time(tmp_path):
    archives = _archives(tmp_path / "corpora")
    first = sample_pages(archives, tmp_path / "a", 9, max_bytes=200)
    again = sample_pages(archives, tmp_path / "b", 9, max_bytes=200)
    pages = sorted(p.read_bytes() for p in first.folder.glob("*.html"))
    assert pages == sorted(PAGE % n for n in (0, 1, 2, 3, 10, 11, 12, 13, 20))
    assert [p.read_bytes() for p in sorted(first.folder.glob("*.html"))] == [
        p.read_bytes() for p in sorted(again.folder.glob("*.html"))
    ]
    assert first.pages == 9 and first.bytes == sum(len(p) for p in pages)
    with pytest.raises(SystemExit, match="only 9 pages"):
        sample_pages(archives, tmp_path / "c", 10, max_bytes=200)


def test_a_set_repeats_the_sample_as_separate_files(tmp_path):
    sample = sample_pages(_archives(tmp_path / "corpora"), tmp_path / "s", 5, max_bytes=200)
    folder, documents = repeated_set(sample, tmp_path / "set", 12)
    files = sorted(folder.rglob("*.html"))
    assert documents == len(files) == 15  # three repeats of five reach twelve
    assert sorted({f.parent.name for f in files}) == ["r00", "r01", "r02"]
    originals = {p.name: p.read_bytes() for p in sample.folder.glob("*.html")}
    assert all(f.read_bytes() == originals[f.name] for f in files)


def test_the_streaming_set_is_the_samples_first_pages(tmp_path):
    sample = tmp_path / "sample"
    sample.mkdir()
    for name in ("c.html", "a.html", "b.html", "notes.txt"):
        (sample / name).write_text(name)
    few = first_pages(sample, tmp_path / "few", 2)
    assert sorted(p.name for p in few.iterdir()) == ["a.html", "b.html"]
    assert (few / "a.html").read_text() == "a.html"
