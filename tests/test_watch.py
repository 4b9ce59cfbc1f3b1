"""Watching a folder: files that appear while the job runs are read once,
when first listed, and deduplicated against what came before; the endless
form is MatchContinuously, for streaming runners."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.direct.direct_runner import DirectRunner

from pipeline.graph import build_pipeline
from pipeline.run import run
from tests.conftest import read_table
from tests.inputs import SEED_000, SEED_001

POLL_SECONDS = 2.0


class _FirstListing(logging.Handler):
    """Sets ``done`` once the watch logs its first listing."""

    def __init__(self) -> None:
        super().__init__()
        self.done = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("watch: listing 1/"):
            self.done.set()


def _add_files_after_first_listing(folder: Path, listed: threading.Event, failures: list[str]) -> None:
    if not listed.wait(120):
        failures.append("the watch never logged its first listing")
        return
    # A rerun of a.txt's story with a new header line and its last paragraph cut.
    body = SEED_000.strip().split("\n")
    (folder / "c-copy.txt").write_text("\n".join(["نشر مجددا", *body[:-1]]), encoding="utf-8")
    (folder / "b.txt").write_text(SEED_001, encoding="utf-8")
    (folder / "broken.txt").write_bytes(b"  \n")
    (folder / "gone.html").symlink_to(folder / "nowhere.html")
    # Half-written files carry another name until they are complete.
    (folder / ".d.txt.part").write_text(SEED_001, encoding="utf-8")


def test_files_added_during_a_watch_are_read_once_and_deduplicated(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.txt").write_text(SEED_000, encoding="utf-8")
    out = tmp_path / "out"
    handler = _FirstListing()
    logger = logging.getLogger("transforms.read")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    failures: list[str] = []
    writer = threading.Thread(target=_add_files_after_first_listing, args=(folder, handler.done, failures))
    writer.start()
    try:
        summary = run(
            ["--input", str(folder), "--output", str(out), "--streaming", "--polls", "4",
             "--poll_seconds", str(POLL_SECONDS)]
        )  # fmt: skip
    finally:
        writer.join()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert not failures, failures
    assert summary.state == "DONE" and summary.balanced

    articles = {Path(r["source_uri"]).name: r for r in read_table(out).to_pylist()}
    duplicates = {Path(r["source_uri"]).name: r for r in read_table(out, "duplicates").to_pylist()}
    rejects = {Path(r["source_uri"]).name: r for r in read_table(out, "rejects").to_pylist()}
    # Four listings, and every file exactly once: no re-reads of what was seen.
    assert sorted(articles) == ["a.txt", "b.txt"]
    assert sorted(duplicates) == ["c-copy.txt"]
    assert sorted(rejects) == ["broken.txt", "gone.html"]
    assert (rejects["broken.txt"]["stage"], rejects["broken.txt"]["reason"]) == ("read", "empty")
    assert (rejects["gone.html"]["stage"], rejects["gone.html"]["reason"]) == ("read", "broken_symlink")
    assert summary.documents_in == 5
    # The copy found later joins the story of the file that was there first.
    assert duplicates["c-copy.txt"]["story_id"] == articles["a.txt"]["story_id"]
    # Arrival is when a listing found the file: the later files on a later listing.
    first = articles["a.txt"]["ingested_at"]
    for later in (articles["b.txt"], duplicates["c-copy.txt"]):
        assert (later["ingested_at"] - first).total_seconds() >= POLL_SECONDS * 0.9


def _graph(tmp_path: Path, *flags: str) -> beam.Pipeline:
    options = PipelineOptions(["--output", str(tmp_path / "out"), *flags])
    p = beam.Pipeline(runner=DirectRunner(), options=options)
    build_pipeline(p, options)
    return p


def _watch_output(p: beam.Pipeline) -> str:
    """Whether the Read/Watch step's output is BOUNDED or UNBOUNDED."""
    proto = p.to_runner_api()
    watch = next(t for t in proto.components.transforms.values() if t.unique_name == "Read/Watch")
    (pcoll,) = watch.outputs.values()
    return beam_runner_api_pb2.IsBounded.Enum.Name(proto.components.pcollections[pcoll].is_bounded)


def test_an_endless_watch_is_match_continuously_on_streaming_runners(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()  # empty: a watch may start before the first file
    # On Dataflow the watched folder is a bucket's; a dry run lists nothing, so no credentials are needed.
    dataflow = [
        "--runner", "DataflowRunner", "--project", "newsbeam-demo", "--region", "europe-west1", "--dry_run=True",
        "--temp_location", "gs://newsbeam-demo-bucket/tmp", "--setup_file", "setup.py", "--streaming",
        "--input", "gs://newsbeam-demo-bucket/inbox/", "--output", "gs://newsbeam-demo-bucket/out",
    ]  # fmt: skip
    options = PipelineOptions(dataflow)
    endless = beam.Pipeline(runner=DirectRunner(), options=options)
    build_pipeline(endless, options)
    assert _watch_output(endless) == "UNBOUNDED"
    # A bounded watch is a bounded step, which the local runners can run.
    bounded = _graph(tmp_path, "--input", str(folder), "--streaming", "--polls", "3")
    assert _watch_output(bounded) == "BOUNDED"
    # A glob inside an existing folder can be watched too.
    globbed = _graph(tmp_path, "--input", f"{folder}/*.html", "--streaming", "--polls", "3")
    assert _watch_output(globbed) == "BOUNDED"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--streaming"], "--polls N"),
        (["--streaming", "--runner", "DirectRunner"], "--polls N"),
        (["--polls", "2", "--input", "{missing}"], "not a folder"),
        (["--polls", "2", "--input", "{missing}/*.html"], "not a folder"),
        (["--once"], "--once only applies to --feeds"),
    ],
)
def test_a_watch_that_cannot_run_is_refused_when_the_graph_is_built(tmp_path, flags, message):
    folder = tmp_path / "inbox"
    folder.mkdir()
    flags = [f.format(missing=tmp_path / "missing") for f in flags]
    if "--input" not in flags:
        flags = ["--input", str(folder), *flags]
    with pytest.raises(ValueError, match=message):
        _graph(tmp_path, *flags)
