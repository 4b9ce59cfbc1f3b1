"""Sidecar metadata for plain files: ``manifest.csv`` beside the documents.

One row per file with the columns ``file`` (path relative to the manifest's
folder), ``outlet``, ``url``, ``published`` (ISO 8601, UTC) and ``lang``;
other columns (such as ``evidence``) are ignored.  The manifest is what gives
a saved page its URL, outlet and event time.
"""

from __future__ import annotations

import csv
import io

from transforms.core.records import DocMeta
from transforms.core.timeparse import parse_time

REQUIRED_COLUMNS = ("file",)
KNOWN_COLUMNS = ("file", "outlet", "url", "published", "lang")
MANIFEST_NAME = "manifest.csv"


class ManifestError(ValueError):
    pass


def check_header(header_line: str) -> list[str]:
    """The manifest's column names, or :class:`ManifestError` if ``file`` is missing."""
    columns = next(csv.reader([header_line]), [])
    columns = [c.strip().lstrip("\ufeff") for c in columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ManifestError(f"manifest header lacks column(s) {missing}; has {columns}")
    return columns


def parse_row(columns: list[str], line: str) -> tuple[str, DocMeta] | None:
    """One data line as (relative file path, metadata); None for a blank line.

    Raises :class:`ManifestError` for a row with an unparseable time, so a bad
    manifest is noticed instead of silently giving documents ingest times."""
    if not line.strip():
        return None
    values = next(csv.reader([line]), [])
    row = {c: (values[i].strip() if i < len(values) else "") for i, c in enumerate(columns)}
    rel = row["file"].replace("\\", "/").removeprefix("./")
    published = None
    if row.get("published"):
        published = parse_time(row["published"])
        if published is None:
            raise ManifestError(f"row for {rel!r}: cannot parse published={row['published']!r}")
    meta = DocMeta(
        url=row.get("url") or None,
        outlet=row.get("outlet") or None,
        published=published,
        lang=row.get("lang") or None,
    )
    return rel, meta


def check_rows(text: str) -> list[str]:
    """The files the data rows name, in order, or :class:`ManifestError`
    naming the line of the first row that cannot be used: one whose time
    cannot be read, or a second row for a file (which of the two would win
    depends on the runner)."""
    lines = text.splitlines()
    columns = check_header(lines[0] if lines else "")
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        try:
            parsed = parse_row(columns, line)
        except ManifestError as exc:
            raise ManifestError(f"line {number}: {exc}") from None
        if parsed is None:
            continue
        rel = parsed[0]
        if rel in first_line:
            raise ManifestError(f"line {number}: a second row for {rel!r} (the first is on line {first_line[rel]})")
        first_line[rel] = number
    return list(first_line)


def parse_manifest(text: str) -> dict[str, DocMeta]:
    """The whole manifest as a dict (for tools and tests; the pipeline reads
    it line by line as a side input)."""
    reader = io.StringIO(text)
    header = reader.readline()
    columns = check_header(header)
    out: dict[str, DocMeta] = {}
    for record in csv.reader(reader):
        parsed = parse_row(columns, _to_line(record))
        if parsed:
            out[parsed[0]] = parsed[1]
    return out


def _to_line(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(values)
    return buf.getvalue().rstrip("\r\n")
