"""The evaluation pages: the Zyte article-extraction benchmark, the Fundus
parser test pages and trafilatura's evaluation pages, each with its
publisher's (or annotator's) ground truth.

Both archives come from ``../shared/corpora`` (unpacked with its own
``unpack`` script, idempotently).  Pages are returned in a fixed order
(sorted by id), so every run scores the same pages the same way.

The Fundus pages are split by publisher into a development part and a
frozen test part (:func:`frozen_test_publishers`): headline rules are developed by
reading the development part's misses only, and the test part's figure is
reported beside it.  trafilatura's evaluation pages (mostly German blogs and
news sites, with an annotated title and day) are never read for rules at
all: their figures say how the rules carry over to sites nobody looked at.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from dataclasses import dataclass, replace
from hashlib import blake2b
from pathlib import Path

ARCHIVES = ("html-zyte-benchmark", "html-fundus", "html-trafilatura")
# The share of Fundus publishers in the frozen test part.
TEST_SHARE = 0.40


@dataclass(frozen=True)
class Page:
    corpus: str  # "zyte", "fundus" or "trafilatura"
    id: str  # unique within the corpus; also the file name stem in the pipeline's input
    html: bytes
    url: str | None
    body: str  # the ground-truth article body
    title: str | None = None  # Fundus and trafilatura
    published: str | None = None  # Fundus: the publisher's publishing_date, as written there; trafilatura: a day
    publisher: str | None = None  # Fundus only: the publisher's name (its ground-truth file's stem, 'DW')
    part: str | None = None  # Fundus only: 'dev' or 'test' (frozen_test_publishers)


def _publisher_hash(publisher: str) -> bytes:
    return blake2b(publisher.encode("utf-8"), digest_size=8).digest()


def frozen_test_publishers(publishers) -> set[str]:
    """The frozen test part: of the publishers, sorted by the blake2b hash of
    their names (8 bytes), the first :data:`TEST_SHARE` (rounded; 72 of the
    181 Fundus publishers, 103 of the 258 pages).  All of a publisher's pages
    are in one part, so a rule learnt from a site's habits on development
    pages is never scored on that site's other pages."""
    ranked = sorted(set(publishers), key=lambda name: (_publisher_hash(name), name))
    return set(ranked[: round(TEST_SHARE * len(ranked))])


def unpack(corpora: Path, dest: Path) -> Path:
    script = corpora / "unpack"
    if not script.exists():
        raise SystemExit(f"no corpora at {corpora}: pass --corpora DIR (the folder with 'unpack' and *.tar.xz)")
    subprocess.run([str(script), str(dest), *ARCHIVES], check=True, capture_output=True, text=True)
    return dest


def zyte_pages(root: Path) -> list[Page]:
    base = root / "html-zyte-benchmark" / "article-extraction-benchmark"
    truth = json.loads((base / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        html = gzip.decompress((base / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page("zyte", key, html, truth[key].get("url"), truth[key].get("articleBody") or ""))
    return pages


def zyte_trafilatura_output(root: Path) -> dict[str, str]:
    """trafilatura 2.0.0's published answers (the benchmark's output/trafilatura.json)."""
    path = root / "html-zyte-benchmark" / "article-extraction-benchmark" / "output" / "trafilatura.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data = data.get("output", data)
    return {key: (value.get("articleBody") or "") for key, value in data.items()}


def fundus_body(body: dict) -> str:
    """A Fundus body as text: the summary, then each section's headline and
    paragraphs, one per line."""
    lines = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        lines += list(section.get("headline") or [])
        lines += list(section.get("paragraphs") or [])
    return "\n".join(lines)


def fundus_pages(root: Path) -> list[Page]:
    """One page per parser version: ``<Publisher>.json`` holds the versions
    (V1, V1_1, V2, ...) in the order of the publisher's dated page files."""
    base = root / "html-fundus" / "fundus" / "tests" / "resources" / "parser" / "test_data"
    pages = []
    for truth_path in sorted(base.glob("*/*.json")):
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        meta = json.loads((truth_path.parent / "meta.info").read_text(encoding="utf-8"))
        files = sorted(truth_path.parent.glob(f"{truth_path.stem}_*.html.gz"))
        versions = sorted(truth)
        if len(files) != len(versions):
            raise ValueError(f"{truth_path}: {len(versions)} versions but {len(files)} pages")
        for version, path in zip(versions, files, strict=True):
            value = truth[version]
            pages.append(
                Page(
                    "fundus",
                    f"{truth_path.parent.name}_{path.name.removesuffix('.html.gz')}",
                    gzip.decompress(path.read_bytes()),
                    (meta.get(path.name) or {}).get("url"),
                    fundus_body(value.get("body") or {}),
                    value.get("title"),
                    value.get("publishing_date"),
                    truth_path.stem,
                )
            )
    test = frozen_test_publishers(page.publisher for page in pages)
    return [replace(page, part="test" if page.publisher in test else "dev") for page in pages]


def trafilatura_pages(root: Path) -> list[Page]:
    """trafilatura's evaluation pages with an annotated title
    (``tests/evaldata.json``: title, and for most a day, ``YYYY-MM-DD``)."""
    base = root / "html-trafilatura" / "trafilatura" / "tests"
    truth = json.loads((base / "evaldata.json").read_text(encoding="utf-8"))
    pages = []
    for url in sorted(truth):
        value = truth[url]
        path = next((p for p in (base / "cache" / value["file"], base / "eval" / value["file"]) if p.exists()), None)
        if path is None or not value.get("title"):
            continue
        page_id = "t_" + Path(value["file"]).name.removesuffix(".html")
        pages.append(
            Page("trafilatura", page_id, path.read_bytes(), url, "", value["title"], value.get("date") or None)
        )
    return pages
