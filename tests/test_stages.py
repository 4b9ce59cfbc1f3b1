"""The Beam stages on real files, run in TestPipeline and checked with assert_that."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime

import apache_beam as beam
import pytest
from apache_beam import Map
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.conftest import ROOT, SEEDS
from tests.inputs import EXPECTED_ARTICLES, EXPECTED_RECORDS, EXPECTED_REJECTS, MAX_BYTES, make_mixed_inputs
from transforms.common import (
    DOCUMENTS_IN,
    NAMESPACE,
    REJECTS,
    STAGE_TIME_PREFIX,
    Rejects,
    StageDoFn,
    timed_stage,
)
from transforms.extract import ExtractArticles
from transforms.language import DetectLanguage
from transforms.read import ReadDocuments
from transforms.shutdown import SDK_WORKER_MAIN

INGEST = datetime(2026, 1, 1, tzinfo=UTC)


def _stages(p, pattern, root, manifest=None):
    read = p | "Read" >> ReadDocuments(
        pattern,
        root,
        max_bytes=MAX_BYTES,
        manifest_path=manifest and str(manifest),
        manifest_dir=manifest and str(manifest.parent),
        manifest_header=manifest and manifest.read_text(encoding="utf-8").splitlines()[0],
    )
    extracted = read["documents"] | "Extract" >> ExtractArticles(min_chars=200, ingested_at=INGEST)
    articles = extracted["articles"] | "Language" >> DetectLanguage()
    return read, extracted, articles


def test_every_bad_input_is_a_reject_with_stage_and_reason(tmp_path):
    folder = make_mixed_inputs(tmp_path / "in")
    p = TestPipeline()
    read, extracted, articles = _stages(p, f"{folder}/**", str(folder))
    rejects = (read["rejects"], extracted["rejects"]) | "All" >> beam.Flatten()
    assert_that(rejects | "Reasons" >> Map(lambda r: (r.stage, r.reason)), equal_to(EXPECTED_REJECTS), label="Rejects")
    assert_that(articles | "Count" >> Map(lambda a: a["lang"]), equal_to(["ar"] * EXPECTED_ARTICLES), label="Arts")
    result = p.run()
    result.wait_until_finish()
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    documents_in = sum(c.committed for c in counters if c.key.metric.name == DOCUMENTS_IN)
    assert documents_in == EXPECTED_RECORDS


def test_rejects_carry_source_detail_and_first_bytes(tmp_path):
    folder = make_mixed_inputs(tmp_path / "in")
    with TestPipeline() as p:
        read, _, _ = _stages(p, f"{folder}/picture.html", str(folder))
        assert_that(
            read["rejects"] | Map(lambda r: (r.source_uri.endswith("picture.html"), r.head[:4], bool(r.detail))),
            equal_to([(True, b"\x89PNG", True)]),
        )


def test_seeds_get_manifest_metadata_and_event_timestamps():
    with TestPipeline() as p:
        _, _, articles = _stages(p, f"{SEEDS}/**", str(SEEDS), SEEDS / "manifest.csv")

        def timestamped(article, ts=beam.DoFn.TimestampParam):
            return article["doc_id"], float(ts), article["event_time"].timestamp(), article["event_time_source"]

        rows = articles | Map(timestamped)
        assert_that(rows | "Sources" >> Map(lambda r: (r[1] == r[2], r[3])), equal_to([(True, "published")] * 5))


def test_a_feed_summary_stands_in_when_the_page_yields_less():
    """A feed entry's page that is only chrome: its summary (long enough)
    becomes the text; a page longer than its summary keeps its own text;
    a chrome page with a short summary is still a reject."""
    from transforms.core.records import DecodedDocument, DocMeta

    summary = "ملخص الخبر من الخلاصة: " + "أعلنت وزارة الدفاع الأذربيجانية اليوم عن تقدم قواتها في الإقليم. " * 5
    chrome = "<html><body><nav>الرئيسية</nav><footer>جميع الحقوق محفوظة</footer></body></html>"
    body = "".join(f"<p>{summary} فقرة {n}.</p>" for n in range(4))
    full = f"<html><body><article><h1>عنوان</h1>{body}</article></body></html>"

    def doc(uri: str, html: str, text: str | None) -> DecodedDocument:
        meta = DocMeta(url=f"https://n.example/{uri}", title="عنوان", summary=text)
        return DecodedDocument(uri, "html", html, "utf-8", meta, None, None, len(html))

    with TestPipeline() as p:
        docs = p | beam.Create(
            [doc("chrome", chrome, summary), doc("full", full, summary), doc("short", chrome, "قصير")]
        )
        out = docs | ExtractArticles(min_chars=200, ingested_at=INGEST)
        assert_that(
            out["articles"] | Map(lambda a: (a["source_uri"], a["extractor"], a["text"] == summary)),
            equal_to([("chrome", "feed-summary", True), ("full", "trafilatura", False)]),
            label="articles",
        )
        assert_that(out["rejects"] | "R" >> Map(lambda r: (r.source_uri, r.stage)), equal_to([("short", "extract")]),
                    label="rejects")  # fmt: skip


class _SlowToMake(StageDoFn):
    """Takes 50 ms to make each of its three outputs."""

    STAGE = "probe"

    @timed_stage
    def process(self, n: int):
        for k in range(3):
            time.sleep(0.05)
            yield (n, k)


class _WithParams(StageDoFn):
    """A timed stage that takes what Beam fills in by signature: the element's
    timestamp and a side input; rejects odd numbers."""

    STAGE = "probe_params"

    def setup(self) -> None:
        super().setup()
        self._rejects = Rejects("probe")

    @timed_stage
    def process(self, n: int, offset: int, ts=beam.DoFn.TimestampParam):
        if n % 2:
            yield self._rejects.emit(f"n{n}", "odd", f"{n} is odd", b"x" * n)
            return
        yield (n + offset, ts.micros // 1_000_000)


def test_a_timed_stage_keeps_the_parameters_beam_fills_in_and_counts_its_rejects():
    p = TestPipeline()
    numbers = p | beam.Create([2, 3, 4]) | "Stamp" >> Map(lambda n: beam.window.TimestampedValue(n, n * 10))
    offset = p | "Offset" >> beam.Create([100])
    out = numbers | beam.ParDo(_WithParams(), beam.pvalue.AsSingleton(offset)).with_outputs(REJECTS, main="kept")
    assert_that(out.kept, equal_to([(102, 20), (104, 40)]), label="kept")
    rows = out[REJECTS] | Map(lambda r: (r.source_uri, r.stage, r.reason, r.head, r.size_bytes))
    assert_that(rows, equal_to([("n3", "probe", "odd", b"xxx", 3)]), label="rejects")
    result = p.run()
    result.wait_until_finish()
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    }
    assert counters["rejects.probe.odd"] == 1
    assert STAGE_TIME_PREFIX + "probe_params" in counters


def test_a_reject_is_sized_by_its_data_unless_told():
    rejects = Rejects("read")
    assert rejects.emit("a", "empty", "nothing").value.size_bytes is None
    assert rejects.emit("b", "too_large", "big", b"12345", "http://x").value.size_bytes == 5
    told = rejects.emit("c", "late", "late", "text", size=9).value
    assert (told.stage, told.head, told.url, told.size_bytes) == ("read", b"text", None, 9)


def test_a_stage_clock_counts_its_own_work_not_the_steps_fused_after_it():
    p = TestPipeline()
    made = p | beam.Create([1]) | beam.ParDo(_SlowToMake())
    _ = made | "SlowConsumer" >> Map(lambda x: time.sleep(0.2))
    result = p.run()
    result.wait_until_finish()
    (probe,) = result.metrics().query(MetricsFilter().with_name(STAGE_TIME_PREFIX + "probe"))["counters"]
    seconds = probe.committed / 1e6
    # 3 x 50 ms of its own; the 3 x 200 ms the consumer takes while it waits at a yield are not its.
    assert 0.15 <= seconds < 0.45, seconds


# How each stage with heavy state is made, in a fresh interpreter.
_HEAVY_STAGES = {
    "extract": "from transforms.extract import ExtractFn; "
               "fn = ExtractFn(min_chars=200, ingested_at=datetime(2026, 1, 1, tzinfo=UTC))",
    "language": "from transforms.language import DetectLanguageFn; from transforms.core.params import LanguageParams; "
                "fn = DetectLanguageFn(LanguageParams(prefix_chars=2000))",
    "topics": "from transforms.topics import TagTopicsFn; from transforms.core.topics import ScoringParams; "
              "from transforms.core.taxonomy import packaged_taxonomy_text; "
              "fn = TagTopicsFn(packaged_taxonomy_text(), ScoringParams())",
}  # fmt: skip


def _frozen_at_exit(stage: str, as_worker: bool) -> int:
    """Set ``stage`` up in a fresh interpreter; how many objects are frozen
    when the interpreter's last collection would run."""
    # atexit runs handlers last-registered first: this probe, registered
    # before setup(), sees what that collection faces.
    pose = f"sys.modules['__main__'].__spec__ = importlib.util.find_spec({SDK_WORKER_MAIN!r})" if as_worker else ""
    script = textwrap.dedent(f"""
        import atexit, gc, importlib.util, sys
        from datetime import UTC, datetime
        {pose}
        atexit.register(lambda: print("frozen", gc.get_freeze_count()))
        {_HEAVY_STAGES[stage]}
        fn.setup()
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return int(out.stdout.split("frozen")[-1])


@pytest.mark.parametrize("stage", sorted(_HEAVY_STAGES))
def test_a_beam_worker_that_set_up_a_heavy_stage_exits_without_the_last_collection(stage):
    # The interpreter poses as the harness Beam starts (python -m SDK_WORKER_MAIN).
    assert _frozen_at_exit(stage, as_worker=True) > 100_000  # the whole heap, not a few objects


def test_any_other_process_keeps_its_last_collection():
    assert _frozen_at_exit("language", as_worker=False) == 0
