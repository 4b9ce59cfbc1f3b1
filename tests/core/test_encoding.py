"""Decoding bytes: windows-1256 and UTF-16 Arabic, declarations right and wrong."""

import codecs

import pytest

from tests.conftest import SEEDS
from transforms.core.encoding import DecodeError, declared_charset, decode_bytes

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
