"""The stories table: one row per story, from its rows in articles and
duplicates.

A story is every row that shares a ``story_id``: the article (its first
copy as dedup saw it) and its duplicates.  Its first copy here is the
earliest by event time (then doc_id), whichever table it is in; its title
and lead are that copy's.  Pure and order-free: the same rows in any order
give the same stories.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The columns a story is built from.
COLUMNS = ("story_id", "doc_id", "event_time", "outlet", "agencies", "primary_topic", "title", "text", "lang")
LEAD_CHARS = 300


def lead(text: str | None, limit: int = LEAD_CHARS) -> str:
    """The first ``limit`` characters of a text, cut at a word."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


@dataclass
class _Story:
    first: tuple[datetime, str]  # (event time, doc_id) of the first copy
    last: datetime
    copies: int = 0
    outlets: set[str] = field(default_factory=set)
    agencies: set[str] = field(default_factory=set)
    languages: set[str] = field(default_factory=set)
    head: dict[str, Any] = field(default_factory=dict)  # the first copy's outlet, topic, title, lead


class StoryBuilder:
    """Add rows (mappings with :data:`COLUMNS`), then take :meth:`rows`."""

    def __init__(self) -> None:
        self._stories: dict[str, _Story] = {}

    def add(self, row: Mapping[str, Any]) -> None:
        at, doc_id = row["event_time"], row["doc_id"]
        story = self._stories.get(row["story_id"])
        if story is None:
            story = self._stories[row["story_id"]] = _Story(first=(at, doc_id), last=at)
        story.copies += 1
        story.last = max(story.last, at)
        if row.get("outlet"):
            story.outlets.add(row["outlet"])
        story.agencies.update(row.get("agencies") or ())
        if row.get("lang"):
            story.languages.add(row["lang"])
        if (at, doc_id) <= story.first or not story.head:
            story.first = (at, doc_id)
            story.head = {
                "first_doc_id": doc_id,
                "first_outlet": row.get("outlet"),
                "primary_topic": row.get("primary_topic"),
                "title": row.get("title"),
                "lead": lead(row.get("text")),
            }

    def add_all(self, rows: Iterable[Mapping[str, Any]]) -> StoryBuilder:
        for row in rows:
            self.add(row)
        return self

    def rows(self) -> list[dict[str, Any]]:
        """The stories, earliest first (then by story_id)."""
        out = []
        for story_id, s in self._stories.items():
            out.append(
                {
                    "story_id": story_id,
                    **s.head,
                    "first_event_time": s.first[0],
                    "last_event_time": s.last,
                    "spread_minutes": round((s.last - s.first[0]).total_seconds() / 60, 1),
                    "copies": s.copies,
                    "outlets": sorted(s.outlets),
                    "outlet_count": len(s.outlets),
                    "agencies": sorted(s.agencies),
                    "languages": sorted(s.languages),
                }
            )
        out.sort(key=lambda r: (r["first_event_time"], r["story_id"]))
        return out
