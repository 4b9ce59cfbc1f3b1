"""Page trees and the author search as trafilatura builds them, at less cost.

Both give trafilatura's results exactly (tests compare them on real pages);
they only avoid work that cannot change those results:

* :func:`load_tree` is trafilatura's ``load_html`` with one difference in
  the parser: lxml.html's parser asks a Python function for the class of
  every element it hands out, which costs about 7 % of an extraction.  The
  parser here gives every element lxml.html's ``HtmlElement`` class from C.
  Copies of the tree keep the parser, so all of trafilatura's passes over
  them gain too.  (lxml.html's form-element classes are not used by
  trafilatura.)  Before parsing, trafilatura deletes the characters libxml2
  refuses with a regular expression over the whole page; the loader first
  asks whether any of them is there at all, which is four times cheaper.
* :class:`AuthorFinder` is trafilatura's ``extract_author``.  trafilatura
  tests every element's ``class`` and ``id`` with an EXSLT regular expression,
  a call into Python per element, over a copy of the whole tree pruned of
  comments and dates.  Here each ``re:test`` first asks XPath's own
  ``contains()`` for a literal every branch of its pattern needs, so the
  regular expression only runs where it could match, and a page on which
  no element could be an author skips the copy and the pruning.  For the
  author expressions of the pinned trafilatura, :class:`AuthorScan` goes
  further: it tests every element against all of them in one pass in
  Python, a third of what evaluating them in XPath costs.
"""

from __future__ import annotations

import hashlib
import re
from copy import deepcopy

from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction, fromstring
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import extract_metainfo
from trafilatura.utils import DOCTYPE_TAG, FAULTY_HTML, INVALID_XML_CHARS, is_dubious_html, trim
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

try:  # Python 3.11 names it re._parser; earlier ones sre_parse
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]


def _parser() -> etree.HTMLParser:
    # trafilatura.utils.HTML_PARSER's options, with the element classes set in C.
    parser = etree.HTMLParser(
        collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True
    )
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
        )
    )
    return parser


def class_members(pattern: re.Pattern, most: int = 64) -> tuple[str, ...] | None:
    """The characters of ``pattern`` when it is one character class of
    literals and ranges (``[\\x00-\\x08\\ufffe]``) with at most ``most``
    members, flags aside; else None."""
    parsed = list(sre_parse.parse(pattern.pattern))
    if pattern.flags & ~re.UNICODE or len(parsed) != 1 or parsed[0][0] is not sre_parse.IN:
        return None
    members: list[str] = []
    for op, arg in parsed[0][1]:
        if op is sre_parse.LITERAL:
            members.append(chr(arg))
        elif op is sre_parse.RANGE:
            members.extend(map(chr, range(arg[0], min(arg[1], arg[0] + most) + 1)))
        else:
            return None  # a negation or a category (\\d): not a list
    return tuple(members) if len(members) <= most else None


class TreeLoader:
    """``load(html)``: trafilatura's ``load_html`` for a decoded page, step
    for step (repair, parse, the bytes retry, the rejection of a page that
    is not HTML), with the parser above.  One per worker: an lxml parser is
    not shared between threads."""

    def __init__(self) -> None:
        self._parser = _parser()
        # The characters trafilatura deletes before parsing.  Asking for each
        # with `in` costs a quarter of running its regular expression over
        # the page, and nearly no page has one; the expression still does
        # the deleting.  A pattern that is not a short list is simply run.
        self._invalid = class_members(INVALID_XML_CHARS)

    def repair(self, html: str, beginning: str) -> str:
        """trafilatura's ``repair_faulty_html``, with its expressions."""
        if self._invalid is None or any(ch in html for ch in self._invalid):
            html = INVALID_XML_CHARS.sub("", html)
        # libxml2/LXML issue: https://bugs.launchpad.net/lxml/+bug/1955915
        if "doctype" in beginning:
            firstline, _, rest = html.partition("\n")
            html = DOCTYPE_TAG.sub("", firstline, count=1) + "\n" + rest
        # self-closing <html/> in the first lines
        for line in html[:4096].splitlines()[:4]:
            if "<html" in line and line.endswith("/>"):
                html = FAULTY_HTML.sub(r"\1>", html, count=1)
                break
        return html

    def _bytes(self, html: str) -> HtmlElement | None:
        try:
            return fromstring(html.encode("utf8", "surrogatepass"), parser=self._parser)
        except (ValueError, etree.LxmlError):
            return None  # as trafilatura's fromstring_bytes: no tree

    def load(self, html: str) -> HtmlElement | None:
        beginning = html[:50].lower()
        dubious = is_dubious_html(beginning)
        html = self.repair(html, beginning)
        tree, retried = None, False
        try:
            tree = fromstring(html, parser=self._parser)
        except ValueError:  # "Unicode strings with encoding declaration are not supported."
            tree, retried = self._bytes(html), True
        except etree.LxmlError:
            pass  # an empty document: trafilatura retries as bytes, below
        if (tree is None or len(tree) < 1) and not retried:
            tree = self._bytes(html)
        if tree is not None and dubious and len(tree) < 2:
            return None
        return tree


_RE_TEST = re.compile(r"re:test\((@[\w-]+),\s*'([^']*)'\)")


def _needed_literal(branch) -> str:
    """The longest run of literal characters in one branch of a parsed
    pattern: any string the branch matches contains it."""
    best = run = ""
    for op, arg in branch:
        if op is sre_parse.LITERAL:
            run += chr(arg)
            best = max(best, run, key=len)
        else:
            run = ""
    return best


def needed_literals(pattern: str) -> list[str] | None:
    """One literal per top-level branch of ``pattern``, such that
    ``re.search(pattern, s)`` implies one of them is in ``s``; None where a
    branch needs no literal."""
    parsed = list(sre_parse.parse(pattern))
    branches = parsed[0][1][1] if len(parsed) == 1 and parsed[0][0] is sre_parse.BRANCH else [parsed]
    literals = [_needed_literal(b) for b in branches]
    if not all(literals) or any("'" in lit for lit in literals):
        return None
    return list(dict.fromkeys(literals))


def prefiltered(path: str) -> str:
    """``path`` with each two-argument ``re:test(@a, 'p')`` guarded by
    ``contains(@a, literal)`` for the literals ``p`` needs (XPath evaluates
    ``and`` left to right and stops at false)."""

    def guard(m: re.Match) -> str:
        attr, pattern = m.group(1), m.group(2)
        literals = needed_literals(pattern)
        if literals is None:
            return m.group(0)
        contains = " or ".join(f"contains({attr}, '{lit}')" for lit in literals)
        return f"(({contains}) and {m.group(0)})"

    return _RE_TEST.sub(guard, path)


_NS = {"re": "http://exslt.org/regular-expressions"}


def _compiled(path: str) -> etree.XPath:
    return etree.XPath(prefiltered(path), namespaces=_NS)


def _branches(path: str) -> list[tuple[str, bool]]:
    """The steps of a union of one-step descendant paths (``.//x[p] | //y``),
    each without its slashes and with whether it can match the element the
    path starts from (``//`` can, ``.//`` cannot); ValueError for any
    other shape."""
    branches, depth, quote, current = [], 0, "", ""
    for ch in path:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "|" and depth == 0:
            branches.append(current)
            current = ""
            continue
        current += ch
    branches.append(current)
    steps = []
    for branch in (b.strip() for b in branches):
        step = re.sub(r"^\.?//", "", branch)
        if step == branch or "/" in re.sub(r"\[.*\]", "", step, flags=re.S):
            raise ValueError(f"not a one-step descendant path: {branch!r}")
        steps.append((step, not branch.startswith(".")))
    return steps


def fingerprint(paths) -> str:
    """A short digest of XPath expressions' texts."""
    return hashlib.sha256("\x00".join(x.path for x in paths).encode()).hexdigest()[:16]


class AuthorScan:
    """``scan(tree)``: for each of trafilatura's ``AUTHOR_XPATHS``, the
    elements it selects, in document order, from one pass over the document.

    XPath's ``contains()`` and ``re:test`` cost libxml2 a string object per
    element and test, so the three expressions' evaluation costs about 4 ms
    a page; the same tests read in Python cost a third of that.  Written for
    trafilatura's expressions as fingerprinted in :data:`WRITTEN_FOR`
    (:class:`AuthorFinder` uses it only when they are the installed ones),
    and for a document without a ``<rel>`` element: the first expression's
    ``rel='me'`` tests a child element's text, which this scan leaves out."""

    WRITTEN_FOR = "e2b00f1a6ccd057a"
    # Expression 1: //*[self::a or self::address ...][@rel='author' or ... or re:test(@class, ...)] | //author
    _TAGS_1 = frozenset(("a", "address", "div", "link", "p", "span", "strong"))
    _TEST_IDS_1 = ("AuthorCard", "AuthorURL")
    _CLASS_1 = re.compile("author-?name|AuthorName|authorName")
    # Expression 2: //*[self::a or self::div or self::h3 ...][@class='byline' or ... or re:test(@class, ...)]
    _TAGS_2 = frozenset(("a", "div", "h3", "h4", "p", "span"))
    _CLASSES_2 = frozenset(("byline", "username", "byl", "BBL"))
    _ID_2 = re.compile("author|zuozhe|bianji|xiaobian")
    _CLASS_2 = re.compile("author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name")
    # Expression 3: //*[contains(@data-component, 'Byline') or ... or re:test(@class, ...)]
    _ID_3 = re.compile("[Aa]uthor")
    _CLASS_3 = re.compile("[Aa]uthor|screenname|writer|[Bb]yline")

    def __call__(self, tree: HtmlElement) -> tuple[list[HtmlElement], list[HtmlElement], list[HtmlElement]]:
        first: list[HtmlElement] = []
        second: list[HtmlElement] = []
        third: list[HtmlElement] = []
        for elem in _document_elements(tree):
            get, tag = elem.get, elem.tag
            cls, ident, prop = get("class") or "", get("id") or "", get("itemprop") or ""
            if tag == "author" or (
                tag in self._TAGS_1
                and (
                    get("rel") == "author"
                    or ident == "author"
                    or cls == "author"
                    or prop == "author name"
                    or get("data-testid") in self._TEST_IDS_1
                    or self._CLASS_1.search(cls)
                )
            ):
                first.append(elem)
            if tag in self._TAGS_2 and (
                cls in self._CLASSES_2 or "author" in prop or self._ID_2.search(ident) or self._CLASS_2.search(cls)
            ):
                second.append(elem)
            if (
                "Byline" in (get("data-component") or "")
                or "author" in prop
                or self._ID_3.search(ident)
                or self._CLASS_3.search(cls)
            ):
                third.append(elem)
        return first, second, third


def _document_elements(tree: HtmlElement):
    """Every element of ``tree``'s document in document order, as ``//*``
    selects them: the root's, and those of what libxml2 leaves beside it."""
    root = tree.getroottree().getroot()
    for top in (*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()):
        yield from top.iter(etree.Element)


class AuthorFinder:
    """``find(tree)``: trafilatura's ``extract_author(tree)``.

    trafilatura deletes the comment, date and figure sections from a copy of
    ``tree`` and takes the first author candidate of that copy whose text
    fits.  Deleting only removes elements, and every author expression tests
    an element's own name and attributes, so the copy's candidates are the
    candidates inside ``tree`` outside those sections, and a candidate with
    no such section inside it has the same text in both.  So the candidates
    are read from the tree itself, each checked for a deleted section
    around it; the rare candidate with one inside it, or a page with a
    ``<rel>`` element (the one expression that reads an element's text),
    goes the copy's way.  (The author expressions search the whole
    document, the copy holds ``tree`` only: the element lxml returns for a
    page it reads as a fragment, and not what libxml2 leaves beside the root
    after a broken page's end.)"""

    def __init__(self, *, scan: bool = True) -> None:
        """``scan``: read the candidates with :class:`AuthorScan` where it
        was written for the installed expressions (else with XPath)."""
        self._author = [_compiled(x.path) for x in AUTHOR_XPATHS]
        self._scan = AuthorScan() if scan and fingerprint(AUTHOR_XPATHS) == AuthorScan.WRITTEN_FOR else None
        self._around = [
            (_compiled(f"ancestor-or-self::{step}"), from_root)
            for x in AUTHOR_DISCARD_XPATHS
            for step, from_root in _branches(x.path)
        ]
        self._inside = _compiled(" | ".join(f".//{s}" for x in AUTHOR_DISCARD_XPATHS for s, _ in _branches(x.path)))

    def _by_copy(self, tree: HtmlElement) -> str | None:
        subtree = prune_unwanted_nodes(deepcopy(tree), AUTHOR_DISCARD_XPATHS)
        author = extract_metainfo(subtree, AUTHOR_XPATHS, len_limit=120)
        return normalize_authors(None, author) if author else None

    def _in_copy(self, elem: HtmlElement, tree: HtmlElement) -> bool:
        """Whether ``elem`` is in trafilatura's pruned copy of ``tree``."""
        path = [elem, *elem.iterancestors()]
        ends = [n for n, node in enumerate(path) if node is tree]
        if not ends:
            return False  # outside tree
        inside = path[: ends[0] + 1]
        for around, from_root in self._around:
            for hit in around(elem):
                if any(hit is node for node in (inside if from_root else inside[:-1])):
                    return False
        return True

    def find(self, tree: HtmlElement) -> str | None:
        if tree.find(".//rel") is not None:
            return self._by_copy(tree)
        candidates = self._scan(tree) if self._scan else (expression(tree) for expression in self._author)
        for selected in candidates:
            for elem in selected:
                if not self._in_copy(elem, tree):
                    continue
                if self._inside(elem):
                    return self._by_copy(tree)
                content = trim(" ".join(elem.itertext()))
                if content and 2 < len(content) < 120:
                    return normalize_authors(None, content)
        return None
