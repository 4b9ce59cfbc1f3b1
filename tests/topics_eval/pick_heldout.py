"""Pick the real articles the taxonomy was never tuned on into
``tests/data/topics/heldout_candidates.jsonl``; run once by hand.  Labels
are added by people reading each article (``heldout_labels.json``); both
files are committed, so the tests never need ../shared.

Two groups, neither chosen by the taxonomy's own words:

* ``ant``: ANT news articles (middleEast, internationalNews) not in the
  first set, in the order of a hash of their id: a plain random sample of
  what the outlets publish, conflict or not.
* ``en``: English pages of the html corpora (Zyte's benchmark, newspaper4k,
  readability, Fundus), their publishers' own body text.  The pages that
  name war in generic words (war, troops, killed, ...: no conflict's name)
  and a hashed sample of the others.

Each later batch (``--batch N``, ``heldoutN_*``) continues both groups by
the same rules, past every article already picked: the next ANT articles in
hash order, and English pages that include Media Cloud's and
trafilatura's test pages (their body text as trafilatura extracts it,
since those corpora give no publisher's text), every war page left and a
third as many others, as in the first batch.  From the fourth batch on,
the ANT articles that a reader judged for a change or a gap sample
(``unlabelled_checks.json``, ``gap_samples.json``) are skipped too: the
taxonomy was worked on them.  No English war page is left by then.

    python -m tests.topics_eval.pick_heldout /tmp/corp [--batch N]
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import re
import sys
from pathlib import Path

from langdetect import DetectorFactory, detect
from langdetect.lang_detect_exception import LangDetectException

from tests.topics_eval.pick_articles import _read, write_candidates
from transforms.core.ids import stable_hash

DATA = Path(__file__).resolve().parents[1] / "data" / "topics"
OUT = DATA / "heldout_candidates.jsonl"
BATCHES = 4
# From this batch on, articles read while changing the taxonomy are not picked.
SKIP_READ_FROM = 4


def out(batch: int) -> Path:
    return OUT if batch == 1 else DATA / f"heldout{batch}_candidates.jsonl"


MAX_CHARS = 3000
ANT_ARTICLES = 110
EN_WAR, EN_OTHER = 60, 20
ANT_ARTICLES_2 = 130  # and in every later batch
# Generic words only: a page is picked for naming war, not for naming one of
# the taxonomy's conflicts.
_WAR = re.compile(
    r"\b(war|troops|military|killed|airstrikes?|shelling|rebels?|militants?|ceasefire|insurgents?|bombing|"
    r"refugees|armed forces|offensive)\b",
    re.I,
)
_TAGS = re.compile(r"<[^>]+>")


def _key(doc_id: str) -> str:
    return stable_hash("heldout", doc_id)


def _picked(path: Path) -> dict[str, str | None]:
    """id -> title of the articles a candidates file holds."""
    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {d["id"]: d["title"] for d in docs}


def ant(root: Path, used: dict[str, str | None], count: int = ANT_ARTICLES, same_titles: bool = True) -> list[dict]:
    """The next ``count`` articles in hash order not picked already, one per
    title (``same_titles`` False: no title of an article picked either)."""
    base = root / "text-ant-arabic-news" / "v2.1-multisource"
    paths = [p for c in ("middleEast", "internationalNews") for p in base.glob(f"*/{c}/*.txt")]
    docs, titles = [], set() if same_titles else set(used.values())
    for p in sorted(paths, key=lambda p: _key(p.stem)):
        if p.stem in used:
            continue
        d = _read(p)
        if len(d["text"]) < 300 or d["title"] in titles:
            continue
        titles.add(d["title"])
        docs.append({**d, "lang": "ar", "group": "ant"})
        if len(docs) == count:
            break
    return docs


def _english_pages(root: Path) -> list[dict]:
    pages = []
    zyte = root / "html-zyte-benchmark" / "article-extraction-benchmark"
    for pid, truth in json.loads((zyte / "ground-truth.json").read_text(encoding="utf-8")).items():
        pages.append({"id": f"zyte-{pid}", "url": truth.get("url", ""), "title": None, "text": truth["articleBody"]})
    n4k = root / "html-newspaper4k" / "newspaper4k"
    for txt in sorted(n4k.glob("*/tests/data/txt/*.txt")):
        meta = txt.parents[1] / "metadata" / f"{txt.stem}.json"
        title = json.loads(meta.read_text(encoding="utf-8")).get("title") if meta.exists() else None
        pages.append(
            {
                "id": f"n4k-{txt.parts[-5]}-{txt.stem}",
                "url": "",
                "title": title,
                "text": txt.read_text(encoding="utf-8"),
            }
        )
    rdb = root / "html-readability" / "mozilla-readability" / "test" / "test-pages"
    for case in sorted(rdb.iterdir()):
        expected, meta = case / "expected.html", case / "expected-metadata.json"
        if expected.exists() and meta.exists():
            text = html.unescape(_TAGS.sub(" ", expected.read_text(encoding="utf-8")))
            title = json.loads(meta.read_text(encoding="utf-8")).get("title")
            pages.append(
                {"id": f"readability-{case.name}", "url": "", "title": title, "text": re.sub(r"[ \t]+", " ", text)}
            )
    fundus = root / "html-fundus" / "fundus" / "tests" / "resources" / "parser" / "test_data"
    for truth in sorted(fundus.glob("*/*.json")):
        for version, page in json.loads(truth.read_text(encoding="utf-8")).items():
            body = page.get("body")
            body = ast.literal_eval(body) if isinstance(body, str) else body
            paragraphs = [p for s in (body or {}).get("sections", []) for p in s.get("paragraphs", [])]
            pages.append(
                {
                    "id": f"fundus-{truth.parent.name}-{truth.stem}-{version}",
                    "url": "",
                    "title": page.get("title"),
                    "text": "\n".join(paragraphs),
                }
            )
    return pages


def _extracted_pages(root: Path) -> list[dict]:
    """Media Cloud's and trafilatura's test pages, as trafilatura extracts them."""
    import trafilatura  # only this batch needs it

    files = [
        (f"mediacloud-{p.name.removeprefix('cached-')}", p)
        for p in sorted(root.glob("html-mediacloud/*/mcmetadata/test/fixtures/cached-*"))
    ]
    tests = root / "html-trafilatura" / "trafilatura" / "tests"
    for entry in json.loads((tests / "evaldata.json").read_text(encoding="utf-8")).values():
        found = [d / entry["file"] for d in (tests / "cache", tests / "eval") if (d / entry["file"]).exists()]
        files += [(f"trafilatura-{entry['file']}", found[0])] if found else []
    pages = []
    for page_id, path in files:
        doc = trafilatura.bare_extraction(path.read_bytes().decode("utf-8", "replace"), with_metadata=True)
        if doc is not None and doc.text:
            pages.append({"id": page_id, "url": doc.url or "", "title": doc.title, "text": doc.text})
    return pages


def english(pages: list[dict], used: dict[str, str | None], n_war: int = EN_WAR, n_other: int = EN_OTHER) -> list[dict]:
    """The first ``n_war`` pages naming war in generic words and ``n_other``
    others, in hash order (``n_war`` None: every war page, and a third as
    many others)."""
    DetectorFactory.seed = 0
    war, other = [], []
    for page in sorted(pages, key=lambda p: _key(p["id"])):
        if page["id"] in used:
            continue
        text = re.sub(r"\n\s*\n+", "\n", page["text"]).strip()[:MAX_CHARS]
        try:
            if len(text) < 300 or detect(text) != "en":
                continue
        except LangDetectException:  # no letters at all
            continue
        doc = {**page, "text": text, "lang": "en", "outlet": "", "category": ""}
        (war if _WAR.search(text) else other).append(doc)
    n_war = len(war) if n_war is None else n_war
    n_other = len(war[:n_war]) // 3 if n_other is None else n_other
    return [{**d, "group": "en:war"} for d in war[:n_war]] + [{**d, "group": "en:other"} for d in other[:n_other]]


def read_while_tuning(root: Path) -> dict[str, str | None]:
    """id -> title of the unlabelled articles a reader judged for a change
    or a gap sample (their copies under the same title are skipped too)."""
    ids: set[str] = set()
    for name in ("unlabelled_checks.json", "gap_samples.json"):
        for sample in json.loads((DATA / name).read_text(encoding="utf-8")).values():
            ids |= set(sample["judged"])
    base = root / "text-ant-arabic-news" / "v2.1-multisource"
    return {p.stem: _read(p)["title"] for p in base.glob("*/*/*.txt") if p.stem in ids}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Pick a batch of held-out articles.")
    parser.add_argument("corpora", type=Path, help="the unpacked ../shared/corpora")
    parser.add_argument("--batch", type=int, choices=range(1, BATCHES + 1), default=1)
    args = parser.parse_args(argv)
    root = args.corpora
    tuned = _picked(DATA / "ant_candidates.jsonl")
    if args.batch == 1:
        return write_candidates(OUT, ant(root, tuned) + english(_english_pages(root), tuned))
    used = tuned
    for earlier in range(1, args.batch):
        used |= _picked(out(earlier))
    if args.batch >= SKIP_READ_FROM:
        used |= {k: v for k, v in read_while_tuning(root).items() if k not in used}
    pages = _english_pages(root) + _extracted_pages(root)
    return write_candidates(
        out(args.batch), ant(root, used, ANT_ARTICLES_2, same_titles=False) + english(pages, used, None, None)
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
