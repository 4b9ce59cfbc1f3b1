"""The stories table's rows without Beam: first copy, counts, spread,
order-free."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from transforms.core.stories import LEAD_CHARS, StoryBuilder, lead

T0 = datetime(2018, 5, 14, 8, 0, tzinfo=UTC)


def _row(story: str, doc: str, minutes: int, outlet: str | None, agencies=(), lang="ar", topic=None) -> dict:
    return {
        "story_id": story, "doc_id": doc, "event_time": T0 + timedelta(minutes=minutes), "outlet": outlet,
        "agencies": list(agencies), "primary_topic": topic, "title": f"title {doc}", "text": f"text of {doc} " * 5,
        "lang": lang,
    }  # fmt: skip


ROWS = [
    _row("s1", "s1", 30, "Sky News Arabia", ["afp"], topic="israel-palestine"),
    _row("s1", "d1", 0, "Al Arabiya", topic="israel-palestine"),  # earlier than the article row: the first copy
    _row("s1", "d2", 150, "Sky News Arabia", ["reuters"]),
    _row("s1", "d3", 95, None, lang="en"),
    _row("s2", "s2", 10, "BBC Arabic"),
]


def test_a_story_counts_every_copy_and_starts_at_its_earliest():
    s1, s2 = StoryBuilder().add_all(ROWS).rows()
    assert s1["story_id"] == "s1" and s1["copies"] == 4
    assert s1["first_doc_id"] == "d1" and s1["first_outlet"] == "Al Arabiya" and s1["title"] == "title d1"
    assert s1["first_event_time"] == T0 and s1["last_event_time"] == T0 + timedelta(minutes=150)
    assert s1["spread_minutes"] == 150.0
    assert s1["outlets"] == ["Al Arabiya", "Sky News Arabia"] and s1["outlet_count"] == 2
    assert s1["agencies"] == ["afp", "reuters"] and s1["languages"] == ["ar", "en"]
    assert s2["copies"] == 1 and s2["spread_minutes"] == 0.0


def test_the_rows_do_not_depend_on_the_order_they_come_in():
    expected = StoryBuilder().add_all(ROWS).rows()
    for seed in range(5):
        shuffled = ROWS[:]
        random.Random(seed).shuffle(shuffled)
        assert StoryBuilder().add_all(shuffled).rows() == expected


def test_a_lead_is_cut_at_a_word():
    text = "word " * 200
    cut = lead(text)
    assert len(cut) <= LEAD_CHARS + 1 and cut.endswith("…") and not cut[:-1].endswith(" ")
    assert lead("short text") == "short text" and lead(None) == ""
