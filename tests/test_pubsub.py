"""Pub/Sub end to end against the local emulator: a streaming job reads a
subscription, ``newsbeam publish`` sends it the seeds (and one message is
only a URL, fetched from a local HTTP server), and the articles land in
Parquet with the doc_ids, story_ids and topics of the batch run.  The
seeds are published twice, as a redelivering publisher would: each second
message is a ``same_url`` copy, nothing vanishes.  Skips only where
``gcloud`` is not installed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from pytest_httpserver import HTTPServer
from werkzeug import Response

from pipeline import publish
from pipeline.graph import build_pipeline
from tests.conftest import PINNED_INGEST, SEEDS, read_table, rows_by_doc_id
from tests.feedsite import seed_articles, seed_page
from transforms.core.records import DocMeta
from transforms.pubsub import MessageToDocumentFn, message_kind

PROJECT = "newsbeam-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        pytest.skip("gcloud is not installed, so the Pub/Sub emulator cannot be started")
    port = _free_port()
    log = tmp_path_factory.mktemp("pubsub") / "emulator.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [gcloud, "beta", "emulators", "pubsub", "start", f"--host-port=127.0.0.1:{port}",
             f"--project={PROJECT}", f"--data-dir={log.parent}"],
            stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the Pub/Sub emulator did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _landed(out: Path) -> int:
    rows = 0
    for table in ("articles", "duplicates", "rejects"):
        if list((out / table).rglob("*.parquet")) if (out / table).exists() else []:
            rows += read_table(out, table).num_rows
    return rows


def _wait_for_rows(out: Path, n: int, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and _landed(out) < n:
        time.sleep(1)


def test_streaming_job_reads_what_newsbeam_publish_sends(emulator, monkeypatch, tmp_path, run_pipeline):
    from google.cloud import pubsub_v1

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator)
    topic = f"projects/{PROJECT}/topics/articles"
    subscription = f"projects/{PROJECT}/subscriptions/newsbeam"
    publisher = pubsub_v1.PublisherClient()
    publisher.create_topic(name=topic)
    pubsub_v1.SubscriberClient().create_subscription(name=subscription, topic=topic)

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    _, title, body, published = seed_articles()[0]
    server.expect_request("/robots.txt").respond_with_response(Response("", status=404))
    server.expect_request("/story.html").respond_with_response(
        Response(seed_page(title, body), content_type="text/html; charset=utf-8")
    )
    out = tmp_path / "stream"
    # The seeds are from 2020-2023: late by years for a job reading them now.
    options = PipelineOptions([
        "--input_subscription", subscription, "--streaming", "--output", str(out),
        "--allowed_lateness_hours", "100000", "--allow_networks", "127.0.0.1/32",
        "--ingested_at", PINNED_INGEST,
    ])  # fmt: skip
    p = beam.Pipeline(options=options)
    build_pipeline(p, options)
    result = p.run()
    try:
        assert publish.main([str(SEEDS), "--topic", topic]) == 0
        url = f"http://127.0.0.1:{server.port}/story.html"
        later = (published + timedelta(hours=1)).isoformat()
        publisher.publish(topic, url.encode(), outlet="Local", published=later).result(timeout=30)
        assert publish.main([str(SEEDS), "--topic", topic]) == 0  # the same messages again
        _wait_for_rows(out, 11)
    finally:
        result.cancel()
        server.stop()

    assert _landed(out) == 11
    assert not (out / "rejects").exists()
    again = [r for r in read_table(out, "duplicates").to_pylist() if r["duplicate_kind"] == "same_url"]
    assert len(again) == 5 and all(r["doc_id"] != r["duplicate_of"] for r in again)
    firsts = {r["doc_id"]: r for r in read_table(out).to_pylist()}
    assert all(firsts[r["duplicate_of"]]["text"] == r["text"] for r in again)
    streamed = {r["doc_id"]: r for r in read_table(out).to_pylist() + read_table(out, "duplicates").to_pylist()}
    fetched = [r for r in streamed.values() if r["url"] == url]
    assert (
        len(fetched) == 1
        and fetched[0]["outlet"] == "Local"
        and fetched[0]["event_time"] == published + timedelta(hours=1)
    )
    _, batch_out = run_pipeline(SEEDS)
    batch = rows_by_doc_id(read_table(batch_out))
    assert len(batch) == 5
    for row in batch:
        mine = streamed[row["doc_id"]]
        for column in ("story_id", "topics", "primary_topic", "text", "title", "event_time", "lang", "outlet"):
            assert mine[column] == row[column], column
        assert mine["source_uri"].startswith(subscription + "#")
    # The fetched page repeats seed 0's text an hour later: a copy of it.
    seed0 = next(r for r in batch if r["source_uri"].endswith(seed_articles()[0][0] + ".txt"))
    assert fetched[0]["story_id"] == seed0["doc_id"]


def _process(message) -> list:
    fn = MessageToDocumentFn("projects/p/subscriptions/s", max_bytes=1000)
    fn.setup()
    return list(fn.process(message))


def test_messages_become_documents_fetches_or_rejects():
    from apache_beam.io.gcp.pubsub import PubsubMessage

    assert message_kind(b"https://example.org/a", None) == "url"
    assert message_kind(b"  <html><body>x", None) == "html"
    assert message_kind(b"plain words", None) == "text"
    assert message_kind(b"x", "pdf") is None
    (doc,) = _process(PubsubMessage(b"<html>x</html>", {"url": "https://e.org/a", "published": "2020-11-09T12:00:00Z",
                                                        "path": "a.html"}, message_id="7"))  # fmt: skip
    assert doc.kind == "html" and doc.rel_path == "a.html" and doc.source_uri.endswith("#7")
    assert doc.meta == DocMeta(url="https://e.org/a", published=doc.meta.published) and doc.meta.published.year == 2020
    (fetch,) = _process(PubsubMessage(b"https://e.org/b\n", {}))
    assert fetch.tag == "urls" and fetch.value[0] == "e.org" and fetch.value[1].link == "https://e.org/b"
    reasons = [out.value.reason for m in (PubsubMessage(b"  ", {}), PubsubMessage(b"x" * 1001, {}),
                                          PubsubMessage(b"x", {"kind": "pdf"})) for out in _process(m)]  # fmt: skip
    assert reasons == ["empty", "too_large", "bad_message"]


def test_publish_sends_each_jsonl_record_and_the_job_reads_it_as_a_batch_run_does(tmp_path, run_pipeline):
    """A folder with a ``.jsonl`` file: one message per record (a bad line
    too), and each message becomes the document, or the reject, that the
    batch run of the folder makes of that record."""
    import json

    from apache_beam.io.gcp.pubsub import PubsubMessage

    folder = tmp_path / "in"
    folder.mkdir()
    seeds = seed_articles()[:2]
    lines = [json.dumps({"url": f"https://e.org/{slug}", "title": title, "text": body, "source": "E",
                         "published": published.isoformat()}, ensure_ascii=False)
             for slug, title, body, published in reversed(seeds)]  # fmt: skip
    lines.insert(1, '{"url": "https://e.org/broken", "text": ')
    (folder / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "story.txt").write_text(seed_articles()[2][2], encoding="utf-8")
    assert message_kind(b' {"url": "https://e.org/x"}', None) == "jsonl"
    batch = publish.messages(str(folder))
    assert len(batch) == 4 and [a["kind"] for _, a in batch].count("jsonl") == 3
    # Oldest first: the records are listed newest first in the file.
    jsonl = [a for _, a in batch if a["kind"] == "jsonl" and "published" in a]
    assert [a["path"] for a in jsonl] == ["records.jsonl#L3", "records.jsonl#L1"]
    fn = MessageToDocumentFn("projects/p/subscriptions/s", max_bytes=100_000)
    fn.setup()
    outs = [out for data, attrs in batch if attrs["kind"] == "jsonl" for out in fn.process(PubsubMessage(data, attrs))]
    docs = [o for o in outs if not hasattr(o, "tag")]
    (reject,) = [o.value for o in outs if hasattr(o, "tag")]
    assert reject.reason == "bad_json"
    summary, out = run_pipeline(folder)
    assert summary.balanced and summary.documents_in == 4
    articles = {r["url"]: r for r in read_table(out).to_pylist()}
    (batch_reject,) = read_table(out, "rejects").to_pylist()
    assert batch_reject["reason"] == reject.reason and batch_reject["stage"] == "read" and reject.stage == "pubsub"
    assert sorted(d.meta.url for d in docs) == sorted(u for u in articles if u and u.startswith("https://e.org/"))
    for doc in docs:
        row = articles[doc.meta.url]
        assert (doc.meta.title, doc.meta.outlet, doc.meta.published) == (
            row["title"],
            row["outlet"],
            row["published_at"],
        )
        assert row["text"].split("\n")[0] in doc.text and doc.rel_path.startswith("records.jsonl#L")
