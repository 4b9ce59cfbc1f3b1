"""Records that share a doc_id: none vanishes, none is merged by its URL alone.

The doc_id comes from the normalized URL, and a URL is seen twice all the
time: a corpus stores an article twice, a feed re-lists it, Pub/Sub
redelivers, a page is updated in place, two pages declare one canonical
URL.  A later record whose text is the same story is a ``same_url`` copy
in ``duplicates``; one whose text is another story is an article of its
own under a new deterministic doc_id.  The real case is
``tests/data/identity/ant_repeated.jsonl``: 21 ANT records where four
URLs repeat one text, three carry a revised text (a retitled BBC page, a
France24 football story updated with the new coach), and one URL carries
a replaced text.
"""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
import duckdb
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from tests.conftest import DATA, read_table
from tests.inputs import SEED_000, SEED_001, SEED_002
from transforms.core.dedup import SAME_URL_RULE, Variant, record_id, run_identity
from transforms.core.ids import normalize_url
from transforms.dedup import Deduplicate, SingleStories

ANT = DATA / "identity" / "ant_repeated.jsonl"


def _ant_records() -> list[dict]:
    return [json.loads(line) for line in ANT.read_text(encoding="utf-8").splitlines()]


def _rows(out: Path) -> tuple[list[dict], list[dict]]:
    return read_table(out).to_pylist(), read_table(out, "duplicates").to_pylist()


def _article(doc_id: str, text: str, uri: str, ts: int = 0) -> tuple[int, str, dict]:
    article = {"doc_id": doc_id, "text": text, "source_uri": uri}
    return ts, record_id(article), article


# --- the decision itself ------------------------------------------------------


def test_a_repeat_and_a_revision_are_copies_another_text_is_a_variant():
    revised = SEED_000 + "\nوأضاف المتحدث أن المفاوضات ستستأنف الأسبوع المقبل في العاصمة."
    items = [
        _article("u", SEED_000, "a.jsonl#L1", 0),
        _article("u", SEED_000, "a.jsonl#L2", 1),
        _article("u", revised, "a.jsonl#L3", 2),
        _article("u", SEED_001, "a.jsonl#L4", 3),
        _article("u", SEED_001, "a.jsonl#L5", 4),
    ]
    known, decided = run_identity([], items, complete=True)
    ids = [identity for _, _, identity in decided]
    assert ids[0].doc_id == "u" and ids[0].copy_of is None
    assert ids[1].copy_of == "u" and ids[1].similarity == 1.0 and ids[1].doc_id not in ("u",)
    assert ids[2].copy_of == "u" and ids[2].similarity >= SAME_URL_RULE.containment
    variant = ids[3]
    assert variant.copy_of is None and variant.doc_id != "u"
    # A repeat of the variant is a copy of the variant, not of the first text.
    assert ids[4].copy_of == variant.doc_id
    assert len({i.doc_id for i in ids}) == 5
    assert [v.doc_id for v in known] == ["u", variant.doc_id]
    # Deterministic: the same records decide the same, in another process too.
    assert [i for _, _, i in run_identity([], items, complete=True)[1]] == ids


def test_each_text_is_judged_by_its_own_words_and_headline():
    """A text is normalized and hashed once per call however often it comes;
    a text that only begins like another is not taken for it."""
    lead = SEED_000[:200]
    items = [
        _article("u", SEED_000, "f#1", 0),
        _article("u", lead + SEED_001, "f#2", 1),
        _article("u", lead + SEED_001, "f#3", 2),
    ]
    decided = [identity for _, _, identity in run_identity([], items, complete=True)[1]]
    assert decided[1].copy_of is None and decided[1].doc_id != "u"  # another story, same first lines
    assert decided[2].copy_of == decided[1].doc_id and decided[2].similarity == 1.0


def test_known_variants_carry_over_between_calls():
    """The streaming form decides in several calls, with the stories seen
    under the doc_id kept in state: the result is the batch one."""
    items = [_article("u", SEED_000, "x#1", 0), _article("u", SEED_002, "x#2", 5), _article("u", SEED_000, "x#3", 9)]
    _, batch = run_identity([], items, complete=True)
    known: list[Variant] = []
    streamed = []
    for item in items:
        known, decided = run_identity(known, [item])
        streamed += decided
    assert [i for _, _, i in streamed] == [i for _, _, i in batch]


# --- the whole pipeline on real repeated URLs ---------------------------------


@pytest.fixture(scope="module")
def ant_out(tmp_path_factory) -> Path:
    from pipeline.run import run

    out = tmp_path_factory.mktemp("ant") / "out"
    summary = run(["--input", str(ANT), "--output", str(out), "--ingested_at", "2026-01-01T00:00:00Z"])
    assert summary.balanced and summary.documents_in == 21
    assert (summary.articles, summary.duplicates, summary.rejects) == (14, 7, 0)
    assert summary.dedup["same_url_copies"] == 7 and summary.dedup["url_variants"] == 1
    return out


def test_every_repeated_url_record_is_in_one_table(ant_out):
    articles, duplicates = _rows(ant_out)
    records = _ant_records()
    assert sorted(r["source_uri"] for r in articles + duplicates) == sorted(
        f"{ANT}#L{i}" for i in range(1, len(records) + 1)
    )
    doc_ids = [r["doc_id"] for r in articles + duplicates]
    assert len(set(doc_ids)) == len(doc_ids), "a doc_id names one row"
    by_id = {r["doc_id"]: r for r in articles}
    for copy in duplicates:
        assert copy["duplicate_kind"] == "same_url" and copy["duplicate_of"] != copy["doc_id"]
        first = by_id[copy["duplicate_of"]]
        assert normalize_url(first["url"]) == normalize_url(copy["url"])
        assert copy["story_id"] == first["story_id"]
        assert first["event_time"] <= copy["event_time"]


def test_a_replaced_text_under_a_known_url_is_its_own_article(ant_out):
    articles, _ = _rows(ant_out)
    by_url: dict[str, list[dict]] = {}
    for row in articles:
        by_url.setdefault(row["url"], []).append(row)
    (pair,) = [rows for rows in by_url.values() if len(rows) == 2]
    assert pair[0]["doc_id"] != pair[1]["doc_id"] and pair[0]["story_id"] != pair[1]["story_id"]
    assert pair[0]["text"][:200] != pair[1]["text"][:200]


def test_duckdb_reads_the_duplicate_kinds(ant_out):
    kinds = duckdb.sql(
        f"SELECT duplicate_kind, count(*) FROM read_parquet('{ant_out}/duplicates/**/*.parquet', "
        "hive_partitioning = true) GROUP BY 1"
    ).fetchall()
    assert kinds == [("same_url", 7)]


def test_two_workers_write_the_same_rows(ant_out, tmp_path):
    from pipeline.run import run

    out = tmp_path / "two"
    summary = run(["--input", str(ANT), "--output", str(out), "--ingested_at", "2026-01-01T00:00:00Z",
                   "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"])  # fmt: skip
    assert summary.balanced and summary.documents_in == 21
    for mine, theirs in zip(_rows(out), _rows(ant_out), strict=True):
        assert sorted(mine, key=lambda r: r["doc_id"]) == sorted(theirs, key=lambda r: r["doc_id"])


# --- URLs that are one after normalization, canonical URLs --------------------


def _page(title: str, body: str, canonical: str) -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in body.splitlines() if line.strip())
    return (
        f'<html lang="ar"><head><title>{title}</title><link rel="canonical" href="{canonical}"></head>'
        f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    )


def test_tracking_parameters_fragments_and_canonicals(tmp_path, run_pipeline):
    folder = tmp_path / "in"
    folder.mkdir()
    lines = [
        {"url": "https://a.example/story", "text": SEED_000, "published": "2020-10-01T08:00:00Z"},
        {"url": "https://b.example/wire?id=9", "text": SEED_000, "published": "2020-10-01T09:00:00Z"},
        # The same URL as the line above once tracking and fragment are gone.
        {"url": "https://b.example/wire?id=9&utm_source=tw#top", "text": SEED_000, "published": "2020-10-01T10:00:00Z"},
    ]
    (folder / "records.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    # Two different articles that declare one canonical URL (a site template's mistake).
    (folder / "one.html").write_text(_page("قصة أولى", SEED_001, "https://c.example/"), encoding="utf-8")
    (folder / "two.html").write_text(_page("قصة ثانية", SEED_002, "https://c.example/"), encoding="utf-8")
    summary, out = run_pipeline(folder, "--manifest", "none")
    assert summary.balanced and summary.documents_in == 5
    articles, duplicates = _rows(out)
    assert len(articles) == 3 and len(duplicates) == 2
    first = next(r for r in articles if r["url"] == "https://a.example/story")
    kinds = {r["url"]: r for r in duplicates}
    exact, again = kinds["https://b.example/wire?id=9"], kinds["https://b.example/wire?id=9&utm_source=tw#top"]
    assert exact["duplicate_kind"] == "exact" and exact["duplicate_of"] == first["doc_id"]
    # A rerun of an exact copy: its story is the story the exact copy joined.
    assert again["duplicate_kind"] == "same_url" and again["duplicate_of"] == exact["doc_id"]
    assert again["story_id"] == exact["story_id"] == first["doc_id"]
    canonical = [r for r in articles if r["canonical_url"] == "https://c.example/"]
    assert len(canonical) == 2 and canonical[0]["doc_id"] != canonical[1]["doc_id"]


def test_no_dedup_still_tells_records_of_one_url_apart(tmp_path, run_pipeline):
    folder = tmp_path / "in"
    folder.mkdir()
    lines = [{"url": "https://a.example/s", "text": t} for t in (SEED_000, SEED_000, SEED_001)]
    (folder / "r.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    summary, out = run_pipeline(folder, "--no_dedup")
    assert summary.balanced and (summary.articles, summary.duplicates) == (2, 1)
    articles, (copy,) = _rows(out)
    assert copy["duplicate_kind"] == "same_url" and copy["story_id"] == copy["duplicate_of"]
    assert copy["duplicate_of"] in {a["doc_id"] for a in articles} and copy["doc_id"] != copy["duplicate_of"]


# --- the streaming form -------------------------------------------------------


def _stream_articles() -> list[tuple[int, dict]]:
    """(event second, article): one URL read three times, out of order, and
    another URL's exact copy."""
    base = {"source_uri": "s", "url": "https://a.example/s"}
    return [
        (20, {**base, "doc_id": "u1", "text": SEED_000, "source_uri": "s#2"}),
        (10, {**base, "doc_id": "u1", "text": SEED_000, "source_uri": "s#1"}),
        (30, {**base, "doc_id": "u1", "text": SEED_001, "source_uri": "s#3"}),
        (40, {**base, "doc_id": "u2", "text": SEED_001, "source_uri": "s#4", "url": "https://b.example/x"}),
    ]


def _summary(row: dict) -> tuple:
    return (row["source_uri"], row["story_id"], row.get("duplicate_kind"))


@pytest.mark.parametrize("dedup", [True, False], ids=["dedup", "no_dedup"])
def test_streaming_form_decides_as_the_batch_form(dedup):
    def run(streaming: bool) -> tuple[list, list]:
        options = PipelineOptions()
        options.view_as(StandardOptions).streaming = streaming
        transform = Deduplicate(streaming=streaming) if dedup else SingleStories(streaming=streaming)
        found: dict[str, list] = {}
        with TestPipeline(options=options) as p:
            if streaming:
                stream = TestStream().advance_watermark_to(0)
                for second, article in _stream_articles():
                    stream = stream.add_elements([TimestampedValue(article, second)])
                # The watermark advances as a source's would, a step at a time: the
                # local runner does not hold it back for what a timer will emit.
                for second in (15, 25, 35, 45, 86_400):
                    stream = stream.advance_watermark_to(second)
                stream = stream.advance_watermark_to_infinity()
                source = p | stream
            else:
                source = p | beam.Create(_stream_articles()) | beam.Map(lambda e: TimestampedValue(e[1], e[0]))
            out = source | transform
            found["articles"] = out["articles"] | "A" >> beam.Map(_summary)
            found["duplicates"] = out["duplicates"] | "D" >> beam.Map(_summary)
            expected = _expected(dedup)
            assert_that(found["articles"], equal_to(expected[0]), label="articles")
            assert_that(found["duplicates"], equal_to(expected[1]), label="duplicates")

    run(streaming=False)
    run(streaming=True)


def _expected(dedup: bool) -> tuple[list, list]:
    variant_story = _variant_doc_id()
    articles = [("s#1", "u1", None), ("s#3", variant_story, None)]
    duplicates = [("s#2", "u1", "same_url")]
    if dedup:
        duplicates.append(("s#4", variant_story, "exact"))
    else:
        articles.append(("s#4", "u2", None))
    return articles, duplicates


def _variant_doc_id() -> str:
    items = [(ts * 1_000_000, record_id(a), a) for ts, a in sorted(_stream_articles(), key=lambda e: e[0])]
    items = [i for i in items if i[2]["doc_id"] == "u1"]
    _, decided = run_identity([], items, complete=True)
    return decided[2][2].doc_id
