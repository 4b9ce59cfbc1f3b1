"""Builders of test input folders: every kind of bad input next to good ones."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

from tests.conftest import SEEDS

SEED_001 = (SEEDS / "001_8b81df99018cc380.txt").read_text(encoding="utf-8")
SEED_002 = (SEEDS / "002_1006001a38c85b0d.txt").read_text(encoding="utf-8")
SEED_000 = (SEEDS / "000_bbe93062319f189f.txt").read_text(encoding="utf-8")
SEED_003 = (SEEDS / "003_c54f41809b093bc8.txt").read_text(encoding="utf-8")

# Small enough for every good document below, smaller than huge.html.
MAX_BYTES = 40_000


def windows_1256_page(text: str) -> bytes:
    """A seed as an HTML page in windows-1256 with no charset declaration."""
    paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines() if line.strip())
    html = f'<html lang="ar" dir="rtl"><head><title>{text.splitlines()[0]}</title></head><body><article>{paragraphs}</article></body></html>'
    return html.encode("cp1256")


# (stage, reason) of every reject make_mixed_inputs produces.
EXPECTED_REJECTS = sorted(
    [
        ("read", "empty"),  # empty.txt
        ("read", "too_large"),  # huge.html
        ("read", "unreadable"),  # corrupt.html.gz
        ("decode", "binary"),  # picture.html
        ("decode", "undecodable"),  # lying-bom.txt
        ("extract", "no_content"),  # nav-only.html
        ("extract", "too_short"),  # short.txt
        ("read", "bad_json"),  # records.jsonl line 2
        ("read", "missing_field"),  # records.jsonl line 3
        ("read", "bad_json"),  # records.jsonl line 4
        ("read", "empty"),  # records.jsonl line 5
    ]
)
EXPECTED_ARTICLES = 4  # good.txt, arabic-1256.html, records.jsonl lines 1 and 7
EXPECTED_RECORDS = len(EXPECTED_REJECTS) + EXPECTED_ARTICLES


def make_mixed_inputs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.txt").write_text(SEED_001, encoding="utf-8")
    (folder / "arabic-1256.html").write_bytes(windows_1256_page(SEED_002))
    (folder / "empty.txt").write_bytes(b" \n\n")
    (folder / "huge.html").write_bytes(b"<html><body>" + b"<p>word </p>" * 5000 + b"</body></html>")
    (folder / "corrupt.html.gz").write_bytes(b"this is not gzip data at all")
    (folder / "picture.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 8)
    (folder / "lying-bom.txt").write_bytes(codecs.BOM_UTF8 + "قره باغ".encode("cp1256") * 50)
    (folder / "nav-only.html").write_text(
        "<html><head><script>var a = 1;</script></head><body><div></div></body></html>"
    )
    (folder / "short.txt").write_text("عنوان\nسطر قصير واحد فقط.", encoding="utf-8")
    (folder / "notes.md").write_text("not a document type: skipped, not a record")
    records = [
        json.dumps(
            {
                "url": "https://example.org/ar/1",
                "text": SEED_000,
                "published": "2020-11-09T10:00:00Z",
                "source": "Example",
            },
            ensure_ascii=False,
        ),
        "{not json",
        json.dumps({"html": "<p>no url</p>"}),
        json.dumps(["a", "list"]),
        json.dumps({"url": "https://example.org/ar/2", "text": "  "}),
        "",
        # A lone surrogate escape: valid JSON, not encodable as UTF-8.
        json.dumps({"url": "https://example.org/ar/3", "text": SEED_003 + "\ud800"}),
    ]
    (folder / "records.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    return folder
