"""Stable ids, the manifest parser and time parsing."""

from datetime import UTC, datetime

import pytest

from tests.conftest import SEEDS
from transforms.core.ids import make_doc_id, normalize_url
from transforms.core.manifest import ManifestError, parse_manifest
from transforms.core.timeparse import parse_time


def test_doc_id_ignores_tracking_parameters_and_fragments():
    a = make_doc_id("https://www.Example.com/news/1?utm_source=x#top", None, "/tmp/a.html")
    b = make_doc_id("https://www.example.com/news/1", None, "/elsewhere/b.html")
    assert a == b and len(a) == 16


def test_doc_id_without_url_uses_the_relative_path_not_the_machine_path():
    assert make_doc_id(None, "000.txt", "/tmp/x/000.txt") == make_doc_id(None, "000.txt", "/home/y/000.txt")
    assert make_doc_id(None, "000.txt", "/x") != make_doc_id(None, "001.txt", "/x")


def test_normalize_url_keeps_meaningful_query():
    assert normalize_url("https://example.com/a?id=5&utm_medium=rss") == "https://example.com/a?id=5"
    assert normalize_url(None) is None


def test_seed_manifest_gives_every_seed_an_arabic_event_time():
    manifest = parse_manifest((SEEDS / "manifest.csv").read_text(encoding="utf-8"))
    seeds = sorted(p.name for p in SEEDS.glob("*.txt"))
    assert sorted(manifest) == seeds
    for meta in manifest.values():
        assert meta.lang == "ar"
        assert meta.published is not None and meta.published.tzinfo is not None
        assert datetime(2020, 9, 27, tzinfo=UTC) <= meta.published <= datetime(2023, 9, 30, tzinfo=UTC)


def test_manifest_without_file_column_is_refused():
    with pytest.raises(ManifestError):
        parse_manifest("name,url\nx,y\n")


def test_manifest_with_bad_time_is_refused():
    with pytest.raises(ManifestError, match="published"):
        parse_manifest("file,published\na.txt,yesterday-ish\n")


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2020-11-09T12:00:00Z", datetime(2020, 11, 9, 12, tzinfo=UTC)),
        ("2020-11-09T15:00:00+03:00", datetime(2020, 11, 9, 12, tzinfo=UTC)),
        ("2020-11-09", datetime(2020, 11, 9, tzinfo=UTC)),
        ("Mon, 09 Nov 2020 12:00:00 GMT", datetime(2020, 11, 9, 12, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
    ],
)
def test_parse_time(value, expected):
    assert parse_time(value) == expected
