"""Publication time, headline and site name from what a page says about
itself: real page heads from the Fundus test pages (tests/data/heads, the
<head> and first <h1> of each page, scripts other than JSON-LD removed) and
small synthetic pages for the rules."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import DATA
from tests.extract_eval.score import normalize_headline
from transforms.core.extract import (
    HtmlExtractor,
    choose_headline,
    choose_published,
    published_candidates,
    read_head,
    site_name,
)
from transforms.core.headline import strip_site_name
from transforms.core.timeparse import parse_stamp

HEADS = DATA / "heads"
EXPECTED = json.loads((HEADS / "expected.json").read_text(encoding="utf-8"))
BODY = "<article>" + "<p>Ein ganz normaler Absatz eines Artikels mit genug Text für den Test.</p>" * 20 + "</article>"


def _head(name):
    return read_head((HEADS / f"{name}.html").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def extractor():
    return HtmlExtractor()


# --- publication time -----------------------------------------------------------


@pytest.mark.parametrize(
    "name, utc, precision",
    [
        # JSON-LD and article:published_time at +09:00 and +02:00: the UTC minute, not local midnight.
        ("jp_TokyoShimbun_2025_01_13", datetime(2025, 1, 13, 11, 1, 37, tzinfo=UTC), "second"),
        ("kr_HankookIlbo_2025_05_15", datetime(2025, 5, 15, 11, 0, 52, tzinfo=UTC), "second"),
        ("at_SalzburgerNachrichten_2025_06_05", datetime(2025, 6, 5, 10, 36, 40, tzinfo=UTC), "second"),
        ("na_TheNamibian_2023_11_16", datetime(2023, 11, 15, 17, 0, tzinfo=UTC), "minute"),
    ],
)
def test_a_real_page_gives_its_publication_time_in_utc(name, utc, precision):
    stamp = choose_published(published_candidates(_head(name)))
    assert stamp.at == utc and stamp.precision == precision
    assert stamp.at == datetime.fromisoformat(EXPECTED[name]["published"]).astimezone(UTC)


def test_article_published_time_in_another_zone_gives_the_utc_minute(extractor):
    html = (
        '<html><head><meta property="article:published_time" content="2023-04-28T23:30:00-05:00"></head>'
        f"<body>{BODY}</body></html>"
    )
    ext = extractor.extract(html, url="https://example.com/a")
    assert ext.published == datetime(2023, 4, 29, 4, 30, tzinfo=UTC)
    assert ext.published_precision == "minute"


def test_a_page_whose_only_date_is_its_copyright_year_has_no_publication_time(extractor):
    html = f"<html><head><title>Story</title></head><body>{BODY}<footer>© 2020 Example Media</footer></body></html>"
    ext = extractor.extract(html, url="https://example.com/story")
    assert ext.published is None and ext.published_precision is None


def test_a_date_in_the_far_future_is_not_believed(extractor):
    html = (
        '<html><head><meta property="article:published_time" content="2099-01-01T10:00:00Z"></head>'
        f"<body>{BODY}</body></html>"
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ext = extractor.extract(html, url="https://example.com/a", not_after=now + timedelta(days=1))
    assert ext.published is None
    # A believable statement further down the list still counts.
    later = '<meta name="pubdate" content="2025-12-31">'
    ext = extractor.extract(html.replace("</head>", later + "</head>"), not_after=now + timedelta(days=1))
    assert ext.published == datetime(2025, 12, 31, tzinfo=UTC) and ext.published_precision == "day"


def test_before_1995_is_not_believed():
    assert choose_published(["1970-01-01T00:00:00Z"]) is None
    assert choose_published(["1994-12-31"], fallback_day="1970-01-01") is None


def test_a_day_gives_way_to_a_zoned_time_of_the_same_day():
    stamp = choose_published(["2024-04-26", "2024-04-26T09:15:00+02:00"])
    assert stamp.at == datetime(2024, 4, 26, 7, 15, tzinfo=UTC) and stamp.precision == "minute"
    # Another day's time does not.
    assert choose_published(["2024-04-26", "2024-04-20T09:15:00+02:00"]).precision == "day"


@pytest.mark.parametrize("text", ["2020", "© 2020", "2023-04", "2023-W17", "April 2023", "2023-02-30", ""])
def test_text_that_names_no_day_is_no_date(text):
    assert parse_stamp(text) is None


def test_modified_times_are_not_publication_times():
    head = read_head('<meta property="article:modified_time" content="2024-01-02T10:00:00Z">')
    assert published_candidates(head) == []


# --- headline and site name -------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "de_DW_2023_04_28",  # '… | DW | 28.04.2023'
        "jp_TokyoShimbun_2025_01_13",  # '…：東京新聞デジタル'
        "na_TheNamibian_2023_11_16",  # '… - The Namibian'
        "cz_SeznamZpravy_2025_04_08",  # '… - Seznam Zprávy'
        "kr_HankookIlbo_2025_05_15",  # '… | 한국일보'
        "at_SalzburgerNachrichten_2025_06_05",
    ],
)
def test_a_real_headline_loses_the_site_name(name):
    head, expected = _head(name), EXPECTED[name]
    names = [site_name(head), *head.publishers]
    got = choose_headline(head, None, names, [expected["url"].split("/")[2]])
    # The publisher's headline, as eval-extract compares them (punctuation aside).
    assert normalize_headline(got) == normalize_headline(expected["title"])
    assert not any(name and name in got for name in names)


def test_a_leading_site_name_goes_and_the_section_after_it_stays():
    head = _head("lu_Tageblatt_2026_01_13")
    assert head.title.startswith("Tageblatt.lu | ")
    assert strip_site_name(head.title, [site_name(head)], ["www.tageblatt.lu"]) == (
        "Vierschanzentournee | Beleidigen und beschuldigen: Skisprung-Zoff ums Material"
    )


@pytest.mark.parametrize(
    "title, names, hosts",
    [
        # Segments that are not the site's name stay, whatever they look like.
        ("Budget 2024 - 2025", ["Example News"], ["example.com"]),
        ("Harris vs Trump - the debate", ["The Debate Times"], ["debatetimes.com"]),
        ("Die Welt der Zahlen - Analyse", ["WELT"], ["www.welt.de"]),
        ("Israel und Gaza: News und Entwicklungen", ["NZZ"], ["www.nzz.ch"]),
        ("Welt", ["WELT"], ["welt.de"]),  # nothing but the site's name: kept
    ],
)
def test_text_that_is_not_the_site_name_stays(title, names, hosts):
    assert strip_site_name(title, names, hosts) == title


def test_site_name_is_the_pages_own():
    assert site_name(_head("na_TheNamibian_2023_11_16")) == "The Namibian"
    assert site_name(read_head("<head><title>x</title></head>")) is None
