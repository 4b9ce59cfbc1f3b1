"""Syndication in real pipelines: agency attribution as a Beam stage, the
stories table of a batch run and of an appended output (read back with
pyarrow and DuckDB), and the report page checked in headless Chromium
(Debian's package, installed here when missing)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import apache_beam as beam
import duckdb
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.conftest import DATA, read_table
from tests.test_options_cli import _cli
from transforms.agencies import AttributeAgencies
from transforms.core.agencies import packaged_agencies_text

SAMPLE = DATA / "syndication" / "ant-sample.jsonl"
CHROMIUM = "/usr/bin/chromium"


def test_attribute_agencies_stage_in_a_test_pipeline():
    rows = [
        {"doc_id": "a", "text": "KYIV (Reuters) - Shelling resumed overnight.", "author": None},
        {"doc_id": "b", "text": "قال مسؤول لوكالة فرانس برس إن الوضع هادئ.\nفرانس24/ أ ف ب", "author": None},
        {"doc_id": "c", "text": "The minister told Reuters the talks had failed.", "author": None},
        {"doc_id": "d", "text": "Text of the story.", "author": "By The Associated Press"},
    ]
    with TestPipeline() as p:
        out = (
            p
            | beam.Create(rows)
            | AttributeAgencies(packaged_agencies_text())
            | beam.Map(lambda r: (r["doc_id"], tuple(r["agencies"]), r["dateline"], len(r["agency_credits"])))
        )
        assert_that(out, equal_to([("a", ("reuters",), "KYIV", 1), ("b", ("afp",), None, 1), ("c", (), None, 0),
                                   ("d", ("ap",), None, 1)]))  # fmt: skip


def _stories_agree(out: Path) -> None:
    """The stories table holds, per story_id, what articles + duplicates hold."""
    con = duckdb.connect()
    copies = f"""
        SELECT story_id, count(*) AS copies, min(event_time) AS first_at, max(event_time) AS last_at,
               list_sort(list_distinct(list(outlet) FILTER (WHERE outlet IS NOT NULL))) AS outlets,
               list_sort(list_distinct(flatten(list(agencies)))) AS agencies
        FROM (SELECT story_id, event_time, outlet, agencies FROM read_parquet('{out}/articles/**/*.parquet')
              UNION ALL
              SELECT story_id, event_time, outlet, agencies FROM read_parquet('{out}/duplicates/**/*.parquet'))
        GROUP BY story_id"""
    mismatched = con.execute(
        f"""SELECT count(*) FROM ({copies}) c FULL OUTER JOIN read_parquet('{out}/stories/stories.parquet') s
            USING (story_id)
            WHERE s.copies IS DISTINCT FROM c.copies OR s.first_event_time IS DISTINCT FROM c.first_at
               OR s.last_event_time IS DISTINCT FROM c.last_at OR s.outlets IS DISTINCT FROM c.outlets
               OR s.agencies IS DISTINCT FROM c.agencies OR s.outlet_count <> len(c.outlets)"""
    ).fetchone()
    assert mismatched == (0,)
    (articles,) = con.execute(f"SELECT count(*) FROM read_parquet('{out}/articles/**/*.parquet')").fetchone()
    (stories,) = con.execute(f"SELECT count(*) FROM read_parquet('{out}/stories/stories.parquet')").fetchone()
    assert stories == articles


def test_a_batch_run_writes_agencies_and_a_stories_table_that_agrees(run_pipeline):
    summary, out = run_pipeline(SAMPLE)
    assert summary.balanced and summary.duplicates > 0 and summary.stories == summary.articles
    assert summary.agencies == {"afp": 1, "ap": 1, "reuters": 2}
    rows = read_table(out).to_pylist() + read_table(out, "duplicates").to_pylist()
    credited = {r["dateline"]: r["agencies"] for r in rows if r["agencies"]}
    assert credited["COLUMBIA, S.C."] == ["ap"] and credited["MUMBAI"] == ["reuters"]
    assert all(c["where"] in ("dateline", "credit line", "byline") for r in rows for c in r["agency_credits"])
    _stories_agree(out)
    stories = pq.read_table(out / "stories" / "stories.parquet").to_pylist()
    # Real cross-outlet syndication: one agency story on three outlets' sites.
    spread = max(stories, key=lambda s: (s["copies"], s["outlet_count"]))
    assert spread["copies"] >= 5 and spread["outlet_count"] == 3 and spread["spread_minutes"] > 0


def test_a_saved_texts_credit_line_credits_its_agency_and_stays_out_of_the_text(run_pipeline, tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    body = (
        "مهرجان السينما الإسرائيلية في باريس يثير جدلا\n\n"
        "دعت منظمات مؤيدة للفلسطينيين إلى مقاطعة مهرجان السينما الإسرائيلية في باريس، وقال منظموه إنهم ماضون فيه.\n"
        "وستقام النسخة 18 من المهرجان بين 13 و20 آذار/مارس في باريس.\n \n"
    )
    (folder / "credited.txt").write_text(body + "فرانس24/ أ ف ب\n", encoding="utf-8")
    other = (
        "افتتاح معرض للكتاب في ليون\n\n"
        "افتتح في مدينة ليون الفرنسية معرض للكتاب يستمر أسبوعا بمشاركة دور نشر من عشرين بلدا، "
        "ويضم أجنحة لكتب الأطفال والروايات المترجمة.\n"
        "وقال المنظمون إن عدد الزوار المتوقع يفوق خمسين ألفا، وإن الدخول مجاني طوال أيام المعرض.\n"
    )
    (folder / "plain.txt").write_text(other, encoding="utf-8")
    summary, out = run_pipeline(folder)
    assert summary.balanced and summary.articles == 2 and summary.agencies == {"afp": 1}
    rows = {Path(r["source_uri"]).name: r for r in read_table(out).to_pylist()}
    assert rows["credited.txt"]["agencies"] == ["afp"]
    assert rows["credited.txt"]["agency_credits"] == [
        {"agency": "afp", "where": "credit line", "text": "فرانس24/ أ ف ب"}
    ]
    assert "أ ف ب" not in rows["credited.txt"]["text"] and rows["plain.txt"]["agencies"] == []
    assert "credit_lines" not in read_table(out).column_names


def test_an_appended_run_rebuilds_the_stories_of_the_whole_output(run_pipeline, tmp_path):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    first, second = tmp_path / "day1", tmp_path / "day2"
    first.mkdir(), second.mkdir()
    (first / "a.jsonl").write_text("\n".join(lines[: len(lines) // 2]) + "\n", encoding="utf-8")
    (second / "b.jsonl").write_text("\n".join(lines[len(lines) // 2 :]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    one, _ = run_pipeline(first, output=out)
    before = pq.read_table(out / "stories" / "stories.parquet").num_rows
    two, _ = run_pipeline(second, "--append", output=out)
    assert one.balanced and two.balanced
    after = pq.read_table(out / "stories" / "stories.parquet").num_rows
    assert after == one.articles + two.articles and after > before
    _stories_agree(out)
    whole, whole_out = run_pipeline(SAMPLE)
    assert whole.balanced
    assert pq.read_table(whole_out / "stories" / "stories.parquet").num_rows == after == whole.articles


# --- the report in a real browser -----------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium, installed with apt when it is not on the machine."""
    if not os.path.exists(CHROMIUM) and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium package is not installed and could not be (apt-get needs root and the archive)")
    return CHROMIUM


def _open(chromium: str, page_path: Path):
    """(result, console messages, requests) of loading the page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        messages, requests, errors = [], [], []
        page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri())
        found = page.evaluate(
            """() => {
                const sum = (sel) => [...document.querySelectorAll(sel)].reduce((n, r) => n + +r.dataset.count, 0);
                const cells = (id, col) => [...document.querySelectorAll(`#${id} tbody tr`)].map(
                    (tr) => tr.children[col].textContent.trim());
                const num = (id) => { const e = document.getElementById(id); return e ? +e.textContent : null; };
                return {
                    articles: num("n-articles"), duplicates: num("n-duplicates"), rejects: num("n-rejects"),
                    stories: num("n-stories"), noConflict: num("n-no-conflict"),
                    days: [...new Set([...document.querySelectorAll("#chart-languages rect.bar")].map(
                        (r) => r.dataset.day))],
                    stale: !!document.getElementById("stale-stories"),
                    topicBars: sum("#chart-topics rect.bar"), languageBars: sum("#chart-languages rect.bar"),
                    copies: cells("top-stories", 0).map(Number), outlets: cells("outlet-table", 0),
                    outletRows: cells("outlet-table", 1).map(Number), reasons: cells("reject-table", 1),
                    conservation: document.getElementById("conservation").dataset.ok,
                    rtl: [...document.querySelectorAll("td.headline")].some((td) => td.matches(":dir(rtl)")),
                };
            }"""
        )
        shot = page.screenshot(full_page=False)
        # Count the screenshot's colours in a blank page: a blank render has one or two.
        blank = browser.new_page()
        colours = blank.evaluate(
            """async (data) => {
                const img = new Image(); img.src = "data:image/png;base64," + data; await img.decode();
                const c = document.createElement("canvas"); c.width = img.width; c.height = img.height;
                const ctx = c.getContext("2d"); ctx.drawImage(img, 0, 0);
                const px = ctx.getImageData(0, 0, c.width, c.height).data; const seen = new Set(); let ink = 0;
                for (let i = 0; i < px.length; i += 4) {
                    seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
                    if (px[i] + px[i + 1] + px[i + 2] < 600) ink++;
                }
                return { distinct: seen.size, ink: ink / (px.length / 4) };
            }""",
            base64.b64encode(shot).decode("ascii"),
        )
        browser.close()
    return found, colours, messages + errors, requests


def test_the_report_page_shows_the_outputs_numbers_in_a_browser(run_pipeline, chromium, tmp_path):
    summary, out = run_pipeline(SAMPLE)
    assert summary.balanced
    page = tmp_path / "report.html"
    done = _cli("report", str(out), "--html", str(page), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found, colours, messages, requests = _open(chromium, page)
    assert messages == [] and requests == [page.as_uri()]
    assert (found["articles"], found["duplicates"], found["rejects"]) == (
        summary.articles, summary.duplicates, summary.rejects,
    )  # fmt: skip
    assert found["topicBars"] + found["noConflict"] == summary.articles == found["languageBars"]
    assert found["conservation"] == "true"
    con = duckdb.connect()
    top = con.execute(
        f"SELECT copies FROM read_parquet('{out}/stories/stories.parquet') WHERE copies > 1 "
        "ORDER BY outlet_count DESC, copies DESC, first_event_time, story_id"
    ).fetchall()
    assert found["copies"] == [c for (c,) in top][:25] and found["stories"] == summary.stories
    by_outlet = dict(
        con.execute(
            f"SELECT coalesce(outlet, '(unknown)'), count(*) FROM (SELECT outlet FROM "
            f"read_parquet('{out}/articles/**/*.parquet') UNION ALL SELECT outlet FROM "
            f"read_parquet('{out}/duplicates/**/*.parquet')) GROUP BY 1"
        ).fetchall()
    )
    assert dict(zip(found["outlets"], found["outletRows"], strict=True)) == by_outlet
    assert found["rtl"]  # Arabic headlines read right to left
    assert not found["stale"]
    assert colours["distinct"] > 20 and colours["ink"] > 0.01


def test_the_report_of_an_output_with_only_rejects_loads_too(run_pipeline, chromium, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("short\n", encoding="utf-8")
    summary, out = run_pipeline(folder)
    assert summary.balanced and summary.articles == 0 and summary.rejects == 1
    page = tmp_path / "empty.html"
    assert _cli("report", str(out), "--html", str(page), cwd=tmp_path).returncode == 0
    found, _, messages, requests = _open(chromium, page)
    assert messages == [] and requests == [page.as_uri()]
    assert found["articles"] == 0 and found["copies"] == [] and found["reasons"] == ["too_short"]
    assert found["rejects"] == summary.rejects == 1
    assert found["conservation"] == "true"


def test_the_report_of_a_replayed_output_with_or_without_its_stories_table(chromium, tmp_path):
    from pipeline import replay

    out = tmp_path / "replayed"
    assert replay.main([str(SAMPLE), "--output", str(out), "--ingested_at", "2026-01-01T00:00:00+00:00"]) == 0
    counts = json.loads((out / "_summary.json").read_text(encoding="utf-8"))
    assert counts["documents_in"] == counts["articles"] + counts["duplicates"] + counts["rejects"] == 23
    _stories_agree(out)  # a bounded replay commits like a batch run
    page = tmp_path / "stream.html"
    assert _cli("report", str(out), "--html", str(page), cwd=tmp_path).returncode == 0
    written, _, _, _ = _open(chromium, page)
    # An endless job's output has no stories table: the report builds the same rows.
    shutil.rmtree(out / "stories")
    assert _cli("report", str(out), "--html", str(page), cwd=tmp_path).returncode == 0
    found, _, messages, requests = _open(chromium, page)
    assert messages == [] and requests == [page.as_uri()]
    articles = read_table(out).num_rows
    assert found == written and found["articles"] == articles == found["stories"] and max(found["copies"]) >= 5


def test_a_stories_table_that_disagrees_with_the_tables_is_not_shown(run_pipeline, chromium, tmp_path):
    summary, out = run_pipeline(SAMPLE)
    assert summary.balanced
    for path in (out / "duplicates").rglob("*.parquet"):  # a rollback by hand that forgot the stories table
        path.unlink()
    page = tmp_path / "stale.html"
    assert _cli("report", str(out), "--html", str(page), cwd=tmp_path).returncode == 0
    found, _, messages, _ = _open(chromium, page)
    assert messages == [] and found["stale"] and found["duplicates"] == 0
    assert found["copies"] == [] and found["stories"] == summary.articles  # built from the articles left


def test_the_charts_show_every_day_between_the_first_and_the_last(run_pipeline, chromium, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    moved = [json.loads(line) for line in lines[:3]]
    for k, row in enumerate(moved):  # three articles, ten days apart: the days between have no bar
        row["published"] = f"2018-05-{1 + 10 * k:02d}T12:00:00+00:00"
        row["url"] = f"https://example.org/spread/{k}"
    (folder / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in moved) + "\n", "utf-8")
    summary, out = run_pipeline(folder)
    assert summary.balanced and summary.articles == 3
    page = tmp_path / "days.html"
    assert _cli("report", str(out), "--html", str(page), cwd=tmp_path).returncode == 0
    found, _, messages, _ = _open(chromium, page)
    assert messages == [] and found["days"] == ["2018-05-01", "2018-05-11", "2018-05-21"]
    html = page.read_text(encoding="utf-8")
    assert html.count(">2018-05-") >= 21  # the axis names every day, the empty ones too


def test_report_refuses_a_missing_output_or_a_folder_as_the_page(tmp_path):
    missing = _cli("report", str(tmp_path / "nope"), "--html", str(tmp_path / "r.html"), cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "not a folder" in missing.stderr
    folder = _cli("report", str(tmp_path), "--html", str(tmp_path), cwd=tmp_path)
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "a.txt").write_text("not an output", encoding="utf-8")
    foreign = _cli("report", str(tmp_path / "inputs"), "--html", str(tmp_path / "r.html"), cwd=tmp_path)
    assert foreign.returncode == 2 and foreign.stderr.count("\n") == 1
    assert "is not a newsbeam output" in foreign.stderr
    assert not (tmp_path / "r.html").exists()
