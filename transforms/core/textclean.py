"""Cleaning saved plain-text pages of the chrome that copy-paste brings along.

A page saved as text keeps the site's section label, share buttons, 'latest
news' and 'related articles' boxes, 'read also' links, photo alt texts and
captions, and the 'back to top' button.  The cleaner removes those lines and
keeps every article paragraph; the first remaining line is the title,
unless it reads as a sentence (over 40 words, or ending in a full stop).

Rules, in order of confidence:
1. exact chrome lines (Arabic and English lexicon below);
2. prefixed lines: 'اقرأ أيضا: ...', 'Read more: ...', 'المصدر : ...';
3. photo captions: a short unpunctuated line ending in a picture credit,
   '(الأناضول)' or '- جيتي', and the alt text line right before one;
4. short unpunctuated lines repeated verbatim (alt texts, widget titles),
   but for the first line, the headline, which is kept once;
5. a short first line before a longer one (the section label);
6. short unpunctuated lines trailing after the last paragraph (footers);
7. the outlet's own name, alone or glued in front of the first paragraph.

A credit line among the last lines ('فرانس24/ أ ف ب', '(الجزيرة + وكالات)',
'المصدر : رويترز') is chrome to the text but says whose copy it is: it is
returned apart (:attr:`CleanText.credits`) for agency attribution.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CHROME_LINES_AR = """
مشاركة الصفحة | مشاركة | شارك | شارك المقال | شارك الخبر | انشر | طباعة | تغريد
آخر الأخبار | اخر الاخبار | أحدث الأخبار | أخبار عاجلة | عاجل | الأكثر قراءة | الأكثر مشاهدة
اعلان جانبي | إعلان جانبي | إعلان | اعلان | فيديو | فيديوهات | صور | اختيار المحرر | اختيارات المحرر
مقالات ذات صلة | مواضيع ذات صلة | أخبار ذات صلة | اخبار ذات صلة | مقالات مشابهة | قد يهمك أيضا | قد يعجبك أيضا
اقرأ أيضا | اقرأ أيضاً | إقرأ أيضا | اقرأ ايضا | اقرأ المزيد | المزيد | تابعونا | تابعنا على
زر الذهاب إلى الأعلى | العودة إلى الأعلى | الرجوع إلى الأعلى | إلى الأعلى | للأعلى
الرئيسية | التعليقات | أضف تعليقك | اترك تعليقا | إضافة تعليق جديد | النشرة البريدية | اشترك
"""

_CHROME_LINES_EN = """
share | share this | share this article | share on facebook | share on twitter | tweet | email | print
latest news | latest | breaking news | most read | most popular | trending | editor's picks | editors' picks
related | related articles | related stories | related news | more stories | you may also like | recommended
read more | read also | see also | advertisement | sponsored | video | videos | photos
back to top | top | home | comments | leave a comment | subscribe | newsletter | follow us
"""

_PREFIXES = (
    "اقرأ أيضا",
    "اقرأ أيضاً",
    "إقرأ أيضا",
    "اقرأ ايضا",
    "اقرأ المزيد",
    "شاهد أيضا",
    "شاهد أيضاً",
    "المصدر",
    "read also",
    "read more",
    "see also",
    "related",
    "source",
    "watch",
)

# Picture agencies and credits as they appear after a caption.
_CREDITS = """
الأناضول | الاناضول | رويترز | أ ف ب | ا ف ب | أ.ف.ب | فرانس برس | الفرنسية | أسوشيتد برس | أ ب | إي بي أيه
جيتي | غيتي | غيتي إيميجز | جيتي إيميجز | الجزيرة | وكالات | مواقع التواصل | مواقع التواصل الاجتماعي | أرشيفية
تويتر | فيسبوك | الأوروبية | شينخوا | سبوتنيك | تاس | إرنا | واس | سانا | الأوروبية
afp | reuters | ap | getty | getty images | epa | anadolu | anadolu agency | shutterstock | xinhua | file photo
"""

# 'الجزيرة + وكالات', 'AFP/Getty', 'رويترز، أ ف ب'.
_CREDIT_SPLIT = re.compile(r"\s*[+/,،&]\s*|\s+و(?=\S)")

_TERMINAL_PUNCT = ".!?؟:;؛…\"'»”)"


def _lexicon(block: str) -> frozenset[str]:
    return frozenset(_key(item) for line in block.strip().splitlines() for item in line.split("|") if item.strip())


def _key(line: str) -> str:
    """Comparison key for a line: NFKC, lower case, no punctuation or
    tatweel, single spaces."""
    line = unicodedata.normalize("NFKC", line).lower().replace("\u0640", "")
    line = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in line)
    return " ".join(line.split())


_CHROME = _lexicon(_CHROME_LINES_AR) | _lexicon(_CHROME_LINES_EN)
_CREDIT_KEYS = _lexicon(_CREDITS)
_PREFIX_RE = re.compile(r"^\s*(?:" + "|".join(re.escape(p) for p in _PREFIXES) + r")\s*[:：]", re.IGNORECASE)
# A credit line's parts: the caption credits' separators, and a spaced dash ('سكاي نيوز عربية - رويترز').
_CREDIT_LINE_SPLIT = re.compile(_CREDIT_SPLIT.pattern + r"|\s+[-–—]\s+")
_SOURCE_PREFIX = re.compile(r"^\s*(?:المصدر|source)\s*[:：]", re.IGNORECASE)
# '... (الأناضول)' or '... - جيتي' / '...- جيتي' at the end of a line.
_CREDIT_TAIL = re.compile(r"(?:\(([^()]{1,40})\)|[-–—]\s*([^-–—()]{1,30}))\s*$")


# A line that ends as a sentence does: one full stop (not '..' or '…', which
# Arabic headlines use as a dash), or an ideographic one.
_ENDS_SENTENCE = re.compile(r"(?<![.…])[.。]\s*$")


# The last lines of a saved page in which a removed credit line counts as the article's.
CREDIT_LINES_AT_END = 3


@dataclass(frozen=True, slots=True)
class CleanText:
    title: str | None
    paragraphs: list[str]
    credits: tuple[str, ...] = ()  # removed credit lines of the article's copy, in order

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def _words(line: str) -> int:
    return len(line.split())


def _is_unpunctuated(line: str) -> bool:
    return not line.rstrip().endswith(tuple(_TERMINAL_PUNCT))


def _is_short_label(line: str, max_words: int = 6) -> bool:
    return _words(line) <= max_words and _is_unpunctuated(line)


def is_caption(line: str) -> bool:
    """A photo caption: a short line ending in a picture credit, with no
    sentence punctuation before the credit."""
    if _words(line) > 25:
        return False
    m = _CREDIT_TAIL.search(line)
    if not m:
        return False
    parts = [_key(p) for p in _CREDIT_SPLIT.split(m.group(1) or m.group(2) or "")]
    if not any(parts) or not all(p in _CREDIT_KEYS for p in parts if p):
        return False
    before = line[: m.start()].rstrip()
    return not before or not before.endswith(tuple(".!?؟"))


def is_credit_line(line: str) -> bool:
    """A line that credits the copy and says nothing else: agencies and at
    most one outlet name, with an optional 'المصدر :' / 'Source:' and
    brackets ('فرانس24/ أ ف ب', '(الجزيرة + وكالات)', '(AFP)')."""
    text = _SOURCE_PREFIX.sub("", line).strip(" :-–—").strip("()[] ")
    if not text or _words(text) > 8 or not _is_unpunctuated(text):
        return False
    parts = [_key(p) for p in _CREDIT_LINE_SPLIT.split(text) if _key(p)]
    credited = [p for p in parts if p in _CREDIT_KEYS]
    others = [p for p in parts if p not in _CREDIT_KEYS]
    return bool(credited) and len(others) <= 1 and all(_words(p) <= 3 for p in others)


def _is_chrome(line: str) -> bool:
    key = _key(line)
    if not key:
        return True
    if key in _CHROME or _PREFIX_RE.match(line):
        return True
    # A line that is nothing but a bracketed credit: '(الجزيرة + وكالات)'.
    return bool(re.fullmatch(r"\(([^()]{1,60})\)", line.strip())) and is_caption(line)


def clean_text(raw: str, outlet: str | None = None) -> CleanText:
    """Split saved page text into title and article paragraphs."""
    lines = [" ".join(line.split()) for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    outlet_key = _key(outlet) if outlet else None

    # Rule 7: the outlet's name glued in front of a line ('رابطة علماء أهل السنةأعلنت ...').
    if outlet:
        stripped = []
        for line in lines:
            if outlet_key and _key(line) == outlet_key:
                continue
            if line.startswith(outlet) and len(line) > len(outlet):
                line = line[len(outlet) :].lstrip(" -–—:|")
            stripped.append(line)
        lines = stripped

    # Rule 4: short label lines seen more than once are widget titles / alt texts.
    counts: dict[str, int] = {}
    for line in lines:
        counts[_key(line)] = counts.get(_key(line), 0) + 1

    kept: list[str] = []
    credits: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _is_chrome(line) or is_caption(line):
            if i >= len(lines) - CREDIT_LINES_AT_END and is_credit_line(line):
                credits.append(line)
            continue
        if _is_short_label(line, 12) and is_caption(nxt):
            continue  # alt text right before its caption
        if _is_short_label(line, 12) and counts[_key(line)] > 1:
            # The headline repeated above the article: kept once, as the title.
            if not (_key(line) == _key(lines[0]) and not kept):
                continue
        kept.append(line)

    # Rule 5: a section label ('سياسة دولية') before the headline.
    if len(kept) >= 2 and _is_short_label(kept[0], 3) and _words(kept[1]) > _words(kept[0]) + 1:
        kept = kept[1:]

    # Rule 6: footer lines after the last paragraph.
    footer: list[str] = []
    while len(kept) > 1 and _is_short_label(kept[-1], 4):
        footer.insert(0, kept.pop())
    credits += [line for line in footer if is_credit_line(line)]
    credits = sorted(dict.fromkeys(credits), key=lines.index)  # in the page's order

    if not kept:
        return CleanText(None, [], tuple(credits))
    title, body = kept[0], kept[1:]
    if _words(title) > 40 or _ENDS_SENTENCE.search(title) or not body:
        # No headline line: the whole text is body.  Headlines do not end in
        # a full stop (none of 756 ANT headlines, none of 258 Fundus ones); a
        # first line that does is the article's first sentence or a caption.
        return CleanText(None, kept, tuple(credits))
    return CleanText(title, body, tuple(credits))
