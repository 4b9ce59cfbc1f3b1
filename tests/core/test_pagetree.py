"""The faster page tree and author search give trafilatura's own results."""

import re

import pytest
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import extract_author
from trafilatura.utils import load_html, repair_faulty_html
from trafilatura.xpaths import AUTHOR_XPATHS

from tests.conftest import DATA
from transforms.core.pagetree import (
    AuthorFinder,
    AuthorScan,
    TreeLoader,
    class_members,
    fingerprint,
    needed_literals,
    prefiltered,
)

# Real pages: news pages and heads of several languages, plus pages chosen
# from the corpora for the author search's edge cases (named in the tests).
PAGES = sorted(p for folder in ("pages", "heads", "trees", "fragments") for p in (DATA / folder).glob("*.html"))


def _read(path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def loader():
    return TreeLoader()


@pytest.fixture(scope="module", params=["scan", "xpath"])
def finder(request):
    # Both ways of reading the candidates: the scan, and XPath where the
    # installed trafilatura's expressions are not the scan's.
    return AuthorFinder(scan=request.param == "scan")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_the_tree_is_trafilaturas(loader, path):
    html = _read(path)
    ours, theirs = loader.load(html), load_html(html)
    assert (ours is None) == (theirs is None)
    if ours is None:
        return  # a bare fragment, which trafilatura refuses too
    assert etree.tostring(ours) == etree.tostring(theirs)
    assert all(isinstance(e, HtmlElement) for e in ours.iter() if isinstance(e.tag, str))


@pytest.mark.parametrize(
    "html",
    [
        "just a line of text",
        "",
        "<p>one</p>",
        "<?xml version='1.0' encoding='utf-8'?><html><body><p>x</p></body></html>",
    ],
)
def test_what_trafilatura_refuses_or_repairs_is_the_same(loader, html):
    ours, theirs = loader.load(html), load_html(html)
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert etree.tostring(ours) == etree.tostring(theirs)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_the_author_is_trafilaturas(loader, finder, path):
    html = _read(path)
    if path.parent.name == "fragments":
        html = f"<html><head></head><body>{html}</body></html>"  # as HtmlExtractor reads one
    assert finder.find(loader.load(html)) == extract_author(load_html(html))


@pytest.mark.parametrize(
    ("name", "author"),
    [
        # The byline sits in an element libxml2 leaves beside the root after
        # the page's end: outside trafilatura's copy, so no author.
        ("business-punk.com.fitness.html", None),
        # lxml reads the page as a fragment and returns a <div>; the author
        # expressions still search the whole document.
        ("bibliothek2null.de.mai.html", "Patrick Danowski"),
        # Candidates in a sidebar or comment section are deleted in the copy.
        ("ihrwebprofi.at.publikumsvoting.html", None),
        # A candidate holds a <time>: its text in the copy differs.
        ("mdavis.xyz.supermarket.html", "Matthew Davis"),
    ],
)
def test_the_edge_cases_of_the_copy(loader, finder, name, author):
    html = _read(DATA / "trees" / name)
    assert extract_author(load_html(html)) == author  # what trafilatura says
    assert finder.find(loader.load(html)) == author


def test_a_rel_element_takes_the_copys_way(loader, finder):
    # <rel> is compared by its text, which changes when the date inside it is
    # deleted: "m" + "e" becomes a match only in trafilatura's copy.
    html = (
        "<html><head><title>t</title></head><body><article><p>Text of the story.</p>"
        '<div><rel>m<span class="date">1 May</span>e</rel> Jane Roe</div></article></body></html>'
    )
    expected = extract_author(load_html(html))
    assert expected is not None
    assert finder.find(loader.load(html)) == expected


def test_a_candidate_inside_a_deleted_section_is_skipped(loader, finder):
    html = (
        "<html><body><article><p>Text.</p></article>"
        '<div class="comments"><span class="author">A Commenter</span></div>'
        '<p class="byline">Jane Roe</p></body></html>'
    )
    assert extract_author(load_html(html)) == "Jane Roe"
    assert finder.find(loader.load(html)) == "Jane Roe"


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        ("author-?name|AuthorName|authorName", ["author", "AuthorName", "authorName"]),
        ("[Aa]uthor|screenname|[Bb]yline", ["uthor", "screenname", "yline"]),
        ("^comments|comment-?list", ["comments", "comment"]),
        ("article-(?:share|support)", ["article-s"]),
        ("author|.*", None),  # a branch that needs no literal: no guard
        ("o'brien", None),  # a quote cannot go into an XPath literal
    ],
)
def test_needed_literals(pattern, literals):
    assert needed_literals(pattern) == literals


def test_prefiltered_guards_the_regular_expression_and_keeps_it():
    path = "//*[re:test(@class, 'author|byline') or @id='x']"
    assert prefiltered(path) == (
        "//*[((contains(@class, 'author') or contains(@class, 'byline')) and re:test(@class, 'author|byline'))"
        " or @id='x']"
    )
    assert prefiltered("//*[re:test(@class, 'a|.*')]") == "//*[re:test(@class, 'a|.*')]"


def test_a_candidate_holding_a_deleted_section_takes_the_copys_way(loader, finder):
    # In the copy the <time> is gone: the byline is short enough only there.
    stamp = "Published on Wednesday, the first of May 2024, at a quarter past eleven in the morning, " * 2
    html = (
        f'<html><body><article><p>Text.</p><p class="byline">Jane Roe <time>{stamp}</time></p></article></body></html>'
    )
    assert extract_author(load_html(html)) == "Jane Roe"
    assert finder.find(loader.load(html)) == "Jane Roe"


def test_the_root_of_a_fragment_is_not_deleted(loader, finder):
    # lxml returns the <div> itself; trafilatura's ".//" search below it
    # cannot delete it, though its class is a sidebar's.
    html = '<div class="sidebar" data-kind="html"><p>Text of it.</p><p class="byline">Jane Roe</p></div>'
    assert load_html(html).tag == "div"
    assert extract_author(load_html(html)) == "Jane Roe"
    assert finder.find(loader.load(html)) == "Jane Roe"


# trafilatura's own expressions, unguarded, as extract_author evaluates them.
_NS = {"re": "http://exslt.org/regular-expressions"}
_EXPRESSIONS = [etree.XPath(x.path, namespaces=_NS) for x in AUTHOR_XPATHS]


def _same(scanned, selected) -> bool:
    return len(scanned) == len(selected) and all(a is b for a, b in zip(scanned, selected, strict=True))


def test_the_scan_is_written_for_the_installed_expressions():
    assert fingerprint(AUTHOR_XPATHS) == AuthorScan.WRITTEN_FOR
    assert AuthorFinder()._scan is not None


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_the_scan_selects_what_the_expressions_select(loader, path):
    tree = loader.load(_read(path))
    if tree is None or tree.find(".//rel") is not None:
        return
    for scanned, expression in zip(AuthorScan()(tree), _EXPRESSIONS, strict=True):
        assert _same(scanned, expression(tree))


# Every tag and attribute the expressions name, with values that match one
# test, differ from it by a character or a case, or only contain it.
_TAGS = ("a", "address", "div", "link", "p", "span", "strong", "h3", "h4", "li", "author", "section")
_ATTRIBUTES = ("class", "id", "itemprop", "rel", "data-testid", "data-component")
_VALUES = (
    "author", "Author", "xauthorx", "author name", "author-name", "authorname", "AuthorName", "authorName",
    "byline", "Byline", "main-byline", "BBL", "bbl", "byl", "username", "channel-name", "zuozhe", "bianji",
    "xiaobian", "submitted-by", "posted-by", "journalist-name", "screenname", "writer", "AuthorCard",
    "AuthorURL", "authorcard", "me", "",
)  # fmt: skip


@pytest.mark.parametrize("tag", _TAGS)
def test_the_scan_selects_what_the_expressions_select_on_every_attribute(loader, tag):
    cells = "".join(
        f'<{tag} {attribute}="{value}">{attribute}={value}</{tag}>' for attribute in _ATTRIBUTES for value in _VALUES
    )
    tree = loader.load(f"<html><body><article><{tag}>bare</{tag}>{cells}</article></body></html>")
    selections = [expression(tree) for expression in _EXPRESSIONS]
    assert selections[2]  # the third expression selects cells of any tag
    for scanned, selected in zip(AuthorScan()(tree), selections, strict=True):
        assert _same(scanned, selected)


def test_the_scan_reads_what_libxml2_leaves_beside_the_root(loader):
    tree = loader.load(_read(DATA / "trees" / "business-punk.com.fitness.html"))
    scanned = AuthorScan()(tree)
    # The page's byline is outside the root element lxml returns.
    assert any(e is not tree and tree not in list(e.iterancestors()) for found in scanned for e in found)
    for found, expression in zip(scanned, _EXPRESSIONS, strict=True):
        assert _same(found, expression(tree))


_REPAIRS = [
    "<html><body><p>a\x00b\x0bc\x1fd\ufffee\uffff</p></body></html>",  # characters libxml2 refuses
    "<html><body><p>tab\tline\nreturn\r kept</p></body></html>",
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"/>\n<html><p>x</p></html>',
    '<html lang="en"/>\n<body><p>self-closing root\x07</p></body>',
]


@pytest.mark.parametrize("html", _REPAIRS)
def test_the_repair_is_trafilaturas(loader, html):
    beginning = html[:50].lower()
    assert loader.repair(html, beginning) == repair_faulty_html(html, beginning)
    assert etree.tostring(loader.load(html)) == etree.tostring(load_html(html))


@pytest.mark.parametrize(
    ("pattern", "members"),
    [
        (r"[\x00-\x02\x0b\uffff]", ("\x00", "\x01", "\x02", "\x0b", "\uffff")),
        (r"[^a]", None),  # a negation is no list
        (r"[\d]", None),
        (r"ab", None),
        (r"[\x00-\uffff]", None),  # too many to ask for one by one
    ],
)
def test_class_members(pattern, members):
    assert class_members(re.compile(pattern)) == members


def test_a_class_under_flags_is_no_list():
    assert class_members(re.compile("[a-c]", re.IGNORECASE)) is None  # 'A' to 'C' match too
