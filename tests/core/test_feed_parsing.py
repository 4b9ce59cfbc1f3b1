"""parse_feed on hostile and mislabelled feeds: entity declarations are
refused wherever they are and in any encoding, feeds are decoded by the
same rules as pages before feedparser sees them, every entry is kept
(links that cannot be fetched included) and a repeated one is counted."""

from __future__ import annotations

import codecs
import html

import pytest

from tests.conftest import DATA
from transforms.core.feeds import (
    ROBOTS_RETRY_SECONDS,
    ROBOTS_TTL_SECONDS,
    FeedError,
    RobotsRules,
    parse_feed,
    robots_ttl,
)

ARABIC = (DATA / "encoding" / "ar-windows-1256.txt").read_bytes().decode("cp1256")
LATIN = (DATA / "encoding" / "fr-de-windows-1252.txt").read_bytes().decode("cp1252")
BOMB_DTD = '<!DOCTYPE rss [<!ENTITY a "lolololol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'


def _rss(title: str, items: list[tuple[str | None, str, str]], *, prolog: str = "", decl: str | None = "utf-8") -> str:
    """RSS 2.0 text with (guid, link, title) items."""
    head = f'<?xml version="1.0" encoding="{decl}"?>' if decl else ""
    parts = [head, prolog, f'<rss version="2.0"><channel><title>{html.escape(title)}</title>']
    for guid, link, item_title in items:
        guid_tag = f'<guid isPermaLink="false">{html.escape(guid)}</guid>' if guid else ""
        parts.append(f"<item><title>{html.escape(item_title)}</title><link>{html.escape(link)}</link>{guid_tag}</item>")
    parts.append("</channel></rss>")
    return "".join(parts)


PLAIN = _rss("Feed", [("g1", "https://n.example/a", "A story")])


def test_a_dtd_after_a_long_comment_is_refused():
    """The old check looked at the first 64 KiB only."""
    feed = _rss("&b;", [], prolog="<!--" + "x" * 70_000 + "-->" + BOMB_DTD)
    with pytest.raises(FeedError) as err:
        parse_feed(feed.encode(), "http://x/feed")
    assert err.value.reason == "xml_entities"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_dtd_in_utf16_or_utf32_is_refused(codec):
    """The old byte regex never matched "<!ENTITY" spelt with NUL bytes."""
    feed = _rss("&b;", [("g", "https://n.example/a", "&b;")], prolog=BOMB_DTD, decl=codec.upper()[:6])
    with pytest.raises(FeedError) as err:
        parse_feed(feed.encode(codec), "http://x/feed")
    assert err.value.reason == "xml_entities"


def test_a_dtd_in_a_feed_that_is_not_well_formed_is_refused():
    feed = _rss("t", [("g", "https://n.example/a", "a")]).replace("</channel>", "<br></channel>")
    feed = feed.replace("<rss", "<!--" + "x" * 70_000 + "-->" + "<rss") + BOMB_DTD
    with pytest.raises(FeedError) as err:
        parse_feed(feed.encode(), "http://x/feed")
    assert err.value.reason == "xml_entities"


def test_normal_feeds_still_parse():
    assert [e.title for e in parse_feed(PLAIN.encode(), "http://x/feed").entries] == ["A story"]
    # A DOCTYPE without entity declarations (RSS 0.91's) is no attack.
    netscape = '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">'
    feed = parse_feed(_rss("Feed", [("g1", "https://n.example/a", "A")], prolog=netscape).encode(), "http://x/f")
    assert len(feed.entries) == 1
    # "<!ENTITY" as text inside a well-formed feed (a CDATA section) is not a declaration.
    text = PLAIN.replace("A story", "").replace(
        "<title></title>", '<title><![CDATA[About <!ENTITY x "y"> in XML]]></title>'
    )
    assert parse_feed(text.encode(), "http://x/feed").entries[0].title == "About in XML"
    # UTF-16 without a DTD parses.
    assert len(parse_feed(_rss("Feed", [("g", "https://n.example/a", "A")], decl="UTF-16").encode("utf-16"),
                          "http://x/f").entries) == 1  # fmt: skip


@pytest.mark.parametrize(
    "decl,content_type",
    [
        (None, None),  # no label at all
        ("windows-1252", None),  # a wrong XML declaration
        ("iso-8859-1", "application/rss+xml"),
        (None, "application/rss+xml; charset=ISO-8859-1"),  # a wrong HTTP charset
        ("windows-1256", None),  # the right one
    ],
)
def test_a_windows_1256_feed_gets_arabic_titles_and_outlet(decl, content_type):
    paragraphs = ARABIC.split("\n\n")
    items = [(f"g{n}", f"https://n.example/{n}", p[:120]) for n, p in enumerate(paragraphs)]
    feed = _rss(paragraphs[0][:40], items, decl=decl).encode("cp1256")
    parsed = parse_feed(feed, "http://x/feed", content_type)
    assert parsed.encoding == "cp1256"
    assert parsed.title == paragraphs[0][:40].strip()
    assert [e.title for e in parsed.entries] == [p[:120].strip() for p in paragraphs]
    assert {e.outlet for e in parsed.entries} == {paragraphs[0][:40].strip()}


@pytest.mark.parametrize(
    "decl,content_type", [("iso-8859-1", None), ("windows-1252", "text/xml; charset=windows-1252")]
)
def test_a_french_and_german_latin_feed_keeps_its_label(decl, content_type):
    paragraphs = LATIN.split("\n\n")
    items = [(f"g{n}", f"https://n.example/{n}", p[:150]) for n, p in enumerate(paragraphs)]
    parsed = parse_feed(_rss("Actualités – Nachrichten", items, decl=decl).encode("cp1252"), "http://x/f", content_type)
    assert parsed.encoding == "cp1252" and parsed.title == "Actualités – Nachrichten"
    assert [e.title for e in parsed.entries] == [p[:150].strip() for p in paragraphs]


def test_a_bom_decides_over_a_label():
    feed = codecs.BOM_UTF8 + _rss("أخبار", [("g", "https://n.example/a", "خبر")], decl="iso-8859-1").encode()
    assert parse_feed(feed, "http://x/f", "application/xml; charset=windows-1252").title == "أخبار"


def test_every_entry_is_kept_and_a_repeated_one_counted():
    items = [
        ("g1", "https://n.example/a", "first"),
        ("g1", "https://n.example/a-again", "the same guid again"),
        (None, "https://n.example/b?utm_source=rss", "b"),
        (None, "https://N.example/b", "b by another spelling of its link"),
        ("g2", "javascript:alert(1)", "script"),
        ("g3", "mailto:desk@n.example", "mail"),
        (None, "file:///etc/passwd", "file"),
        (None, "data:text/html,<p>x</p>", "data"),
        (None, "ftp://n.example/x", "ftp"),
        (None, "", "no link"),
        (None, "", "no link either"),
    ]
    parsed = parse_feed(_rss("Feed", items).encode(), "http://n.example/rss")
    assert parsed.repeated == 2
    assert [e.title for e in parsed.entries] == [
        "first", "b", "script", "mail", "file", "data", "ftp", "no link", "no link either"
    ]  # fmt: skip
    assert len({e.key for e in parsed.entries}) == len(parsed.entries)
    assert parsed.entries[2].link == "javascript:alert(1)"


def test_robots_429_is_unreachable_not_missing():
    assert not RobotsRules(429).allows("http://h/anything")
    assert RobotsRules(410).allows("http://h/anything")


def test_an_answer_that_blocks_without_rules_is_asked_again_soon():
    """Rules and 'no robots.txt' are kept a day; 429, 5xx and no answer,
    which block the origin, only until it is worth asking again."""
    assert robots_ttl(200) == robots_ttl(404) == ROBOTS_TTL_SECONDS
    assert robots_ttl(429) == robots_ttl(503) == robots_ttl(None) == ROBOTS_RETRY_SECONDS < ROBOTS_TTL_SECONDS
