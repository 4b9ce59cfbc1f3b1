"""The topic stage in real pipelines: TestPipeline, the whole run with
date/topic partitions read back by pyarrow and DuckDB, a user taxonomy, the
``newsbeam tag`` command and the labelled evaluation."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import duckdb
import pytest
import yaml
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.conftest import DATA, SEEDS, read_table
from tests.test_options_cli import _build, _cli
from tests.topics_eval.evaluate import DATA as TOPICS_DATA
from tests.topics_eval.evaluate import DEV, HELDOUT_BATCHES, TEST, evaluate, unlabelled_checks
from tests.topics_eval.merge_readings import merge
from transforms.core.taxonomy import packaged_taxonomy_text
from transforms.topics import TagTopics

PINNED_MTIME = datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp()
WRITTEN = yaml.safe_load((DATA / "topics" / "written.yaml").read_text(encoding="utf-8"))
PICKED = [w for w in WRITTEN if w["id"] in {
    "w-ar-nk", "w-en-ua", "w-ar-sd", "w-en-mm", "w-ar-neg-qarabag-fk", "w-en-neg-tripoli-lebanon", "w-ar-neg-amman",
}]  # fmt: skip


def test_tag_topics_stage_in_a_test_pipeline():
    rows = [{"doc_id": w["id"], "title": w["title"], "text": w["text"], "lang": w["lang"]} for w in PICKED]
    with TestPipeline() as p:
        tagged = (
            p
            | beam.Create(rows)
            | TagTopics(packaged_taxonomy_text(), min_score=12.0, min_share=0.25)
            | beam.Map(lambda r: (r["doc_id"], r["primary_topic"], r["topic_taxonomy"] is not None))
        )
        assert_that(tagged, equal_to([(w["id"], w["primary"], True) for w in PICKED]))


def _write_articles(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for w in PICKED:
        path = folder / f"{w['id']}.txt"
        path.write_text(f"{w['title']}\n\n{w['text']}\n", encoding="utf-8")
        # Without a manifest the file time is the event time: pin the day.
        os.utime(path, (PINNED_MTIME, PINNED_MTIME))
    return folder


def test_articles_land_in_date_and_topic_partitions(run_pipeline, tmp_path):
    # Default --min_chars: briefs of two or three sentences reach the tagger.
    summary, out = run_pipeline(_write_articles(tmp_path / "in"))
    assert summary.balanced and summary.articles == len(PICKED)
    expected = {w["id"]: w["primary"] or "none" for w in PICKED}
    assert summary.topics == {t: list(expected.values()).count(t) for t in set(expected.values())}
    folders = {p.parent.relative_to(out / "articles").as_posix() for p in (out / "articles").rglob("*.parquet")}
    assert folders == {f"date=2024-05-01/topic={t}" for t in expected.values()}
    table = read_table(out).to_pylist()
    for row in table:
        wanted = expected[Path(row["source_uri"]).stem]
        assert row["topic"] == wanted and (row["primary_topic"] or "none") == wanted
        if row["primary_topic"]:
            assert row["topics"][0] == row["primary_topic"]
            assert row["topic_scores"][0]["topic"] == row["primary_topic"]
            assert any(e["topic"] == row["primary_topic"] and e["tier"] == "core" for e in row["topic_evidence"])
    con = duckdb.connect()
    glob = f"{out}/articles/**/*.parquet"
    by_topic = con.execute(
        f"SELECT topic, count(*) FROM read_parquet('{glob}', hive_partitioning=true) GROUP BY topic ORDER BY topic"
    ).fetchall()
    assert dict(by_topic) == {t: list(expected.values()).count(t) for t in set(expected.values())}
    mismatched = con.execute(
        f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true) "
        "WHERE topic <> coalesce(primary_topic, 'none') OR len(topic_evidence) < len(topics)"
    ).fetchone()
    assert mismatched == (0,)
    aliases = con.execute(
        f"SELECT DISTINCT e.alias FROM (SELECT unnest(topic_evidence) AS e "
        f"FROM read_parquet('{glob}', hive_partitioning=true) WHERE primary_topic = 'sudan') ORDER BY 1"
    ).fetchall()
    assert ("قوات الدعم السريع",) in aliases
    # Event terms are evidence of their own tier, and a conflict named in passing
    # (the Karabakh brief recalls the war in Ukraine) is found over topic_scores.
    events = con.execute(
        f"SELECT count(*) FROM (SELECT unnest(topic_evidence) AS e FROM read_parquet('{glob}')) WHERE e.tier = 'event'"
    ).fetchone()
    assert events[0] > 0
    mentioning = con.execute(
        f"SELECT primary_topic FROM read_parquet('{glob}') "
        "WHERE list_contains(list_transform(topic_scores, lambda s: s.topic), 'russia-ukraine')"
    ).fetchall()
    assert ("nagorno-karabakh",) in mentioning


TEST_TAXONOMY = """
version: test-1
languages: {complete: [ar]}
weights: {core: 3, context: 1, shared: 0.5, negative: 3}
conflicts:
  - id: test-war
    names: {ar: حرب تجريبية}
    terms:
      names:
        core: {ar: [قره باغ]}
"""


def test_a_user_taxonomy_replaces_the_packaged_one(run_pipeline, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(TEST_TAXONOMY, encoding="utf-8")
    _, out = run_pipeline(SEEDS, "--taxonomy", str(path))
    rows = read_table(out).to_pylist()
    assert {r["primary_topic"] for r in rows} == {"test-war"}
    assert {r["topic_taxonomy"] for r in rows} == {"test-1"}


def test_malformed_taxonomy_file_is_refused_at_build_time(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEST_TAXONOMY.replace("core: {ar", "primary: {ar"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"--taxonomy.*tier"):
        _build(tmp_path, "--taxonomy", str(bad))


def test_tag_command_explains_one_file(tmp_path):
    seed = next(SEEDS.glob("002_*.txt"))
    done = _cli("tag", str(seed), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "primary   nagorno-karabakh" in done.stdout and "ناغورني قره باغ" in done.stdout
    as_json = _cli("tag", str(seed), "--json", cwd=tmp_path)
    result = json.loads(as_json.stdout)
    assert result["primary_topic"] == "nagorno-karabakh" and result["lang"] == "ar"
    missing = _cli("tag", str(tmp_path / "nope.txt"), cwd=tmp_path)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    # A compressed file is read as the pipeline reads it.
    packed = tmp_path / "002.txt.gz"
    packed.write_bytes(gzip.compress(seed.read_bytes()))
    done = _cli("tag", str(packed), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["primary_topic"] == "nagorno-karabakh"


def test_tag_command_reads_a_json_lines_record_as_the_pipeline_does(tmp_path):
    records = tmp_path / "two.jsonl"
    first = {
        "url": "https://example.org/a",
        "title": "اشتباكات في طرابلس",
        "text": "اندلعت اشتباكات بين ميليشيات مسلحة في العاصمة الليبية طرابلس.",
    }
    second = {
        "url": "https://example.org/b",
        "title": "Pomegranates",
        "text": "Farmers sold pomegranates at the market.",
    }
    records.write_text(json.dumps(first) + "\n\n" + json.dumps(second) + "\n", encoding="utf-8")
    done = _cli("tag", str(records), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    tagged = json.loads(done.stdout)
    assert tagged["title"] == "اشتباكات في طرابلس" and tagged["primary_topic"] == "libya"
    # --line is the file's line, as in the rows' source_uri (...#L3): the blank line counts.
    third = _cli("tag", str(records), "--line", "3", "--json", cwd=tmp_path)
    assert json.loads(third.stdout)["title"] == "Pomegranates", third.stderr
    blank = _cli("tag", str(records), "--line", "2", cwd=tmp_path)
    assert blank.returncode == 2 and blank.stderr.strip().endswith("has no record on that line")
    # An HTML record keeps its own title over the page's, as in the pipeline.
    body = "Russian drones struck Zaporizhzhia overnight, Ukrainian officials said. The strikes hit energy sites."
    html = f"<html><head><title>Page title</title></head><body><article><p>{body}</p></article></body></html>"
    page = {"url": "https://example.org/p", "title": "Drone strike on Zaporizhzhia", "html": html}
    (tmp_path / "page.jsonl").write_text(json.dumps(page) + "\n", encoding="utf-8")
    shown = _cli("tag", str(tmp_path / "page.jsonl"), "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["title"] == "Drone strike on Zaporizhzhia"


def test_tag_command_refuses_what_run_refuses_in_one_line(tmp_path):
    seed = next(SEEDS.glob("002_*.txt"))
    share = _cli("tag", str(seed), "--topic_min_share", "5", cwd=tmp_path)
    assert share.returncode == 2 and share.stderr.strip().splitlines() == [
        "newsbeam tag: --topic_min_share must be between 0 and 1, got 5.0"
    ]
    twice = tmp_path / "twice.yaml"
    twice.write_text(TEST_TAXONOMY.replace("conflicts:", "weights: {core: 1}\nconflicts:"), encoding="utf-8")
    refused = _cli("tag", str(seed), "--taxonomy", str(twice), cwd=tmp_path)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "'weights' is given twice" in refused.stderr


ACCURACY_FLOOR = 0.958


@pytest.mark.parametrize("batch", HELDOUT_BATCHES)
def test_held_out_labels_are_what_their_blind_readings_give(batch):
    labels = json.loads((TOPICS_DATA / f"{batch}_labels.json").read_text(encoding="utf-8"))
    candidates = (TOPICS_DATA / f"{batch}_candidates.jsonl").read_text(encoding="utf-8").splitlines()
    assert set(labels) == {json.loads(line)["id"] for line in candidates}
    for doc_id, label in labels.items():
        assert len(label["readings"]) >= 2, doc_id
        assert label == merge(label["readings"]), doc_id


def test_the_docs_table_of_unlabelled_checks_is_what_the_judged_articles_give():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "topics.md").read_text(encoding="utf-8")
    checks = unlabelled_checks()
    assert len(checks) >= 7
    for change, (changed, judged, before, after) in checks.items():
        assert judged <= changed, change
        assert f"| {changed} | {judged} | {before} | {after} |" in docs, change


def test_labelled_evaluation_holds_its_figures_on_the_frozen_test_part():
    report = evaluate(repeat=1)
    dev, test = report.of(DEV), report.of(TEST)
    assert len(report.outcomes) >= 810 and len(test.outcomes) >= 0.4 * len(report.outcomes)
    assert {o.item.id for o in dev.outcomes}.isdisjoint(o.item.id for o in test.outcomes)
    # The target is 0.95 (make eval-topics exits 1 below it); the test part stands at 0.960, 381 of 397
    # (docs/topics.md), and this holds it there: one article fewer right fails.
    assert test.accuracy >= ACCURACY_FLOOR, test.confusions()
    assert report.hard_negatives_tagged == []
    # Passing mentions the readers agree on reach topic_scores.
    labelled, found = report.mentions_found()
    assert labelled >= 30 and found >= 0.8 * labelled
    seeds = [o for o in report.outcomes if o.item.source == "seed"]
    assert len(seeds) == 5 and all(o.topics == ("nagorno-karabakh",) for o in seeds)
