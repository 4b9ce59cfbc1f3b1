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
from datetime import datetime, timedelta

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

    With ``max_future`` (streaming), a time more than that after the
    document's arrival (default: ``ingested_at``) is not believed: pages that claim next year's date
    (time-zone slips, templates with placeholder dates) would otherwise sit
    in dedup state and in an unfired window until that date.  The claim
    stays in ``published_at``; the event time falls back to the ingest time.
    """
    latest = None if max_future is None else (arrived_at or ingested_at) + max_future
    for value, source in ((published, PUBLISHED), (file_mtime, FILE_MTIME)):
        if value is None:
            continue
        if latest is not None and value > latest:
            continue
        return EventTime(value, source)
    return EventTime(ingested_at, INGESTED)


def lateness(event_time: datetime, arrived_at: datetime) -> timedelta:
    """How long after its event time a document arrived (never negative)."""
    return max(arrived_at - event_time, timedelta(0))


def is_too_late(event_time: datetime, arrived_at: datetime, allowed: timedelta) -> bool:
    return lateness(event_time, arrived_at) > allowed
