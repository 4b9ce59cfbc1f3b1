"""Parsing the many ways publication times are written into UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_time(value: str | datetime | None) -> datetime | None:
    """ISO 8601 ('2020-11-09T12:00:00Z', '2020-11-09'), RFC 2822 ('Mon, 09 Nov
    2020 12:00:00 GMT') or a datetime, as an aware UTC datetime.  A value with
    no zone is taken as UTC; an unparseable one gives None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = value.strip()
        if not text:
            return None
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            try:
                dt = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
