"""The extract stage's publication time, precision, outlet and length rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.options import NewsbeamOptions
from tests.conftest import DATA, read_table
from transforms.core.extract import Extracted
from transforms.core.records import DecodedDocument, DocMeta
from transforms.extract import ExtractFn, build_article

INGEST = datetime(2026, 1, 1, tzinfo=UTC)
# A two-sentence France 24 Arabic brief (ANT corpus, FR-internationalNews-1518-20180530): 188 characters, 33 words.
BRIEF = (
    "تمكنت الشرطة البلجيكية من تحديد هوية منفذ اعتداء لييج، وهو بلجيكي يبلغ 36 عاما ولد في قرية روش فور "
    "الصغيرة جنوب لييج. ولمنفذ هذا الاعتداء سوابق عدلية تشمل جرائم سرقة وعنف واتجار بالمخدرات."
)


def _doc(meta: DocMeta | None = None, text: str = "", kind: str = "html") -> DecodedDocument:
    return DecodedDocument("in/a.html", kind, text, "utf-8", meta or DocMeta(), "a.html", None, len(text))


def _ext(**kw) -> Extracted:
    return Extracted(title="T", text="body " * 50, **kw)


def _process(fn: ExtractFn, doc: DecodedDocument) -> list:
    fn.setup()
    return list(fn.process(doc))


def test_a_two_sentence_brief_passes_the_default_min_chars():
    default = NewsbeamOptions([]).min_chars
    assert 170 <= len(BRIEF) < 200 and len(BRIEF.split()) == 33
    out = _process(ExtractFn(min_chars=default, ingested_at=INGEST), _doc(text=BRIEF, kind="text"))
    assert len(out) == 1 and out[0].value["text"] == BRIEF


def test_an_empty_template_is_still_too_short_by_default():
    default = NewsbeamOptions([]).min_chars
    out = _process(
        ExtractFn(min_chars=default, ingested_at=INGEST),
        _doc(text="** جميع المقالات المنشورة تمثل رأي كتابها فقط.", kind="text"),
    )
    assert [o.value.reason for o in out] == ["too_short"]


def test_the_pages_minute_and_its_precision_reach_the_row():
    at = datetime(2023, 4, 28, 8, 15, tzinfo=UTC)
    row = build_article(_doc(), _ext(published=at, published_precision="minute"), INGEST)
    assert row["published_at"] == at and row["published_precision"] == "minute"
    assert row["event_time"] == at and row["event_time_source"] == "published"


def test_a_records_day_gives_way_to_the_pages_time_that_day():
    day = datetime(2023, 4, 28, tzinfo=UTC)
    page = datetime(2023, 4, 28, 8, 15, tzinfo=UTC)
    row = build_article(_doc(DocMeta(published=day)), _ext(published=page, published_precision="minute"), INGEST)
    assert row["published_at"] == page and row["published_precision"] == "minute"
    # A record's own time of day wins over the page.
    timed = datetime(2023, 4, 28, 9, 0, tzinfo=UTC)
    row = build_article(_doc(DocMeta(published=timed)), _ext(published=page, published_precision="minute"), INGEST)
    assert row["published_at"] == timed and row["published_precision"] == "minute"


def test_a_far_future_or_pre_1995_time_is_not_believed_from_any_source():
    future = INGEST + timedelta(days=400)
    row = build_article(_doc(DocMeta(published=future)), _ext(published=future, published_precision="second"), INGEST)
    assert row["published_at"] is None and row["published_precision"] is None
    assert row["event_time"] == INGEST and row["event_time_source"] == "ingested"
    old = datetime(1970, 1, 1, tzinfo=UTC)
    page = datetime(2020, 5, 1, 12, 0, tzinfo=UTC)
    row = build_article(_doc(DocMeta(published=old)), _ext(published=page, published_precision="minute"), INGEST)
    assert row["published_at"] == page


def test_outlet_is_the_pages_site_name_else_the_feeds_title_else_the_host():
    meta = DocMeta(url="https://www.example.com/a", outlet="Example feed")
    assert build_article(_doc(meta), _ext(sitename="Example News"), INGEST)["outlet"] == "Example News"
    assert build_article(_doc(meta), _ext(), INGEST)["outlet"] == "Example feed"
    assert build_article(_doc(DocMeta(url="https://www.example.com/a")), _ext(), INGEST)["outlet"] == "example.com"


def test_a_folder_of_trec_style_texts_lands_with_their_fields(run_pipeline):
    # Real ANT corpus files, as the corpus ships them: fields in tags, the article in <TEXT>.
    summary, out = run_pipeline(DATA / "ant")
    assert summary.balanced and summary.articles == 2
    rows = {r["url"]: r for r in read_table(out).to_pylist()}
    bbc = rows["http://www.bbc.co.uk/arabic/middleeast-43107909"]
    assert bbc["title"].startswith("الفيدرالية العربية لحقوق الإنسان") and bbc["outlet"] == "BBC"
    assert bbc["published_at"] == datetime(2018, 2, 18, 20, 50, 44, tzinfo=UTC)
    assert bbc["published_precision"] == "second" and bbc["extractor"] == "text-fields"
    assert not any(tag in r["text"] for r in rows.values() for tag in ("<DOC", "<TITLE", "</TEXT"))
