"""Shared fixtures: paths to the project's seeds and test data, and a helper
that runs the real pipeline and reads its Parquet back."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
PINNED_INGEST = "2026-01-01T00:00:00Z"


def read_table(out: Path, table: str = "articles") -> pa.Table:
    """A table written by the pipeline, read back with pyarrow (Hive partitions)."""
    return ds.dataset(out / table, format="parquet", partitioning="hive").to_table()


def rows_by_doc_id(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: r["doc_id"])


@pytest.fixture(scope="package", autouse=True)
def _temp_files_under_pytest(tmp_path_factory):
    """Beam makes a temp folder for every Pipeline it builds and removes it
    only when the pipeline runs; the graph tests build pipelines they never
    run.  Their folders go under pytest's temp root, which pytest prunes,
    instead of piling up in /tmp."""
    before = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tempfile"))
    yield
    tempfile.tempdir = before


@pytest.fixture
def site():
    """A real HTTP server on 127.0.0.1 serving feeds and pages (tests.feedsite.Site)."""
    from pytest_httpserver import HTTPServer

    from tests.feedsite import Site

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield Site(server)
    server.clear()
    server.stop()


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A private copy of seeds/ (with its manifest) that a test may change."""
    dest = tmp_path / "seeds"
    shutil.copytree(SEEDS, dest)
    return dest


@pytest.fixture
def run_pipeline(tmp_path: Path):
    """Run the whole pipeline through ``pipeline.run.run`` with pinned ingest time."""
    from pipeline.run import run

    counter = iter(range(1000))

    def _run(input_path: Path | str, *extra: str, output: Path | None = None):
        out = output or tmp_path / f"out{next(counter)}"
        summary = run(["--input", str(input_path), "--output", str(out), "--ingested_at", PINNED_INGEST, *extra])
        return summary, out

    return _run
