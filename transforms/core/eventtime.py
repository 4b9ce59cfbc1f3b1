"""An article's event time, and how late it arrived.

Event time is the best publication time known, else the file's modification
time, else the time the document arrived.  In streaming, "late" is measured
against the document's arrival (the Pub/Sub publish time, the feed poll, the
moment a file was found, or a test stream's element time), not against
whatever the watermark happened to be: lateness is then a property of the
data, and the same input is rejected as late on every runner and every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from transforms.core.timeparse import DAY

# A publication time is believed from 1995 on, and up to this far after the
# document arrived (zones differ by up to 26 hours; a day's date is its UTC
# midnight).  In streaming, an allowed lateness larger than this is the skew.
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
PUBLISHED_SKEW = timedelta(days=1)
# How far a zoned time may sit outside a day given without a time (UTC
# midnight to midnight) and still be that day somewhere: UTC-12 to UTC+14.
_ZONE_SLACK = timedelta(hours=14)

PUBLISHED = "published"
FILE_MTIME = "file_mtime"
INGESTED = "ingested"


@dataclass(frozen=True, slots=True)
class EventTime:
    at: datetime
    source: str


def choose_event_time(
    published: datetime | None,
    file_mtime: datetime | None,
    ingested_at: datetime,
    *,
    arrived_at: datetime | None = None,
    max_future: timedelta | None = None,
) -> EventTime:
    """The article's event time and where it came from.

    A time before 1995, or later than the document's arrival (default:
    ``ingested_at``) by more than a day or ``max_future`` (the streaming
    allowed lateness, when larger), is not believed, whether the record
    claims it or the file's clock says it (a file touched to 2099 or
    restored with a 1960 date): pages that claim next year's date
    (time-zone slips, templates with placeholder dates) would otherwise sit
    in dedup state and in an unfired window until that date.  The claim
    stays in ``published_at``; the event time falls back to the next
    source, and last to the ingest time.
    """
    latest = latest_believed(arrived_at or ingested_at, max_future)
    for value, source in ((published, PUBLISHED), (file_mtime, FILE_MTIME)):
        if believable(value, latest):
            return EventTime(value, source)
    return EventTime(ingested_at, INGESTED)


def latest_believed(reference: datetime, max_future: timedelta | None = None) -> datetime:
    """The latest publication time believed for a document that arrived at
    ``reference``: :data:`PUBLISHED_SKEW` after it, or ``max_future`` (the
    streaming allowed lateness) when that is larger."""
    return reference + max(PUBLISHED_SKEW, max_future or timedelta(0))


def believable(at: datetime | None, latest: datetime) -> bool:
    return at is not None and EARLIEST <= at <= latest


def refine(day: datetime, day_precision: str | None, finer: datetime | None, finer_precision: str | None) -> bool:
    """Whether ``finer`` (a page's time of day) may stand in for ``day`` (a
    date given without a time, as its UTC midnight): the same day in some zone."""
    if day_precision != DAY or finer is None or finer_precision in (None, DAY):
        return False
    return day - _ZONE_SLACK <= finer < day + timedelta(days=1) + _ZONE_SLACK


def lateness(event_time: datetime, arrived_at: datetime) -> timedelta:
    """How long after its event time a document arrived (never negative)."""
    return max(arrived_at - event_time, timedelta(0))


def is_too_late(event_time: datetime, arrived_at: datetime, allowed: timedelta) -> bool:
    return lateness(event_time, arrived_at) > allowed
