"""The benchmark's input: real news pages from ../shared/corpora, repeated.

Pages come from every HTML archive (trafilatura's, Zyte's, fundus's,
readability's, newspaper4k's and Media Cloud's test pages: many sites and
languages, small pages and 3 MB monsters).  A fixed sample is chosen by a
hash of each page's path, so every run and every commit benchmarks the same
pages.  A set of N documents repeats the sample in folders ``r00``,
``r01``, ... of hard links: each repeat is a separate document (its own
path, so its own doc_id) whose text dedup finds to be a copy.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

HTML_ARCHIVES = (
    "html-trafilatura",
    "html-zyte-benchmark",
    "html-fundus",
    "html-readability",
    "html-newspaper4k",
    "html-mediacloud",
)
# Media Cloud's fixtures have no extension; these do not hold pages.
_NOT_PAGES = (".json", ".txt", ".md", ".py", ".xml", ".rss", ".atom", ".csv", ".yaml", ".yml", ".js", ".css")


@dataclass(frozen=True)
class Sample:
    folder: Path  # the sampled pages, decompressed, as .html
    pages: int
    bytes: int


def unpack(corpora: Path, dest: Path) -> list[Path]:
    """Unpack the HTML archives with the corpora's own script (idempotent)."""
    script = corpora / "unpack"
    if not script.exists():
        raise SystemExit(f"no corpora at {corpora}: pass --corpora DIR (the folder with 'unpack' and *.tar.xz)")
    out = subprocess.run([str(script), str(dest), *HTML_ARCHIVES], check=True, capture_output=True, text=True)
    return [Path(line) for line in out.stdout.split()]


def _is_page(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith((".html", ".htm", ".html.gz", ".htm.gz")):
        return True
    return path.parent.name == "fixtures" and name.startswith("cached-") and not name.endswith(_NOT_PAGES)


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def _key(root: Path, path: Path) -> str:
    return hashlib.sha1(path.relative_to(root).as_posix().encode()).hexdigest()


def sample_pages(archives: list[Path], dest: Path, count: int, max_bytes: int) -> Sample:
    """The first ``count`` pages by path hash, each at most ``max_bytes``
    (the pipeline's own cap, so both sides extract the same pages)."""
    root = archives[0].parent
    candidates = sorted((p for a in archives for p in a.rglob("*") if p.is_file() and _is_page(p)),
                        key=lambda p: _key(root, p))  # fmt: skip
    dest.mkdir(parents=True, exist_ok=True)
    chosen: list[Path] = []
    total = 0
    for path in candidates:
        if len(chosen) == count:
            break
        target = dest / f"{len(chosen):04d}-{_key(root, path)[:12]}.html"
        if not target.exists():
            data = _read(path)
            if not data.strip() or len(data) > max_bytes or b"<" not in data[:4096]:
                continue
            target.write_bytes(data)
        chosen.append(target)
        total += target.stat().st_size
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} pages found in {root}, {count} wanted")
    return Sample(dest, len(chosen), total)


def _linked(pages: list[Path], folder: Path) -> None:
    """Hard links to ``pages`` in ``folder`` (copies on another filesystem)."""
    folder.mkdir(parents=True, exist_ok=True)
    for page in pages:
        target = folder / page.name
        if not target.exists():
            try:
                os.link(page, target)
            except OSError:  # another filesystem: copy
                target.write_bytes(page.read_bytes())


def repeated_set(sample: Sample, dest: Path, documents: int) -> tuple[Path, int]:
    """A folder of at least ``documents`` documents: the sample repeated."""
    repeats = -(-documents // sample.pages)
    pages = sorted(sample.folder.glob("*.html"))
    for r in range(repeats):
        _linked(pages, dest / f"r{r:02d}")
    return dest, repeats * len(pages)


def first_pages(sample: Path, dest: Path, count: int) -> Path:
    """A folder of the sample's first ``count`` pages."""
    _linked(sorted(sample.glob("*.html"))[:count], dest)
    return dest
