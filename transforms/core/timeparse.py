"""Parsing the many ways publication times are written into UTC datetimes.

:func:`parse_time` reads a time a user or a feed gives (ISO 8601, RFC 2822).
:func:`parse_stamp` reads a page's own publication time and says how
precise it is: a date that names a day, with or without a time of day and a
zone.  A bare year, a month, a week or a copyright line names no day and is
not a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

SECOND = "second"
MINUTE = "minute"
DAY = "day"

# 2023-04-28, 2023/04/28, then an optional time of day and zone:
# 2023-04-28T10:15, 2023-04-28 10:15:30.123+02:00, ...T10:15:30Z, ...+0200, ... UTC.
_ISO = re.compile(
    r"""^\s*(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})
    (?:(?:T|\s+|T\s*)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<frac>[.,]\d+)?)?
       \s*(?P<z>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?\s*$""",
    re.X | re.I,
)


@dataclass(frozen=True, slots=True)
class Stamp:
    """A publication time: ``at`` in UTC, ``precision`` ``second``, ``minute``
    or ``day``, ``zoned`` whether the text gave a zone (a time without one is
    read as UTC), ``day`` the calendar day as written (in the writer's zone)."""

    at: datetime
    precision: str
    zoned: bool
    day: date


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


def precision_of(at: datetime) -> str:
    """How precise a time given as a datetime (manifest, record, feed entry,
    message) is: exactly midnight UTC reads as a day, since that is how a
    date without a time arrives; else ``second`` when it has seconds,
    ``minute`` when not."""
    at = at.astimezone(UTC) if at.tzinfo else at
    if (at.hour, at.minute, at.second, at.microsecond) == (0, 0, 0, 0):
        return DAY
    return SECOND if (at.second or at.microsecond) else MINUTE


def _zone(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        raise ValueError(text)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_stamp(value: str | None) -> Stamp | None:
    """A page's publication time, if ``value`` names a day: ISO 8601 (also
    with '/' or a space, with or without seconds and zone) or RFC 2822.
    None for anything else: a year, a month, a week, free text."""
    if not value:
        return None
    text = value.strip()
    m = _ISO.match(text)
    try:
        if m:
            day = date(int(m["y"]), int(m["m"]), int(m["d"]))
            if m["H"] is None:
                return Stamp(datetime(day.year, day.month, day.day, tzinfo=UTC), DAY, False, day)
            zone = _zone(m["z"])
            micro = int((m["frac"][1:] + "000000")[:6]) if m["frac"] else 0
            local = datetime(day.year, day.month, day.day, int(m["H"]), int(m["M"]), int(m["S"] or 0), micro)
            precision = SECOND if (int(m["S"] or 0) or micro) else MINUTE
            at = local.replace(tzinfo=zone or UTC).astimezone(UTC)
            return Stamp(at, precision, zone is not None, day)
        if not re.search(r"\d{1,2}:\d{2}", text):
            return None  # RFC 2822 without a time of day is not a form pages use
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    zoned = dt.tzinfo is not None
    precision = SECOND if dt.second else MINUTE
    return Stamp((dt if zoned else dt.replace(tzinfo=UTC)).astimezone(UTC), precision, zoned, dt.date())
