"""Dedup across runs: what a batch run keeps (its state rows) lets the next
run's copies join the stories first seen before, with the story_ids one run
over both days gives; a rerun of the same day is all already ingested.

Two "days" of real ANT articles: day 1 holds the first text of labelled
copy pairs and of different pairs; day 2 the second texts (copies of day-1
stories, and new stories), a day later.
"""

from __future__ import annotations

import gzip
import json
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.window import TimestampedValue

from tests.conftest import DATA
from transforms.common import NAMESPACE
from transforms.core.dedup_steps import StatePart
from transforms.dedup import Deduplicate

DAY1 = datetime(2018, 5, 20, 6, tzinfo=UTC)


def _days() -> tuple[list[dict], list[dict]]:
    with gzip.open(DATA / "dedup" / "ant_pairs.jsonl.gz", "rt", encoding="utf-8") as fh:
        pairs = sorted((json.loads(line) for line in fh), key=lambda p: p["pair_id"])
    copies = [p for p in pairs if p["label"] == "copy" and p["a"]["text"] != p["b"]["text"]][:8]
    different = [p for p in pairs if p["label"] == "different"][:4]
    day1, day2 = [], []
    for i, pair in enumerate(copies + different):
        at = DAY1 + timedelta(minutes=37 * i)
        for day, side, when in ((day1, "a", at), (day2, "b", at + timedelta(days=1))):
            day.append({"doc_id": f"{side}{i:02d}", "text": pair[side]["text"], "source_uri": f"{side}{i:02d}",
                        "url": f"https://{side}.example/{i}", "event_time": when})  # fmt: skip
    return day1, day2


def _run(articles: list[dict], out: Path, prior: list[StatePart] | None) -> tuple[dict, list[StatePart], dict]:
    """(story_id per doc_id, state rows, dedup counters) of one batch run;
    ``prior`` None: a first run, which has no earlier rows to read."""
    out.mkdir(parents=True)
    p = beam.Pipeline(options=PipelineOptions(["--runner", "FnApiRunner"]))
    stamped = (
        p | "Articles" >> beam.Create(articles) | beam.Map(lambda a: TimestampedValue(a, a["event_time"].timestamp()))
    )
    if prior is None:
        deduped = stamped | Deduplicate(keep_state=True)
    else:
        deduped = stamped | Deduplicate(prior=p | "Prior" >> beam.Create(prior))
    rows = (
        (deduped["articles"], deduped["duplicates"]) | beam.Flatten() | beam.Map(lambda r: (r["doc_id"], r["story_id"]))
    )
    for name, pcoll in (("stories", rows), ("state", deduped["state"])):
        _ = pcoll | f"List{name}" >> beam.combiners.ToList() | f"Save{name}" >> beam.Map(_save, str(out / name))
    result = p.run()
    result.wait_until_finish()
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
        if c.key.metric.name.startswith("dedup.")
    }
    stories = dict(_load(out / "stories"))
    # Every record in is a story row, a copy row, or already ingested.
    assert len(stories) + counters.get("dedup.already_ingested", 0) == len(articles)
    return stories, _load(out / "state"), counters


def _save(values: list, path: str) -> None:
    Path(path).write_bytes(pickle.dumps(sorted(values)))


def _load(path: Path) -> list:
    return pickle.loads(path.read_bytes()) if path.exists() else []


def test_two_appended_days_give_the_story_ids_of_one_run(tmp_path):
    day1, day2 = _days()
    both, _, _ = _run(day1 + day2, tmp_path / "both", prior=None)
    first, state1, _ = _run(day1, tmp_path / "day1", prior=None)
    second, state2, counters = _run(day2, tmp_path / "day2", prior=state1)
    assert {**first, **second} == both
    joined = [d for d in second if second[d] != d]
    assert len(joined) >= 4, "day 2 must hold copies that join day-1 stories"
    assert all(second[d].startswith("a") for d in joined)
    assert {p.step for p in state1} == {"identify", "exact", "anchor", "matched"}
    assert counters.get("dedup.already_ingested", 0) == 0
    # Day 2 again, after day 2: everything is already in the output.
    again, state3, counters = _run(day2, tmp_path / "again", prior=state2)
    assert again == {} and counters["dedup.already_ingested"] == len(day2)
    assert sorted(state3) == sorted(state2)


def test_a_first_run_keeps_the_state_a_run_from_an_empty_state_keeps(tmp_path):
    day1, _ = _days()
    fresh = _run(day1, tmp_path / "fresh", prior=None)
    empty = _run(day1, tmp_path / "empty", prior=[])
    assert fresh == empty
    stories, state, counters = fresh
    assert {p.step for p in state} == {"identify", "exact", "anchor", "matched"}
    assert len({p.doc_id for p in state if p.step == "identify"}) == len(day1)
    assert len(stories) == len(day1) and counters.get("dedup.already_ingested", 0) == 0


def test_state_rows_out_of_reach_are_dropped_but_urls_are_remembered(tmp_path):
    day1, _ = _days()
    _, state1, _ = _run(day1, tmp_path / "day1", prior=None)
    later = [{**day1[0], "doc_id": "z", "source_uri": "z", "url": "https://z.example/",
              "text": day1[-1]["text"] + " تحديث", "event_time": DAY1 + timedelta(days=30)}]  # fmt: skip
    stories, state, _ = _run(later, tmp_path / "later", prior=state1)
    # A month on, day 1's stories are out of reach: its copy starts a story of its own.
    assert stories == {"z": "z"}
    assert {p.doc_id for p in state if p.size >= 0} == {"z"}
    # Its URLs are still known, by text: a rerun of a day-1 record is already ingested,
    # and a new text under a day-1 URL gets a doc_id of its own.
    old = [p for p in state if p.step == "identify" and p.doc_id != "z"]
    assert len(old) == len(day1) and all(p.size == -1 and not p.values for p in old)
    rerun = {**day1[0], "event_time": DAY1 + timedelta(days=31)}
    renewed = {**day1[1], "source_uri": "new", "text": day1[2]["text"], "event_time": DAY1 + timedelta(days=31)}
    stories, _, counters = _run([rerun, renewed], tmp_path / "rerun", prior=state)
    assert counters["dedup.already_ingested"] == 1
    assert list(stories) != ["a01"] and len(stories) == 1 and "a00" not in stories


def test_a_known_url_with_a_new_text_is_a_later_copy_across_runs(tmp_path):
    day1, _ = _days()
    _, state1, _ = _run(day1, tmp_path / "day1", prior=None)
    revised = {**day1[0], "source_uri": "a00-revised", "event_time": day1[0]["event_time"] + timedelta(hours=20),
               "text": day1[0]["text"] + "\nوأضاف المتحدث أن المفاوضات ستستأنف الأسبوع المقبل."}  # fmt: skip
    replaced = {**day1[1], "source_uri": "a01-replaced", "event_time": day1[1]["event_time"] + timedelta(hours=20),
                "text": day1[-1]["text"]}  # fmt: skip
    stories, _, counters = _run([revised, replaced], tmp_path / "day2", prior=state1)
    (revision,) = [d for d in stories if stories[d] == "a00"]
    assert revision != "a00" and counters["dedup.same_url_copies"] == 1
    # A URL whose text was replaced by another story's is an article of its own, not day 1's.
    assert counters["dedup.url_variants"] == 1 and "a01" not in stories.values()


def _decided(articles: list[dict], keep_state: bool, path: Path) -> list[tuple]:
    """(doc_id, story_id, duplicate_of, similarity) of every record of one batch run."""
    p = beam.Pipeline(options=PipelineOptions(["--runner", "FnApiRunner"]))
    stamped = p | beam.Create(articles) | beam.Map(lambda a: TimestampedValue(a, a["event_time"].timestamp()))
    deduped = stamped | Deduplicate(keep_state=keep_state)
    rows = (
        (deduped["articles"], deduped["duplicates"])
        | beam.Flatten()
        | beam.Map(lambda r: (r["doc_id"], r["story_id"], r.get("duplicate_of"), r.get("similarity")))
    )
    _ = rows | beam.combiners.ToList() | beam.Map(_save, str(path))
    p.run().wait_until_finish()
    return _load(path)


def test_what_identify_prepares_gives_the_stories_of_a_run_that_computes_its_own(tmp_path):
    """With state kept, Identify hands each text's normalization and compact
    form on to Exact and Fingerprint; without, a lone record's are computed
    where they are needed.  Both give the same stories and similarities."""
    day1, day2 = _days()
    # Headlines too: they are part of the compared words.
    articles = [{**a, "title": a["text"].split("\n")[0][:80]} for a in day1 + day2]
    # A flash run twice: the same long headline over two different datelines,
    # so only the headline's words give the two an anchor in common.
    flash = "Armenia and Azerbaijan agree to a humanitarian ceasefire in Nagorno-Karabakh from midnight after ten hours of talks in Moscow"
    for i, dateline in enumerate(("MOSCOW (Reuters)", "Moscow, Oct 10 (AP)")):
        at = DAY1 + timedelta(hours=20, minutes=i)
        articles.append({"doc_id": f"flash{i}", "text": dateline, "title": flash, "source_uri": f"flash{i}",
                         "url": f"https://flash{i}.example/", "event_time": at})  # fmt: skip
    kept = _decided(articles, True, tmp_path / "kept")
    own = _decided(articles, False, tmp_path / "own")
    assert kept == own
    assert len(kept) == len(articles) and sum(r[1] != r[0] for r in kept) >= 4
    assert [r[:3] for r in kept if r[0].startswith("flash")] == [
        ("flash0", "flash0", None),
        ("flash1", "flash0", "flash0"),
    ]
