"""Decoding bytes: windows-1256 and UTF-16 Arabic, declarations right and wrong."""

import codecs

import pytest

from tests.conftest import DATA, SEEDS
from transforms.core.encoding import DecodeError, charset_param, declared_charset, decode_bytes

SEED = (SEEDS / "000_bbe93062319f189f.txt").read_text(encoding="utf-8")


def _page(body: str, charset: str | None) -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return f"<html><head>{meta}<title>t</title></head><body><p>{body}</p></body></html>"


def test_windows_1256_text_without_declaration_is_detected():
    decoded = decode_bytes(SEED.encode("cp1256"), is_html=False)
    assert decoded.text == SEED
    assert decoded.encoding == "cp1256"


def test_windows_1256_page_with_meta_charset_uses_the_declaration():
    decoded = decode_bytes(_page(SEED, "windows-1256").encode("cp1256"), is_html=True)
    assert decoded.method == "declared"
    assert SEED[:200] in decoded.text


def test_wrong_declaration_falls_back_to_detection():
    # Declared UTF-8, actually windows-1256: strict UTF-8 fails, detection wins.
    decoded = decode_bytes(_page(SEED, "utf-8").encode("cp1256"), is_html=True)
    assert decoded.encoding == "cp1256"
    assert SEED[:200] in decoded.text


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32"])
def test_unicode_encodings_with_and_without_bom(codec):
    decoded = decode_bytes(SEED.encode(codec), is_html=False)
    assert decoded.text == SEED


def test_utf16_html_without_bom_is_sniffed():
    html = _page(SEED, None)
    decoded = decode_bytes(html.encode("utf-16-le"), is_html=True)
    assert decoded.text == html and decoded.method == "sniffed"


def test_binary_is_refused():
    with pytest.raises(DecodeError) as err:
        decode_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, is_html=False)
    assert err.value.reason == "binary"


def test_bom_that_lies_is_undecodable():
    with pytest.raises(DecodeError) as err:
        decode_bytes(codecs.BOM_UTF8 + "قره باغ".encode("cp1256"), is_html=False)
    assert err.value.reason == "undecodable"


def test_empty_is_refused():
    with pytest.raises(DecodeError) as err:
        decode_bytes(b"", is_html=True)
    assert err.value.reason == "empty"


def test_declared_charset_maps_latin1_to_windows_1252():
    assert declared_charset(b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">') == "cp1252"
    assert declared_charset(b'<?xml version="1.0" encoding="windows-1256"?><html>') == "cp1256"
    assert declared_charset(b"<html><body>no declaration</body></html>") is None


# Real text in the single-byte charsets it was written in (tests/data/encoding).
ARABIC = (DATA / "encoding" / "ar-windows-1256.txt").read_bytes()
LATIN = (DATA / "encoding" / "fr-de-windows-1252.txt").read_bytes()


def _page_bytes(body: bytes, charset: str | None, *, script: int = 0) -> bytes:
    meta = f'<meta charset="{charset}">'.encode() if charset else b""
    js = b"<script>" + b"var tracking = {site: 'news', section: 'world'};\n" * script + b"</script>"
    paragraphs = b"".join(b"<p>" + p + b"</p>\n" for p in body.split(b"\n\n"))
    return b"<html><head>" + meta + b"<title>t</title>" + js + b"</head><body>" + paragraphs + b"</body></html>"


@pytest.mark.parametrize("label", ["iso-8859-1", "windows-1252", "latin1", "us-ascii"])
@pytest.mark.parametrize("where", ["meta", "header"])
def test_arabic_labelled_latin_is_read_as_windows_1256(label, where):
    """Every byte means something in windows-1252, so the label "decodes
    cleanly" into mojibake; charset-normalizer reads far less chaos in
    windows-1256 and wins."""
    page = _page_bytes(ARABIC, label if where == "meta" else None)
    decoded = decode_bytes(page, is_html=True, declared=label if where == "header" else None)
    assert decoded.encoding == "cp1256"
    assert ARABIC.decode("cp1256").split("\n\n")[1] in decoded.text


def test_arabic_labelled_latin_is_read_right_among_much_markup():
    page = _page_bytes(ARABIC, "iso-8859-1", script=2000)  # 100 KB of script, 1 KB of Arabic
    assert decode_bytes(page, is_html=True).encoding == "cp1256"


def test_an_arabic_feed_labelled_latin_is_read_as_windows_1256():
    feed = b'<?xml version="1.0" encoding="windows-1252"?><rss><channel><title>' + ARABIC + b"</title></channel></rss>"
    decoded = decode_bytes(feed, is_html=False, is_xml=True)
    assert decoded.encoding == "cp1256" and ARABIC.decode("cp1256") in decoded.text


@pytest.mark.parametrize("label", ["iso-8859-1", "windows-1252"])
@pytest.mark.parametrize("where", ["meta", "header"])
def test_french_and_german_labelled_latin_keep_their_label(label, where):
    page = _page_bytes(LATIN, label if where == "meta" else None)
    decoded = decode_bytes(page, is_html=True, declared=label if where == "header" else None)
    assert decoded.encoding == "cp1252" and decoded.method == "declared"
    text = LATIN.decode("cp1252")
    assert "« Nous ne laisserons personne au bord du chemin »" in decoded.text
    assert "„einen wichtigen Schritt“" in decoded.text and text.split("\n\n")[3] in decoded.text


def test_the_header_label_comes_before_the_meta_label():
    page = _page_bytes(LATIN, "utf-8")  # the meta is wrong, the header right
    assert decode_bytes(page, is_html=True, declared="windows-1252").method == "declared"


def test_charset_param_of_a_content_type():
    assert charset_param('text/html; charset="ISO-8859-1"') == "cp1252"
    assert charset_param("application/rss+xml;charset=windows-1256") == "cp1256"
    assert charset_param("text/html") is None and charset_param(None) is None
    assert charset_param("text/html; charset=no-such-thing") is None


def test_unlabelled_latin_text_is_read_as_windows_1252():
    """Among Latin charsets that all read cleanly, windows-1252 wins the tie
    (charset-normalizer alone picked Baltic windows-1257 for a Portuguese feed)."""
    portuguese = (
        "Eleições: candidatos às prefeituras apresentam propostas sobre educação e saúde; votação é em outubro."
    )
    decoded = decode_bytes(("<p>" + portuguese + "</p>").encode("cp1252") * 5, is_html=True)
    assert decoded.encoding == "cp1252" and portuguese in decoded.text
    assert decode_bytes(LATIN, is_html=False).text == LATIN.decode("cp1252")


@pytest.mark.parametrize("codec", ["utf-32-be", "utf-32-le", "utf-16-be", "utf-16-le"])
def test_xml_without_a_bom_is_recognised_by_its_first_character(codec):
    feed = '<?xml version="1.0"?><rss><channel><title>أخبار</title></channel></rss>'
    assert decode_bytes(feed.encode(codec), is_html=False, is_xml=True).text == feed


@pytest.mark.parametrize("label", ["iso-8859-1", "windows-1252"])
def test_utf8_bytes_under_a_latin_label_are_read_as_utf8(label):
    """A page stored as UTF-8 that still declares a Latin charset: decoding
    it as declared turns 'aprobó' into 'aprobÃ³' cleanly, so the bytes decide."""
    # Spanish as such pages are: mostly ASCII letters, a few accented ones.
    text = (
        "El Gobierno aprobó hoy el plan de inversiones para la región, que incluye nuevas carreteras "
        "y escuelas en las provincias del norte, según informaron fuentes oficiales. "
    ) * 6
    page = f'<html><head><meta charset="{label}"></head><body><p>{text}</p></body></html>'.encode()
    decoded = decode_bytes(page, is_html=True)
    assert text in decoded.text and decoded.encoding == "utf-8"
    # Real Latin bytes under the same label keep it.
    latin = page.decode().encode("cp1252")
    assert text in decode_bytes(latin, is_html=True).text
