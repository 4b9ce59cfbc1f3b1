"""The headline's rules (transforms/core/headline.py, and reading meta tags in
transforms/core/extract.py), on real page heads from the development part
of the Fundus pages (tests/data/heads: <head> and first <h1>, scripts other
than JSON-LD removed) and on small synthetic titles for what must stay."""

import json

import pytest

from tests.conftest import DATA
from tests.extract_eval.score import normalize_headline
from transforms.core.extract import _attrs, choose_headline, read_head, site_name
from transforms.core.headline import strip_site_name

HEADS = DATA / "heads"
EXPECTED = json.loads((HEADS / "expected.json").read_text(encoding="utf-8"))


def _head(name):
    return read_head((HEADS / f"{name}.html").read_text(encoding="utf-8"))


def _host(name):
    return EXPECTED[name]["url"].split("/")[2]


# --- a meta value is never cut -------------------------------------------------------


def test_a_quote_the_page_did_not_escape_does_not_cut_the_og_title():
    # content="Hamburg Marathon 2024: Überlegener Sieger und "royaler Besuch""
    head = _head("de_HamburgerAbendblatt_2024_04_28")
    full = 'Hamburg Marathon 2024: Überlegener Sieger und "royaler Besuch"'
    assert head.h1[0] == full
    assert head.first("og:title") == full and head.first("twitter:title") == full
    assert choose_headline(head, None, [site_name(head)], [_host("de_HamburgerAbendblatt_2024_04_28")]) == full


@pytest.mark.parametrize(
    "inside, expected",
    [
        (' content="A "B" C" name="x"', {"content": 'A "B" C', "name": "x"}),  # another attribute follows
        (" content='it's' name='q'", {"content": "it's", "name": "q"}),
        (' content="x"/', {"content": "x"}),
        (' content="x" name="y"', {"content": "x", "name": "y"}),
        # Attributes run together: the text up to the tag's last quote is no value of 'content'.
        (' content="x"itemprop="y"', {"content": "x", "itemprop": "y"}),
        (" name=description content=plain", {"name": "description", "content": "plain"}),
    ],
)
def test_attribute_values(inside, expected):
    assert _attrs(inside) == expected


# --- site names ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ca_CBCNews_2024_08_08",  # '… | CBC News', the site calls itself 'CBC' (host cbc.ca)
        "vn_VnExpress_2025_10_22",  # '… - Báo VnExpress Sức khỏe', the site is 'Báo VnExpress'
    ],
)
def test_a_trailing_segment_that_begins_with_the_site_name_goes(name):
    head = _head(name)
    got = strip_site_name(head.title, [site_name(head), *head.publishers], [_host(name)])
    assert normalize_headline(got) == normalize_headline(EXPECTED[name]["title"])


def test_sections_after_the_site_name_go_with_it():
    name = "de_NDR_2023_04_28"  # '… | NDR.de - Nachrichten - Schleswig-Holstein'
    head = _head(name)
    got = strip_site_name(head.title, [site_name(head), *head.publishers], [_host(name)])
    assert got == "Einschlag in Elmshorn: Es war ein Meteorit"


def test_each_name_in_a_compound_site_name_names_the_site():
    name = "jp_SankeiShimbun_2025_01_21"  # '… - 産経ニュース', the site is '産経新聞：産経ニュース'
    head = _head(name)
    assert site_name(head) == "産経新聞：産経ニュース"
    got = strip_site_name(head.title, [site_name(head)], [_host(name)])
    assert normalize_headline(got) == normalize_headline(EXPECTED[name]["title"])


@pytest.mark.parametrize(
    "title, names, hosts",
    [
        # A headline that begins with the site's name keeps it.
        ("Metro strike: Tube closed all day", ["Metro"], ["metro.co.uk"]),
        ("Metro News | Metro strike: Tube closed all day", ["Metro"], []),
        # A trailing segment of more than five words is headline, whatever its first word.
        ("Strikes - CBC says the talks will resume on Monday", ["CBC"], ["www.cbc.ca"]),
        # What follows a site name is a section only when it is short and no sentence.
        ("Budget 2024 - Example News - Who pays?", ["Example News"], ["example.com"]),
        ("Budget 2024 - Example News - What the new budget means for you", ["Example News"], []),
        # Short segments after a segment that is not the site stay.
        ("Harris vs Trump - the debate - live", ["The Debate Times"], ["debatetimes.com"]),
    ],
)
def test_text_that_is_not_the_site_name_stays(title, names, hosts):
    assert strip_site_name(title, names, hosts) == title


def test_a_compound_name_is_split_only_at_separators():
    # 'Daily Mail' is no separator-joined name: 'Daily' alone is not the site.
    assert strip_site_name("Markets rally - Daily", ["Daily Mail"], []) == "Markets rally - Daily"
    assert strip_site_name("Markets rally - Daily Mail", ["Daily Mail"], []) == "Markets rally"


def test_a_site_named_by_its_domain_is_also_named_by_its_label():
    # newspaper4k's factorio.com page, saved without its URL: og:site_name is 'Factorio.com'.
    assert strip_site_name("Friday Facts #282 - 0.17 in sight | Factorio", ["Factorio.com"], []) == (
        "Friday Facts #282 - 0.17 in sight"
    )
    assert strip_site_name("Screenshot : «Vape Wave» | Libération", ["Libération.fr"], []) == "Screenshot : «Vape Wave»"
    # A name with a dot that is no host name ('v1.2', 'St. Louis Today') gives no label.
    assert strip_site_name("Release notes - v1", ["v1.2"], []) == "Release notes - v1"
    assert strip_site_name("Cardinals win - St", ["St. Louis Today"], []) == "Cardinals win - St"


def test_tags_inside_a_script_are_not_the_pages():
    # A gallery script writes '<title>' into a string: that is code, not the page's title.
    html = (
        '<html><head><script>document.write("<title>" + title + " - " + basename(imgurl) + "</title>'
        '<meta property=\\"og:title\\" content=\\"x\\">")</script><title>Málaga im Winter</title></head>'
        "<body><h1>Málaga im Winter</h1></body></html>"
    )
    head = read_head(html)
    assert head.title == "Málaga im Winter" and head.meta == {} and head.h1 == ["Málaga im Winter"]
    with_ld = '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "J"}</script><title>T</title>'
    assert read_head(with_ld).articles == [{"@type": "NewsArticle", "headline": "J"}]
