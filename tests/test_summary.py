"""The run's summary: from the counters, from the tables, and without metrics."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.runners.portability.fn_api_runner import fn_runner

from pipeline.run import Summary, exit_code, summarize, summarize_tables
from tests.conftest import SEEDS
from transforms.common import ALREADY_INGESTED, ARTICLE_ROWS, DOCUMENTS_IN

UNKNOWN = "records in = articles + duplicates + rejects + already_ingested: unknown (this runner reports no metrics)"


def _table(path, **columns) -> None:
    path.mkdir(parents=True)
    pq.write_table(pa.table(columns), path / "part-00000-of-00001.parquet")


def test_a_summary_read_from_the_tables_counts_stories_and_copies_by_kind(tmp_path):
    _table(tmp_path / "articles" / "date=2020-10-01", lang=["ar", "ar", "en"], primary_topic=["a", "b", "a"],
           extractor=["trafilatura"] * 3)  # fmt: skip
    _table(
        tmp_path / "duplicates" / "date=2020-10-01",
        doc_id=["d1", "d2", "d3"],
        duplicate_kind=["same_url", "near", "near"],
        lang=["ar", None, "ar"],
        primary_topic=[None, "a", "a"],
        extractor=["text-cleaner"] * 3,
    )
    _table(tmp_path / "rejects", stage=["read"], reason=["empty"])
    summary = summarize_tables(str(tmp_path), 7, "DONE", 1.0)
    assert summary.dedup == {"stories": 3, "same_url_copies": 1, "near_copies": 2}
    # Languages, topics and extractors of every article, first copies and later, named as the counters name them.
    assert summary.languages == {"ar": 4, "en": 1, "unknown": 1}
    assert summary.topics == {"a": 4, "b": 1, "none": 1}
    assert summary.extracted_by == {"trafilatura": 3, "text-cleaner": 3}
    assert (summary.articles, summary.duplicates, summary.rejects, summary.balanced) == (3, 3, 1, True)
    assert summary.rejects_by_reason == {"read.empty": 1}


class _Counter:
    def __init__(self, name: str, value: int) -> None:
        self.key = type("Key", (), {"metric": type("Metric", (), {"name": name})()})()
        self.committed = value
        self.attempted = value


class _NoMetrics:
    def __init__(self, state: str) -> None:
        self.state = state

    def metrics(self):
        raise NotImplementedError


class _NoMetricsAtAll:
    state = "DONE"


def test_a_runner_without_metrics_leaves_the_counts_unknown_not_zero():
    for result in (_NoMetrics("DONE"), _NoMetricsAtAll()):
        summary = summarize(result, 1.0)
        text = summary.render("out")
        assert summary.balanced is None and summary.documents_in is None
        assert UNKNOWN in text and "0 = 0 + 0 + 0 + 0" not in text and " ok" not in text
        assert exit_code(summary) == 0  # nothing says a record is missing
    assert exit_code(summarize(_NoMetrics("FAILED"), 1.0)) == 1


def test_a_done_run_without_metrics_reads_its_counts_back_from_the_tables(run_pipeline, monkeypatch, capsys):
    def no_metrics(self):
        raise NotImplementedError

    monkeypatch.setattr(fn_runner.RunnerResult, "metrics", no_metrics)
    summary, out = run_pipeline(SEEDS)
    assert (summary.articles, summary.duplicates, summary.rejects) == (5, 0, 0)
    assert summary.documents_in is None and summary.balanced is None
    assert summary.dedup == {"stories": 5}
    assert exit_code(summary) == 0
    printed = capsys.readouterr().out
    assert (
        "records in = articles + duplicates + rejects + already_ingested: unknown = 5 + 0 + 0 + 0  (this runner reports no metrics)"
        in printed
    )
    saved = json.loads((out / "_summary.json").read_text())
    assert saved["documents_in"] is None and saved["articles"] == 5


def test_records_already_in_the_output_balance_the_count_and_are_shown():
    counted = Summary(state="DONE", elapsed_seconds=1.0, documents_in=10, articles=4, duplicates=2, rejects=1,
                      already_ingested=3)  # fmt: skip
    text = counted.render("out")
    assert counted.balanced is True and exit_code(counted) == 0
    assert "records in = articles + duplicates + rejects + already_ingested: 10 = 4 + 2 + 1 + 3  ok" in text
    assert "already ingested  3" in text
    fresh = Summary(state="DONE", elapsed_seconds=1.0, documents_in=7, articles=4, duplicates=2, rejects=1)
    assert "records in = articles + duplicates + rejects + already_ingested: 7 = 4 + 2 + 1 + 0  ok" in fresh.render("o")
    short = Summary(state="DONE", elapsed_seconds=1.0, documents_in=10, articles=4, duplicates=2, rejects=1)
    assert short.balanced is False and exit_code(short) == 1


def test_the_already_ingested_counter_fills_its_own_field_not_the_dedup_line():
    class _Counted:
        state = "DONE"

        def metrics(self):
            return self

        def query(self, _filter):
            names = {DOCUMENTS_IN: 5, ARTICLE_ROWS: 3, ALREADY_INGESTED: 2, "dedup.stories": 3}
            return {"counters": [_Counter(n, v) for n, v in names.items()]}

    summary = summarize(_Counted(), 1.0)
    assert summary.already_ingested == 2 and summary.balanced is True
    assert "already_ingested" not in summary.dedup


def test_skipped_files_are_named_by_extension_in_a_bounded_number_of_counts():
    from transforms.read import file_extension

    names = ["a/b.warc.gz", "x.PDF", "noext", "report.2018.06.17", "a.txt~", "notes.tar.xz"]
    assert [file_extension(n) for n in names] == [".warc.gz", ".pdf", "(none)", "(other)", "(other)", ".tar.xz"]
    summary = Summary("DONE", 1.0, files_skipped=9, skipped_by_suffix={"(none)": 3, ".pdf": 1, ".json": 5})
    assert "documents read    0  (9 other files skipped: .json 5, (none) 3, .pdf 1)" in summary.render("out")
    many = Summary("DONE", 1.0, files_skipped=7, skipped_by_suffix={f".e{k}": 1 for k in range(7)})
    assert many.skipped_text() == "7 other files skipped: .e0 1, .e1 1, .e2 1, .e3 1, .e4 1, 2 more"


def test_the_counted_extractors_are_the_ones_the_tables_name(run_pipeline, tmp_path):
    """'extracted by' from the counters says what a summary read back from
    the tables says (a replay prints the latter)."""
    import shutil

    folder = tmp_path / "in"
    shutil.copytree(SEEDS, folder)
    (folder / "page.html").write_text(
        "<html><head><title>Talks resume</title></head><body><article><h1>Talks resume</h1>"
        + "".join(
            f"<p>Negotiators met for the {n}th time in Geneva to discuss the ceasefire and prisoners.</p>"
            for n in range(4, 10)
        )
        + "</article></body></html>",
        encoding="utf-8",
    )
    summary, out = run_pipeline(folder)
    assert summary.balanced and summary.documents_in == 6
    assert summary.extracted_by == {"text-cleaner": 5, "trafilatura": 1}
    read_back = summarize_tables(str(out), summary.documents_in, summary.state, summary.elapsed_seconds, 0)
    assert read_back.extracted_by == summary.extracted_by
