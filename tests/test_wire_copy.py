"""Wire copy as outlets run it, through the dedup stage: a 40 % cut with
three paragraphs of the outlet's own, a copy with every sentence lightly
reworded, and an article that quotes another at length.  The same stories
in batch, in streaming (TestStream, out of order) and in a full run with
two workers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from tests.conftest import PINNED_INGEST, read_table
from tests.inputs import SEED_000, SEED_001, SEED_002, SEED_003
from transforms.core.normalize import tokens
from transforms.core.overlap import CopyRule, compact, overlap
from transforms.core.textclean import clean_text
from transforms.dedup import Deduplicate

T0 = datetime(2020, 10, 5, 8, tzinfo=UTC)


def _paragraphs(seed: str) -> list[str]:
    return [p for p in clean_text(seed).text.split("\n") if p.strip()]


def _reword(paragraph: str) -> str:
    """Every sentence lightly edited: one word dropped, two swapped."""
    out = []
    for sentence in re.split(r"(?<=[.!؟])\s+", paragraph):
        words = sentence.split()
        if len(words) >= 8:
            del words[len(words) // 3]
            i = 2 * len(words) // 3
            words[i], words[i + 1] = words[i + 1], words[i]
        out.append(" ".join(words))
    return " ".join(out)


def _docs() -> dict[str, tuple[str, int]]:
    """name -> (text, hours after T0); the story each belongs to is the name's prefix."""
    story_a, story_b, story_c, own = (_paragraphs(s) for s in (SEED_000, SEED_001, SEED_003, SEED_002))
    words_a = sum(len(p.split()) for p in story_a)
    cut, kept = [], 0
    for p in story_a:  # the first 40 % of the words, whole paragraphs
        if kept >= 0.4 * words_a:
            break
        cut.append(p)
        kept += len(p.split())
    quote = " ".join(" ".join(story_b[3:7]).split()[:60])
    quoting = [*story_c[:5], f"وقال المتحدث: «{quote}»", *story_c[5:]]
    return {
        "a-first": ("\n".join(story_a), 0),
        "a-cut-plus-three": ("\n".join([*cut, *sorted(own, key=len)[-3:]]), 5),
        "b-first": ("\n".join(story_b), 1),
        "b-reworded": ("\n".join(_reword(p) for p in story_b), 3),
        "c-quotes-b": ("\n".join(quoting), 2),
    }


EXPECTED = {"a-first": "a-first", "a-cut-plus-three": "a-first", "b-first": "b-first",
            "b-reworded": "b-first", "c-quotes-b": "c-quotes-b"}  # fmt: skip


def test_the_cases_are_what_they_say():
    """The fixtures are hard for the reason named: the cut keeps well under
    the old 0.8 containment, the rewording breaks shingles in every
    sentence, and the quote is long."""
    docs = _docs()
    form = {n: compact(tokens(t)) for n, (t, _) in docs.items()}
    cut = overlap(form["a-cut-plus-three"], form["a-first"])
    assert 0.4 <= cut.containment < 0.6 and cut.lead < 0.2
    reworded = overlap(form["b-reworded"], form["b-first"])
    assert reworded.containment < 0.9 and reworded.is_copy(CopyRule())
    assert len(re.search("«(.*)»", docs["c-quotes-b"][0]).group(1).split()) == 60


def _elements(docs):
    return [
        TimestampedValue({"doc_id": name, "title": None, "text": text, "event_time": T0 + timedelta(hours=h)},
                         (T0 + timedelta(hours=h)).timestamp())
        for name, (text, h) in docs.items()
    ]  # fmt: skip


def _decisions(out):
    return (out["articles"], out["duplicates"]) | beam.Flatten() | beam.Map(lambda r: (r["doc_id"], r["story_id"]))


def test_batch_and_streaming_give_the_same_stories():
    docs = _docs()
    expected = [(name, story) for name, story in EXPECTED.items()]
    with TestPipeline() as p:
        got = _decisions(p | beam.Create(_elements(docs), reshuffle=True) | Deduplicate(streaming=False))
        assert_that(got, equal_to(expected))
    # Streaming: the copies arrive before the stories they copy.
    elements = sorted(_elements(docs), key=lambda e: e.timestamp, reverse=True)
    stream = TestStream().advance_watermark_to(T0.timestamp() - 60)
    for element in elements:
        stream = stream.add_elements([element])
    stream = stream.advance_watermark_to((T0 + timedelta(days=5)).timestamp()).advance_watermark_to_infinity()
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with TestPipeline(options=options) as p:
        assert_that(_decisions(p | stream | Deduplicate(streaming=True)), equal_to(expected))


def test_a_run_with_two_workers_gives_the_same_stories(tmp_path):
    from pipeline.run import run

    docs = _docs()
    lines = [json.dumps({"url": f"https://{name}.example/story", "text": text,
                         "published": (T0 + timedelta(hours=h)).isoformat()}, ensure_ascii=False)
             for name, (text, h) in docs.items()]  # fmt: skip
    # A feed's repeat of one record, and a record with no text: a counted copy and a reject.
    lines += [lines[2], json.dumps({"url": "https://empty.example/story", "text": ""})]
    (tmp_path / "wire.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    summary = run(["--input", str(tmp_path / "wire.jsonl"), "--output", str(out), "--ingested_at", PINNED_INGEST,
                   "--direct_running_mode=multi_processing", "--direct_num_workers=2"])  # fmt: skip
    articles, duplicates = read_table(out).to_pylist(), read_table(out, "duplicates").to_pylist()
    rejects = read_table(out, "rejects").num_rows
    assert len(articles) + len(duplicates) + rejects == len(lines) == summary.documents_in and summary.balanced
    assert rejects == 1 and [r["duplicate_kind"] for r in duplicates].count("same_url") == 1
    rows = articles + [r for r in duplicates if r["duplicate_kind"] != "same_url"]
    name = {r["doc_id"]: r["url"].split("//")[1].split(".")[0] for r in rows}
    assert {name[r["doc_id"]]: name[r["story_id"]] for r in rows} == EXPECTED
