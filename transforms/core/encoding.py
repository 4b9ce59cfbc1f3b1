"""Turning document bytes into text: BOM, then declared charset, then detection.

Arabic pages still come in windows-1256 and UTF-16, often with a missing or
wrong declaration, so a declared charset is only trusted if it decodes the
bytes cleanly; otherwise UTF-8 is tried strictly and charset-normalizer
decides.  A declared single-byte Latin charset (windows-1252, ISO-8859-1,
...) decodes any bytes "cleanly", so on text that is mostly high bytes it is
checked, not trusted: charset-normalizer's answer wins when it reads far
less like mojibake (a windows-1256 Arabic page labelled ISO-8859-1).
Inputs that look binary or decode only to garbage are refused with a
:class:`DecodeError` naming the reason.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

# Longest BOMs first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_XML_STARTS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{2,40})""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_.:-]{2,40})""")

# What browsers actually use for these labels (WHATWG Encoding Standard):
# pages labelled Latin-1 or ASCII are decoded as windows-1252.
_WHATWG_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
}

# How far into a document the declaration and the UTF-16 sniff look.
_SNIFF_BYTES = 4096

# Single-byte Latin charsets: every byte means some character in them, so a
# strict decoding proves nothing about bytes written in another script.
_LATIN_SINGLE_BYTE = frozenset(
    codecs.lookup(label).name
    for label in ("cp1252", "iso-8859-1", "iso-8859-15", "cp1250", "iso-8859-2", "cp1254", "iso-8859-9", "mac-roman")
)
# A declared Latin charset is checked when, outside markup, at least this
# many bytes and this share of the letters are high (>= 0x80) bytes: French
# or German text has a few percent, Arabic or Cyrillic nearly all.
_MIN_HIGH_BYTES = 16
_MIN_HIGH_SHARE = 0.1
# How much of a document that share is measured on.
_CHECK_BYTES = 256 * 1024
# How much less chaotic (charset-normalizer's mess ratio, 0 clean to 1 and
# above garbage) another charset must read to overrule the declaration.
_CHAOS_MARGIN = 0.1
# Chaos this close to the best counts as a tie.
_TIE = 0.01
# Linear on any input: a tag stops at the next "<" (no backtracking over
# hostile markup); script and style bodies are cut with find(), below.
_TAG = re.compile(rb"<[^<>]*>")
_RAW_TEXT = re.compile(rb"<(script|style)\b")
_HIGH = bytes(range(0x80, 0x100))
_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Share of U+FFFD replacement characters above which a decoding is garbage.
_MAX_REPLACEMENT_RATIO = 0.01


class DecodeError(ValueError):
    """The bytes are not readable text; ``reason`` is a stable keyword."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    # Where the encoding came from: bom, declared, utf-8, detected, sniffed.
    method: str


def _codec_name(label: bytes | str) -> str | None:
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    label = label.strip().lower()
    label = _WHATWG_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def declared_charset(data: bytes, *, html: bool = True) -> str | None:
    """The charset a document declares in an XML declaration or (HTML
    only) a ``<meta>`` tag."""
    head = data[:_SNIFF_BYTES]
    match = _XML_ENCODING.search(head) or (_META_CHARSET.search(head) if html else None)
    return _codec_name(match.group(1)) if match else None


def charset_param(content_type: str | None) -> str | None:
    """The codec named by a Content-Type's ``charset`` parameter."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip(" \t\"'"):
            return _codec_name(value.strip(" \t\"'"))
    return None


def _outside_markup(data: bytes) -> bytes:
    """The bytes of an HTML document outside tags, scripts and styles
    (roughly: enough to count letters on)."""
    lower = data.lower()
    parts = []
    pos = 0
    while (match := _RAW_TEXT.search(lower, pos)) is not None:
        parts.append(data[pos : match.start()])
        end = lower.find(b"</" + match.group(1), match.end())
        if end < 0:
            pos = len(data)
            break
        pos = end
    parts.append(data[pos:])
    return _TAG.sub(b" ", b"".join(parts))


def _mostly_high(text: bytes) -> bool:
    """Whether ``text`` (outside markup) is mostly high bytes: then a Latin
    declaration has to be checked (see ``_MIN_HIGH_SHARE``)."""
    high = len(text) - len(text.translate(None, _HIGH))
    letters = len(text) - len(text.translate(None, _ASCII_LETTERS))
    return high >= _MIN_HIGH_BYTES and high >= _MIN_HIGH_SHARE * (high + letters)


def _overruled(data: bytes, codec: str) -> Decoded | None:
    """Another decoding of ``data``, declared ``codec``, when its text
    reads mostly as high bytes and charset-normalizer finds a charset
    clearly less chaotic there; None keeps the declaration."""
    # Judged on the text outside markup: charset-normalizer samples chunks,
    # and chunks of ASCII script or tags read cleanly in every charset.
    text = _outside_markup(data[:_CHECK_BYTES])
    if not _mostly_high(text):
        return None
    best = charset_normalizer.from_bytes(text).best()
    if best is None or best.encoding is None:
        return None
    other = _codec_name(best.encoding)
    if other is None or other == codec:
        return None
    # No result means the declared decoding is over charset-normalizer's
    # chaos threshold: as good as garbage.
    declared = charset_normalizer.from_bytes(text, cp_isolation=[codec]).best()
    declared_chaos = declared.chaos if declared is not None else 1.0
    if best.chaos + _CHAOS_MARGIN > declared_chaos:
        return None
    decoded = _strict(data, other)
    return Decoded(decoded, other, "redetected") if decoded is not None else None


def _sniff_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM, recognised by decoding both ways.

    Text in one script decoded with the right byte order stays within one or
    two 256-code-point blocks (ASCII plus, say, Arabic); the wrong order
    scatters it over dozens.  NUL bytes are what make us try at all.
    """
    if len(head) < 64 or b"\x00" not in head:
        return None
    head = head[: len(head) // 2 * 2]
    best: tuple[int, str] | None = None
    for codec in ("utf-16-le", "utf-16-be"):
        text = _strict(head, codec)
        if not text:
            continue
        printable = sum(c.isprintable() or c in "\r\n\t" for c in text)
        if printable < 0.95 * len(text):
            continue
        blocks = len({ord(c) >> 8 for c in text})
        if best is None or blocks < best[0]:
            best = (blocks, codec)
    return best[1] if best and best[0] <= 4 else None


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _best_guess(data: bytes):
    """charset-normalizer's best match, except that windows-1252 wins a tie
    (it is what browsers assume of an unlabelled page, and feedparser of an
    unlabelled feed): among Latin charsets that all read cleanly,
    charset-normalizer's own pick can be Baltic for Portuguese."""
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if _codec_name(match.encoding) == "cp1252" and match.chaos <= best.chaos + _TIE:
            return match
    return best


def decode_bytes(data: bytes, *, is_html: bool, is_xml: bool = False, declared: str | None = None) -> Decoded:
    """Decode document bytes, or raise :class:`DecodeError`.

    Order: BOM; a UTF-16 sniff; a declared charset if it decodes strictly
    (``declared``, the transport's label such as an HTTP ``charset``, then
    what an HTML or XML document says of itself), checked against
    charset-normalizer when it is a Latin single-byte charset on text that
    is mostly high bytes; strict UTF-8; charset-normalizer's best guess.
    ``Decoded.encoding`` is the codec that was used.
    """
    if not data:
        raise DecodeError("empty", "0 bytes")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = _strict(data[len(bom) :], codec)
            if text is None:
                raise DecodeError("undecodable", f"byte order mark says {codec} but the bytes are not")
            return Decoded(text, codec, "bom")

    if is_xml:
        # XML 1.0 Appendix F: without a BOM, the document's first "<" tells.
        for start, codec in _XML_STARTS:
            if data.startswith(start):
                text = _strict(data, codec)
                if text is not None:
                    return Decoded(text, codec, "sniffed")

    head = data[:_SNIFF_BYTES]
    utf16 = _sniff_utf16(head)
    if utf16:
        text = _strict(data, utf16)
        if text is not None:
            return Decoded(text, utf16, "sniffed")

    if b"\x00" in head:
        raise DecodeError("binary", "NUL bytes in the first 4 KiB and no UTF-16/32 signature")

    labels = [_codec_name(declared) if declared else None]
    if is_html or is_xml:
        labels.append(declared_charset(data, html=is_html))
    for codec in dict.fromkeys(c for c in labels if c):
        text = _strict(data, codec)
        if text is None:
            continue
        if codec in _LATIN_SINGLE_BYTE:
            # Valid UTF-8 with multi-byte sequences is not Latin text by
            # accident: pages stored as UTF-8 under a stale Latin label
            # otherwise become "fÃ¼r".
            utf8 = _strict(data, "utf-8") if max(data) >= 0x80 else None
            if utf8 is not None:
                return Decoded(utf8, "utf-8", "redetected")
            other = _overruled(data, codec)
            if other is not None:
                return other
        return Decoded(text, codec, "declared")

    text = _strict(data, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8", "utf-8")

    best = _best_guess(data)
    if best is None or best.encoding is None:
        raise DecodeError("undecodable", "no character encoding fits the bytes")
    codec = _codec_name(best.encoding) or best.encoding
    text = data.decode(codec, errors="replace")
    if text.count("\ufffd") > _MAX_REPLACEMENT_RATIO * max(len(text), 1):
        raise DecodeError("undecodable", f"best guess {codec} leaves too many undecodable bytes")
    return Decoded(text, codec, "detected")
