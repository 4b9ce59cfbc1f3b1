"""trafilatura on real pages from the corpora (copied into tests/data/pages)."""

import copy
import json

import pytest
from trafilatura import bare_extraction

from tests.conftest import DATA
from transforms.core.extract import ExtractionError, HtmlExtractor, declared_language, extract_text

PAGES = DATA / "pages"
EXPECTED = json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def extractor():
    return HtmlExtractor()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_body_has_the_article_and_not_the_navigation(extractor, name):
    expected = EXPECTED[name]
    html = (PAGES / name).read_text(encoding="utf-8")
    extracted = extractor.extract(html, url=expected["url"])
    for snippet in expected["with"]:
        assert snippet in extracted.text
    for boilerplate in expected["without"]:
        assert boilerplate not in extracted.text
    assert " ".join(extracted.title.split()) == " ".join(expected["title"].split())
    assert "\n" in extracted.text  # paragraphs survive


def test_metadata_of_a_news_page(extractor):
    html = (PAGES / "politico.com.retirement.html").read_text(encoding="utf-8")
    extracted = extractor.extract(html)
    assert extracted.author == "Ally Mutnick"
    assert extracted.published.date().isoformat() == "2019-12-30"
    assert extracted.sitename == "POLITICO"
    assert extracted.canonical_url.startswith("https://www.politico.com/news/2019/12/30/")
    assert extracted.declared_lang == "en"


def test_one_extractor_does_not_carry_a_url_from_page_to_page(extractor):
    html = "<html><body><article>" + "<p>Plain paragraph of text for the test.</p>" * 30 + "</article></body></html>"
    first = extractor.extract(html, url="https://a.example/1")
    second = extractor.extract(html)
    assert first.canonical_url == "https://a.example/1"
    assert second.canonical_url is None


def test_page_without_article_is_no_content(extractor):
    with pytest.raises(ExtractionError) as err:
        extractor.extract("<html><head><script>var a = 1;</script></head><body><div></div></body></html>")
    assert err.value.reason == "no_content"


def test_declared_language_sources():
    assert declared_language('<html dir="rtl" lang="ar-EG"><head>') == "ar-EG"
    assert declared_language('<head><meta property="og:locale" content="fr_FR"></head>') == "fr_FR"
    assert declared_language("<html><head></head>") is None


def test_text_record_with_its_own_title_keeps_its_first_line_as_body():
    extracted = extract_text("First paragraph of the story, long enough.\nSecond one.", title="Headline")
    assert extracted.title == "Headline"
    assert extracted.text.startswith("First paragraph")


@pytest.mark.parametrize(
    "path", sorted([*(PAGES / name for name in EXPECTED), *(DATA / "heads").glob("*.html")]), ids=lambda p: p.name
)
def test_author_and_canonical_url_are_trafilaturas(extractor, path):
    """The extractor reads only the metadata it keeps, with trafilatura's own
    functions: the author and canonical URL are what trafilatura's whole
    metadata pass gives."""
    html = path.read_text(encoding="utf-8")
    url = "https://news.example/article"
    options = copy.copy(extractor._options)
    options.url, options.with_metadata = url, True
    whole = bare_extraction(html, options=options)
    extracted = extractor.extract(html, url=url)
    assert (extracted.author, extracted.canonical_url) == (whole.author or None, whole.url or None)


def test_a_saved_fragment_is_read_as_a_body(extractor):
    """An article saved as its own <div> (mozilla/readability's cleaned
    bbc-1 page, no <html> or <body>) is the article, not 'no content'."""
    html = (DATA / "fragments" / "readability-bbc-1-expected.html").read_text(encoding="utf-8")
    extracted = extractor.extract(html, url="https://www.bbc.co.uk/news/world-us-canada-33646798")
    assert extracted.text.startswith("President Barack Obama has admitted that his failure to pass")
    assert "greatest frustration of his presidency" in extracted.text and "\n" in extracted.text


@pytest.mark.parametrize("name", ["BB-middleEast-1-20180218.txt", "SK-middleEast-1-20180223.txt"])
def test_a_trec_style_text_gives_its_fields_not_its_tags(name):
    # Real ANT corpus files: <DOC><DOCNO>..<URL>..<SRC>..<TITLE>..<TIME>..<TEXT>..</DOC>.
    raw = (DATA / "ant" / name).read_text(encoding="utf-8")
    extracted = extract_text(raw)
    field = {tag: raw.split(f"<{tag}>")[1].split(f"</{tag}>")[0].strip() for tag in ("URL", "SRC", "TITLE", "TEXT")}
    assert extracted.title == field["TITLE"] and extracted.extractor == "text-fields"
    assert extracted.canonical_url == field["URL"] and extracted.sitename == field["SRC"]
    assert extracted.published is not None and extracted.published_precision == "second"
    assert "<" not in extracted.text and extracted.text.split("\n")[0] in field["TEXT"]
    # The same words without the fields are plain text, read line by line.
    plain = extract_text(raw.replace("<DOC>", "DOC"))
    assert plain.extractor == "text-cleaner" and plain.published is None
    # A collection file of several documents is refused whole, not read for its first.
    with pytest.raises(ExtractionError, match="several_documents"):
        extract_text(raw + "\n" + raw)


def test_trec_fields_are_entity_decoded_and_an_unclosed_text_is_plain_text():
    fields = "<DOC>\n<URL>http://a.example/x?a=1&amp;b=2</URL>\n<SRC>A &amp; B</SRC>\n<DATE_TIME>2018-02-18T20:50Z</DATE_TIME>\n"
    extracted = extract_text(fields + "<TEXT>\nThe body of the article, long enough.\n</TEXT>\n</DOC>\n")
    assert extracted.canonical_url == "http://a.example/x?a=1&b=2" and extracted.sitename == "A & B"
    assert extracted.published_precision == "minute"
    assert extract_text(fields + "<TEXT>\nA body that never closes.\n").extractor == "text-cleaner"
