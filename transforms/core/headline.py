"""The headline of a page: which of the page's statements gives it, and the
site's name taken off it.

:func:`choose_headline` picks among what :func:`transforms.core.extract.read_head`
read (og:title, the article's JSON-LD ``headline``, the first ``<h1>``,
twitter:title, ``<title>``) and trafilatura's title; :func:`strip_site_name`
takes a leading or trailing segment naming the site off the chosen text.
Both work on text already read from the page: nothing here parses HTML.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transforms.core.extract import PageHead

# Separators publishers put between a headline and the site's name (and
# section, date): spaced ASCII ones, and full-width or Hangul ones that need
# no spaces ('…：東京新聞デジタル', '…ㅣ한국일보').
_SEPARATOR = re.compile(r"\s+(?:[|\-–—·»•*/]|::)\s+|\s*[｜：ㅣ]\s*|\s*\|\s*")
_LEADING_SEPARATOR = re.compile(r"\s*[:：]\s+|\s*：\s*")
# Second-level labels under a country code ('namibian.com.na') and host
# prefixes that are not the site's name.
_GENERIC_LABELS = frozenset("www m amp mobile edition news com co org net gov ac or ne go".split())
# A name that is a host name: labels joined by dots, the last of letters.
_DOMAIN = re.compile(r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def site_key(name: str) -> str:
    """A site name reduced to its letters and digits: NFKC, case folded,
    accents and a leading 'the' dropped ('The Namibian' and 'namibian'
    compare equal, so do 'Seznam Zprávy' and 'seznamzpravy')."""
    text = unicodedata.normalize("NFKC", name).casefold().strip()
    text = re.sub(r"^the\s+", "", text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c for c in text if c.isalnum())


def host_names(host: str | None) -> list[str]:
    """The names a host gives a site: 'www.namibian.com.na' -> 'namibian.com.na', 'namibian'."""
    if not host:
        return []
    host = host.lower().split(":")[0].removeprefix("www.")
    labels = host.split(".")
    names = [host]
    core = [label for label in labels[:-1] if label not in _GENERIC_LABELS]
    if core:
        names.append(core[-1])
    return names


def _site_keys(names) -> set[str]:
    keys = set()
    for name in names:
        if name:
            key = site_key(name)
            if key:
                keys.add(key)
                keys.add(site_key(unicodedata.normalize("NFKC", name).casefold().translate(_GERMAN)))
    return keys


def _is_date_only(segment: str) -> bool:
    return bool(re.fullmatch(r"[\d\s./\-:]+", segment)) and any(c.isdigit() for c in segment)


def _is_byline(segment: str) -> bool:
    return bool(re.match(r"(?i)(?:by|von|par|por|di|door)\s+\S", segment))


# A segment that names the site by its name plus a few words ('CBC News',
# 'Báo VnExpress Sức khỏe') has at most this many words in all.
_MAX_SITE_WORDS = 5
# After a trailing site segment, up to this many section segments of at most
# _MAX_SECTION_WORDS words go with it ('… | NDR.de - Nachrichten - Schleswig-Holstein').
_MAX_SECTIONS = 3
_MAX_SECTION_WORDS = 3


def jsonld_text(value) -> str | None:
    """A JSON-LD string as text: HTML entities decoded ('R&uuml;ckbau'), spaces collapsed."""
    return " ".join(html_lib.unescape(value).split()) or None if isinstance(value, str) else None


def _name_forms(names: Iterable[str | None]) -> list[str]:
    """The site's names, and each part of a name that is itself several
    names joined by a separator ('産経新聞：産経ニュース' also gives '産経新聞'
    and '産経ニュース')."""
    out = []
    for name in names:
        if not name:
            continue
        name = " ".join(name.split())
        out.append(name)
        if _DOMAIN.fullmatch(name):
            # A site named by its domain ('Factorio.com') is also its label ('Factorio').
            out += host_names(name)[1:]
        parts = [p.strip() for p in _SEPARATOR.split(name)]
        if len(parts) > 1:
            out += [p for p in parts if len(p) >= 2]
    return out


def _is_section(segment: str) -> bool:
    words = segment.split()
    return 0 < len(words) <= _MAX_SECTION_WORDS and not any(c in segment for c in '?!.,;"“”«»')


def strip_site_name(title: str | None, site_names, hosts=()) -> str | None:
    """The headline without a leading or trailing segment naming the site.

    ``site_names``: the names the page gives itself (og:site_name, JSON-LD
    publisher, the outlet); a name made of several names joined by a
    separator counts as each of them too.  ``hosts``: the page's host names.
    A segment names the site when, compared by letters and digits only, it
    is one of those names or hosts; or when it has at most five words and
    begins or ends with the host's own label of four letters or more
    ('… - Mirror Online' on mirror.co.uk).  A trailing segment of at most
    five words also names the site when its first or last whole words are
    one of the names ('… | CBC News' for 'CBC', '… - Báo VnExpress Sức
    khỏe' for 'Báo VnExpress').  A trailing cut also takes the date, byline
    and short section segments that follow the site's name ('… | DW |
    28.04.2023', '… | The Gateway Pundit | by …', '… | NDR.de - Nachrichten
    - Schleswig-Holstein').  Text that only resembles a site name stays; so
    does a title that is nothing but the site's name."""
    if not title:
        return title
    title = " ".join(title.split())
    host_list = [name for host in hosts for name in host_names(host)]
    keys = _site_keys([*_name_forms(site_names), *host_list])
    labels = {key for key in _site_keys(host_list) if len(key) >= 4}
    if not keys:
        return title

    def is_site(segment: str) -> bool:
        seg_keys = _site_keys([segment])
        if seg_keys & keys:
            return True
        return len(segment.split()) <= _MAX_SITE_WORDS and any(
            key.startswith(label) or key.endswith(label) for key in seg_keys for label in labels
        )

    def is_named_site(segment: str) -> bool:
        return bool(_site_keys([segment]) & keys)

    def is_trailing_site(segment: str) -> bool:
        if is_site(segment):
            return True
        words = segment.split()
        if len(words) > _MAX_SITE_WORDS:
            return False
        return any(
            _site_keys([" ".join(words[:n])]) & keys or _site_keys([" ".join(words[-n:])]) & keys
            for n in range(1, len(words))
        )

    def is_chrome(segment: str) -> bool:
        return is_site(segment) or _is_date_only(segment) or _is_byline(segment) or _is_section(segment)

    # Trailing: the leftmost site segment that only chrome follows.
    parts = _SEPARATOR.split(title)
    cuts = [m.start() for m in _SEPARATOR.finditer(title)]
    for i in range(1, len(parts)):
        rest = parts[i:]
        if len(rest) - 1 <= _MAX_SECTIONS and is_trailing_site(rest[0]) and all(is_chrome(p) for p in rest[1:]):
            title = title[: cuts[i - 1]].strip()
            break
    # Leading: 'Site: …', 'Site | …'.
    for pattern in (_SEPARATOR, _LEADING_SEPARATOR):
        m = pattern.search(title)
        if m and m.start() > 0 and is_named_site(title[: m.start()]) and title[m.end() :].strip():
            title = title[m.end() :].strip()
            break
    return title or None


def choose_headline(
    head: PageHead, fallback: str | None, site_names: Iterable[str | None], hosts: Iterable[str | None]
) -> str | None:
    """The headline: og:title, else the article's JSON-LD headline, else the
    first ``<h1>``, else twitter:title, else ``<title>``, else ``fallback``
    (trafilatura's), each without a leading or trailing segment naming the
    site."""
    names = [n for n in site_names if n]
    host_list = [h for h in hosts if h]
    headline = next((jsonld_text(o.get("headline")) for o in head.articles if jsonld_text(o.get("headline"))), None)
    for candidate in (head.first("og:title"), headline, head.h1[0] if head.h1 else None,
                      head.first("twitter:title"), head.title, fallback):  # fmt: skip
        cleaned = strip_site_name(candidate, names, host_list) if candidate else None
        if cleaned:
            return cleaned
    return None
