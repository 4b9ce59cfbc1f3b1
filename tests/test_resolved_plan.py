"""The resolve step turns flags and files into one frozen RunPlan, checked,
without a Beam pipeline; wiring builds the graph from that plan alone; the
parameter sets are the one source of their flags, defaults and checks."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime

import apache_beam as beam
import pytest
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import run as run_module
from pipeline.graph import wire
from pipeline.options import FLAG_GROUPS, flag_parser
from pipeline.resolve import FeedsSource, FilesSource, InputPlan, Manifest, resolve
from pipeline.template import template_parameters
from tests.conftest import PINNED_INGEST
from transforms.core.fetch import FetchPolicy
from transforms.core.overlap import CopyRule
from transforms.core.params import DedupParams, LanguageParams, Params, ScoringParams, add_flags
from transforms.core.taxonomy import packaged_taxonomy_text
from transforms.dedup import Deduplicate

HEADER = "file,outlet,url,published,lang"
PAGE = "<html><head><title>T</title></head><body><p>text</p></body></html>"


@pytest.fixture
def folder(tmp_path):
    """An input folder with one page and its manifest."""
    docs = tmp_path / "in"
    docs.mkdir()
    (docs / "a.html").write_text(PAGE, encoding="utf-8")
    (docs / "manifest.csv").write_text(f"{HEADER}\na.html,Outlet,https://news.example/a,,en\n", encoding="utf-8")
    return docs


def _resolve(tmp_path, *flags: str, source_given: bool = False):
    return resolve(PipelineOptions(["--output", str(tmp_path / "out"), *flags]), source_given=source_given)


def test_the_input_folder_and_its_manifest_are_resolved_into_dataclasses(tmp_path, folder):
    plan = _resolve(tmp_path, "--input", str(folder))
    source = plan.source
    assert isinstance(source, FilesSource)
    assert source.input == InputPlan(pattern=f"{folder}/**", root=str(folder), matched=2)
    assert source.manifest == Manifest(path=f"{folder}/manifest.csv", folder=str(folder), header=HEADER, rows=1)
    assert source.expected_files == 2 and source.watch is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.source = None  # type: ignore[misc]
    assert _resolve(tmp_path, "--input", str(folder), "--manifest", "none").source.manifest is None


def test_a_manifest_without_a_file_column_is_refused_at_resolve(tmp_path, folder):
    (folder / "manifest.csv").write_text("name,url\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"--manifest .*manifest.csv.*lacks column"):
        _resolve(tmp_path, "--input", str(folder))


def test_parameter_sets_come_from_their_flags(tmp_path, folder):
    plan = _resolve(
        tmp_path, "--input", str(folder), "--dedup_containment", "0.5", "--dedup_lead", "0.3", "--dedup_horizon_days", "0.5",
        "--no_dedup", "--topic_min_score", "5", "--lang_seed", "7", "--min_chars", "20",
    )  # fmt: skip
    assert plan.dedup == DedupParams(containment=0.5, lead=0.3, horizon_days=0.5)
    assert plan.deduplicate is False
    dedup = Deduplicate(plan.dedup, lateness_seconds=plan.timing.lateness_seconds)
    assert dedup.rule == CopyRule(containment=0.5, lead=0.3, anywhere=0.6)
    assert dedup.horizon_us == 43_200 * 1_000_000 and dedup.keep_us == (43_200 + 24 * 3600) * 1_000_000
    assert plan.topics.scoring == ScoringParams(min_score=5.0)
    assert plan.language == LanguageParams(seed=7)
    assert plan.extraction.min_chars == 20 and plan.extraction.favor_precision is False
    assert plan.topics.taxonomy_text == packaged_taxonomy_text()  # no --taxonomy: the packaged one


def test_a_copy_rule_that_contradicts_itself_is_refused_naming_the_flags(tmp_path, folder):
    message = "--dedup_containment_anywhere (0.5) must not be below --dedup_containment (0.7)"
    with pytest.raises(ValueError) as refused:
        _resolve(tmp_path, "--input", str(folder), "--dedup_containment", "0.7", "--dedup_containment_anywhere", "0.5")
    assert str(refused.value) == message
    with pytest.raises(ValueError) as constructed:
        DedupParams(containment=0.7, containment_anywhere=0.5)  # the dataclass itself refuses it, not only the flags
    assert str(constructed.value) == message
    assert DedupParams(containment=0.6).containment_anywhere == 0.6  # equal is allowed


@pytest.mark.parametrize(
    "flags,pinned",
    [
        ([], True),  # batch: every row carries the run's ingest time
        (["--ingested_at", PINNED_INGEST], True),
        (["--streaming", "--polls", "1"], False),  # streaming: each row carries its arrival
        (["--streaming", "--polls", "1", "--ingested_at", PINNED_INGEST], True),
    ],
)
def test_the_pinned_ingest_rule(tmp_path, folder, flags, pinned):
    plan = _resolve(tmp_path, "--input", str(folder), *flags)
    assert plan.output.pinned_ingest is pinned
    assert plan.output.pinned == (plan.output.ingested_at if pinned else None)
    streaming = "--streaming" in flags
    assert plan.timing.streaming is streaming
    if streaming:  # the lateness gate applies the same rule to articles
        assert plan.timing.stream.pinned_ingest is pinned and plan.timing.window is not None
        assert plan.source.watch is not None and plan.source.expected_files is None
    else:
        assert plan.timing.stream is None and plan.timing.window is None
    if "--ingested_at" in flags:
        assert plan.output.ingested_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_output_staging_and_temp(tmp_path, folder):
    options = PipelineOptions(["--input", str(folder), "--output", str(tmp_path / "out"), "--row_group_size", "7"])
    plan = resolve(options, tables_at=str(tmp_path / "out" / ".newsbeam-staging-x"))
    assert plan.output.output == str(tmp_path / "out")
    assert plan.output.tables_at == str(tmp_path / "out" / ".newsbeam-staging-x")
    assert plan.output.temp == str(tmp_path / "out" / ".newsbeam-staging-x" / ".newsbeam-tmp")
    assert plan.output.row_group_size == 7
    assert plan.timing.lateness_seconds == 24 * 3600  # dedup's state waits for late records in batch too


def test_state_in_and_out_and_the_file_names_of_an_append_run(tmp_path, folder):
    out, staging = tmp_path / "out", str(tmp_path / "out" / ".newsbeam-staging-r1")

    def plan(*flags: str):
        options = PipelineOptions(["--input", str(folder), "--output", str(out), *flags])
        return resolve(options, tables_at=staging, run_id="r1").output

    fresh = plan()
    assert (fresh.append, fresh.state_in, fresh.file_name) == (False, None, "part-00000-of-00001.parquet")
    assert fresh.state_out == staging + "/_state" and fresh.run_id == "r1"
    (out / "articles").mkdir(parents=True)
    assert plan("--append").state_in is None  # an output with no state yet
    (out / "_state" / "feeds").mkdir(parents=True)
    appended = plan("--append")
    assert appended.state_in == str(out / "_state") and appended.file_name == "part-r1-00000.parquet"
    assert plan("--overwrite").state_in is None  # starting over reads nothing of the old output


def test_feeds_and_fetch_policy_are_resolved(tmp_path):
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("# news\nhttps://news.example/rss\n", encoding="utf-8")
    plan = _resolve(tmp_path, "--feeds", str(feeds), "--once", "--fetch_retries", "0", "--requests_per_host", "2")
    assert isinstance(plan.source, FeedsSource)
    assert plan.source.urls == ("https://news.example/rss",) and plan.source.polls == 1
    assert plan.source.settings.policy == FetchPolicy(max_retries=0)
    assert plan.source.settings.rate_per_host == 2.0
    # The fetch flags' defaults are FetchPolicy's own.
    defaults = flag_parser().parse_args([])
    assert (defaults.fetch_timeout, defaults.fetch_retries, defaults.fetch_backoff_seconds,
            defaults.fetch_max_redirects) == (FetchPolicy.timeout, FetchPolicy.max_retries,
                                              FetchPolicy.backoff_seconds, FetchPolicy.max_redirects)  # fmt: skip


def test_a_given_source_needs_no_source_flag(tmp_path):
    plan = _resolve(tmp_path, source_given=True)
    assert plan.source is None
    with pytest.raises(ValueError, match="--input is required"):
        _resolve(tmp_path)


@pytest.mark.parametrize("cls", [DedupParams, ScoringParams, LanguageParams])
def test_generated_flags_cover_every_parameter_with_its_default(cls):
    parser = flag_parser()
    actions = {a.dest: a for a in parser._actions}
    hints = typing.get_type_hints(cls)
    flagged = [f for f in dataclasses.fields(cls) if f.name in {"min_score", "min_share"} or cls is not ScoringParams]
    for f in flagged:  # every dedup and language field; the two gates of the topic score
        action = actions[cls.flag(f.name)]
        assert (action.default, action.type) == (f.default, hints[f.name]), f.name
        assert action.help == f.metadata["help"]
    assert cls.from_options(parser.parse_args([])) == cls()
    sections = [name for names in FLAG_GROUPS.values() for name in names]
    in_template = {p["name"] for p in template_parameters()}
    for f in flagged:
        assert cls.flag(f.name) in sections and cls.flag(f.name) in in_template, f.name


def test_a_new_field_with_a_help_text_becomes_a_flag_and_comes_back():
    @dataclass(frozen=True)
    class Knobs(Params):
        FLAG_PREFIX: typing.ClassVar[str] = "knob"
        size: int = field(default=3, metadata={"help": "Size (default %(default)s)."})
        ratio: float = field(default=0.5, metadata={"help": "Ratio."})
        internal: int = 9  # no help: not a flag

    parser = argparse.ArgumentParser()
    add_flags(parser, Knobs)
    assert [a.option_strings for a in parser._actions[1:]] == [["--knob_size"], ["--knob_ratio"]]
    assert Knobs.from_options(parser.parse_args(["--knob_size", "5"])) == Knobs(size=5)
    with pytest.raises(SystemExit):
        parser.parse_args(["--knob_size", "many"])  # typed from the annotation


def test_wiring_reads_no_file_and_no_option(tmp_path, folder, monkeypatch):
    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_text(packaged_taxonomy_text(), encoding="utf-8")
    plan = _resolve(tmp_path, "--input", str(folder), "--taxonomy", str(taxonomy), "--manifest", "none")
    taxonomy.unlink()  # read once, at resolve: the graph carries its text

    def refuse(*args, **kwargs):
        raise AssertionError("wiring touched the file system")

    for name in ("exists", "open", "match", "create", "mkdirs", "delete"):
        monkeypatch.setattr(FileSystems, name, staticmethod(refuse))
    p = beam.Pipeline()
    outputs = wire(p, plan)
    assert set(outputs) >= {"articles", "duplicates", "rejects"}
    labels = {t.full_label for t in p.transforms_stack[0].parts}
    assert labels == {"Read", "Extract", "DetectLanguage", "TagTopics", "AttributeAgencies", "Dedup", "WriteArticles",
                      "WriteDuplicates", "CollectRejects", "RejectRows", "WriteRejects",
                      "NewRejects", "GatherStateRows", "WriteDedupState"}  # fmt: skip


def test_a_run_checks_the_dataflow_settings_once(tmp_path, folder, monkeypatch):
    from pipeline import options as options_module

    calls = []

    def counted(options):
        calls.append(options)
        return original(options)

    original = options_module.validate_dataflow
    for module in ("pipeline.options", "pipeline.resolve", "pipeline.run", "pipeline.graph"):
        monkeypatch.setattr(f"{module}.validate_dataflow", counted, raising=False)
    monkeypatch.setattr(run_module, "_run_built", lambda *args: run_module.Summary(state="DONE", elapsed_seconds=0))
    run_module.run(["--input", str(folder), "--output", str(tmp_path / "out")])
    assert len(calls) == 1
