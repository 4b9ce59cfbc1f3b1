"""The whole pipeline, as `newsbeam run` runs it, with its Parquet read back
by pyarrow and DuckDB."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from tests.conftest import DATA, PINNED_INGEST, SEEDS, read_table, rows_by_doc_id
from tests.core.test_textclean import CHROME
from tests.inputs import EXPECTED_ARTICLES, EXPECTED_RECORDS, EXPECTED_REJECTS, MAX_BYTES, SEED_002, make_mixed_inputs
from transforms.core.manifest import parse_manifest

MANIFEST = parse_manifest((SEEDS / "manifest.csv").read_text(encoding="utf-8"))


def duck_count(path) -> int:
    query = f"SELECT count(*) FROM read_parquet('{path}/**/*.parquet', hive_partitioning=true)"
    return duckdb.connect().execute(query).fetchone()[0]


def test_seeds_land_as_five_arabic_articles_with_manifest_event_times(run_pipeline):
    summary, out = run_pipeline(SEEDS)
    assert summary.balanced and summary.articles == 5 and summary.rejects == 0
    assert duck_count(out / "articles") == 5
    assert duck_count(out / "rejects") == 0  # an empty table, not a missing folder
    rows = read_table(out).to_pylist()
    by_file = {r["source_uri"].rsplit("/", 1)[1]: r for r in rows}
    assert sorted(by_file) == sorted(MANIFEST)
    for name, row in by_file.items():
        meta = MANIFEST[name]
        assert row["lang"] == "ar" and row["lang_prob"] > 0.99
        assert row["event_time"] == meta.published and row["event_time_source"] == "published"
        assert str(row["date"]) == meta.published.date().isoformat()  # the Hive partition
        assert row["outlet"] == meta.outlet
        assert row["extractor"] == "text-cleaner" and row["word_count"] > 300
        for chrome in CHROME[name]:
            assert chrome not in row["text"] and chrome not in row["title"]


def test_duckdb_reads_partitions_and_types(run_pipeline):
    _, out = run_pipeline(SEEDS)
    con = duckdb.connect()
    days = con.execute(
        f"SELECT date::VARCHAR, count(*) FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning=true) "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert days == [("2020-10-20", 1), ("2020-11-05", 1), ("2020-11-09", 2), ("2023-09-19", 1)]
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{out}/articles/**/*.parquet')").fetchall()
    types = {name: type_ for name, type_, *_ in described}
    assert types["event_time"] == "TIMESTAMP WITH TIME ZONE" and types["word_count"] == "INTEGER"


def test_every_reject_reason_lands_in_rejects_and_records_balance(run_pipeline, tmp_path):
    folder = make_mixed_inputs(tmp_path / "mixed")
    summary, out = run_pipeline(folder, "--max_bytes", str(MAX_BYTES))
    assert summary.documents_in == EXPECTED_RECORDS
    assert summary.articles == EXPECTED_ARTICLES and summary.rejects == len(EXPECTED_REJECTS)
    assert summary.balanced
    rejects = read_table(out, "rejects").to_pylist()
    assert sorted((r["stage"], r["reason"]) for r in rejects) == EXPECTED_REJECTS
    assert all(r["source_uri"] and r["detail"] for r in rejects)
    assert duck_count(out / "rejects") == len(rejects)
    assert sum(summary.rejects_by_reason.values()) == len(EXPECTED_REJECTS)


def test_jsonl_record_with_a_lone_surrogate_is_written(run_pipeline, tmp_path):
    folder = make_mixed_inputs(tmp_path / "mixed")
    _, out = run_pipeline(folder, "--max_bytes", str(MAX_BYTES))
    (row,) = [r for r in read_table(out).to_pylist() if r["url"] == "https://example.org/ar/3"]
    assert row["text"].endswith("\ufffd") and row["source_uri"].endswith("records.jsonl#L7")


def test_windows_1256_page_decodes_to_the_seed_text(run_pipeline, tmp_path):
    folder = make_mixed_inputs(tmp_path / "mixed")
    _, out = run_pipeline(folder, "--max_bytes", str(MAX_BYTES))
    (row,) = [r for r in read_table(out).to_pylist() if r["source_uri"].endswith("arabic-1256.html")]
    assert row["encoding"] == "cp1256" and row["lang"] == "ar"
    paragraph = "وتجدر الإشارة إلى أن مدينة شوشا، تقع على بعد عشرة كيلومترات فقط، عن مدينة ستيبانكيرت."
    assert paragraph in SEED_002 and paragraph in row["text"]


def test_real_pages_extract_body_without_navigation(run_pipeline):
    expected = json.loads((DATA / "pages" / "expected.json").read_text(encoding="utf-8"))
    summary, out = run_pipeline(DATA / "pages")
    assert summary.articles == len(expected) and summary.rejects == 0
    rows = {r["source_uri"].rsplit("/", 1)[1]: r for r in read_table(out).to_pylist()}
    for name, page in expected.items():
        row = rows[name]
        assert all(s in row["text"] for s in page["with"])
        assert not any(s in row["text"] for s in page["without"])
        assert row["extractor"] == "trafilatura"
        assert row["lang"] == ("ar" if "assabah" in name else "en")
        assert row["event_time_source"] == "published"  # from the page's own metadata


def _files(table) -> dict[str, bytes]:
    return {str(p.relative_to(table)): p.read_bytes() for p in sorted(table.rglob("*.parquet"))}


def test_two_runs_give_identical_rows(run_pipeline):
    _, out1 = run_pipeline(SEEDS)
    _, out2 = run_pipeline(SEEDS)
    assert rows_by_doc_id(read_table(out1)) == rows_by_doc_id(read_table(out2))


def test_doc_ids_do_not_depend_on_where_the_input_lives(run_pipeline, seeds_copy):
    _, out1 = run_pipeline(SEEDS)
    _, out2 = run_pipeline(seeds_copy)
    assert [r["doc_id"] for r in rows_by_doc_id(read_table(out1))] == [
        r["doc_id"] for r in rows_by_doc_id(read_table(out2))
    ]


def test_multi_worker_run_gives_the_same_rows(run_pipeline, tmp_path):
    folder = make_mixed_inputs(tmp_path / "mixed")
    shutil.copytree(SEEDS, folder / "seeds")
    _, single = run_pipeline(folder, "--max_bytes", str(MAX_BYTES))
    summary, multi = run_pipeline(
        folder,
        "--max_bytes",
        str(MAX_BYTES),
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
    )
    # The mixed folder holds copies of seeds: they are the same stories.
    assert summary.balanced and summary.articles + summary.duplicates == EXPECTED_ARTICLES + 5
    assert summary.duplicates >= 2
    for table in ("articles", "duplicates"):
        assert rows_by_doc_id(read_table(single, table)) == rows_by_doc_id(read_table(multi, table))
        # Down to the files: one per partition, the same bytes.
        assert _files(single / table) == _files(multi / table)
    key = lambda r: (r["source_uri"], r["reason"])  # noqa: E731
    assert sorted(read_table(single, "rejects").to_pylist(), key=key) == sorted(
        read_table(multi, "rejects").to_pylist(), key=key
    )


def test_non_empty_output_is_refused_unless_overwrite(run_pipeline, tmp_path):
    out = tmp_path / "out"
    run_pipeline(SEEDS, output=out)
    with pytest.raises(ValueError, match="--output"):
        run_pipeline(SEEDS, output=out)
    summary, _ = run_pipeline(SEEDS, "--overwrite", output=out)
    assert summary.articles == 5
    assert duck_count(out / "articles") == 5  # replaced, not appended


def test_summary_is_written_next_to_the_tables(run_pipeline):
    _, out = run_pipeline(SEEDS)
    saved = json.loads((out / "_summary.json").read_text())
    assert saved["articles"] == 5 and saved["languages"] == {"ar": 5}
    # Every stage's own time is counted, for `make bench` and the Dataflow UI.
    assert set(saved["stage_seconds"]) == {"read", "extract", "language", "topics", "agencies", "dedup", "write"}
    assert not (out / ".newsbeam-tmp").exists()  # temporary files cleaned up
    assert PINNED_INGEST.startswith(str(read_table(out).column("ingested_at")[0].as_py().date()))
