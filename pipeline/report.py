"""``newsbeam report OUTPUT --html report.html``: one self-contained HTML
page about an output (batch, streaming or appended, or empty).

The page needs no network and runs no script: inline CSS, charts drawn as
inline SVG.  It shows articles per day per conflict and per language, the
most syndicated stories (copies, outlets, agencies, time to spread, the
first headline), the outlets (rows, share of agency copy, share that
duplicates another outlet), rejects by stage and reason with one example
source each, and the run counts with the conservation line.  Every number
drawn is also written as data (``data-*`` attributes, table cells), so a
reader, or a test, can check the page against the tables.

The figures come from the tables as written (read through Beam's
FileSystems, so a gs:// output works too); the stories from
``stories/stories.parquet`` when the output has it, else built from
articles and duplicates the same way.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apache_beam.io.filesystems import FileSystems

from pipeline.commit import RUNS_FOLDER, SUMMARY_FILE, is_remote, present
from pipeline.graph import TABLES
from pipeline.stories import STORIES_FILE, build_stories, rows_of, table_files
from transforms.core.schema import NO_TOPIC, STORY_SCHEMA

TOP_STORIES = 25
TOP_OUTLETS = 40
COUNT_KEYS = ("documents_in", "articles", "duplicates", "rejects", "already_ingested")
# What the figures need of articles and duplicates (the stories' titles and texts are read apart).
_ROW_COLUMNS = ("story_id", "event_time", "outlet", "agencies", "primary_topic", "lang")
_REJECT_COLUMNS = ("stage", "reason", "source_uri")
# Colours for the series of a chart, in order; the rest reuse them.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
)  # fmt: skip


class ReportError(ValueError):
    """The output cannot be reported on; the message says why."""


@dataclass
class Figures:
    """Everything the page shows, computed from the output's tables."""

    output: str
    articles: int = 0
    duplicates: int = 0
    rejects: int = 0
    stories: list[dict] = field(default_factory=list)
    by_day_topic: Counter = field(default_factory=Counter)  # (day, topic) -> articles
    by_day_lang: Counter = field(default_factory=Counter)  # (day, language) -> articles
    outlets: list[dict] = field(default_factory=list)
    rejects_by: list[dict] = field(default_factory=list)  # stage, reason, count, example
    counts: dict[str, int] | None = None  # the runs' own counts (records in, ...), summed over runs
    runs: int = 0
    stale_stories: bool = False  # stories/stories.parquet disagreed with the tables


def _day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


def _runs_counts(output: str) -> tuple[dict[str, int] | None, int]:
    """The runs' counts summed over the run logs (an appended output has one
    per run), else those of ``_summary.json`` (a streaming output)."""
    logs = [m.path for m in FileSystems.match([FileSystems.join(output, RUNS_FOLDER, "*.json")])[0].metadata_list]
    records = []
    for path in sorted(logs):
        with FileSystems.open(path) as fh:
            records.append(json.loads(fh.read().decode("utf-8")).get("counts") or {})
    if not records:
        summary = FileSystems.join(output, SUMMARY_FILE)
        if not FileSystems.exists(summary):
            return None, 0
        with FileSystems.open(summary) as fh:
            records = [json.loads(fh.read().decode("utf-8"))]
    if any(r.get(k) is None for r in records for k in COUNT_KEYS):
        return None, len(records)
    return {k: sum(int(r[k]) for r in records) for k in COUNT_KEYS}, len(records)


def collect(output: str) -> Figures:
    """The figures of the output at ``output``."""
    if not is_remote(output) and not os.path.isdir(output):
        raise ReportError(f"{output!r} is not a folder")
    if is_remote(output) and not present(output):
        raise ReportError(f"{output!r} holds nothing")
    if not any(FileSystems.exists(FileSystems.join(output, table)) for table in TABLES):
        # A mistyped path or an input folder would give an empty page that looks like a quiet day.
        raise ReportError(f"{output!r} is not a newsbeam output: it has no {', '.join(TABLES)} folder")
    figures = Figures(output=output)
    outlet_rows: Counter = Counter()
    outlet_agency: Counter = Counter()
    duplicate_rows: list[dict] = []
    copies: Counter = Counter()  # story_id -> its rows in the tables
    for table in ("articles", "duplicates"):
        for row in rows_of(table_files(output, table), _ROW_COLUMNS):
            copies[row["story_id"]] += 1
            outlet = row["outlet"] or "(unknown)"
            outlet_rows[outlet] += 1
            outlet_agency[outlet] += bool(row["agencies"])
            if table == "articles":
                figures.articles += 1
                day = _day(row["event_time"])
                figures.by_day_topic[(day, row["primary_topic"] or NO_TOPIC)] += 1
                figures.by_day_lang[(day, row["lang"] or "unknown")] += 1
            else:
                figures.duplicates += 1
                duplicate_rows.append({"story_id": row["story_id"], "outlet": outlet})
    stories_path = FileSystems.join(output, STORIES_FILE)
    stored = list(rows_of([stories_path], tuple(STORY_SCHEMA.names))) if FileSystems.exists(stories_path) else None
    if stored is not None and {s["story_id"]: s["copies"] for s in stored} == dict(copies):
        figures.stories = stored
    else:
        # No stories table (an endless job's output), or one that disagrees with the tables
        # (files removed by hand): the page's stories are built from the tables themselves.
        figures.stale_stories = stored is not None
        figures.stories = build_stories([output]).to_pylist()
    first_outlet = {s["story_id"]: s["first_outlet"] or "(unknown)" for s in figures.stories}
    copied: Counter = Counter(d["outlet"] for d in duplicate_rows if first_outlet.get(d["story_id"]) != d["outlet"])
    figures.outlets = [
        {
            "outlet": outlet,
            "rows": n,
            "agency_share": outlet_agency[outlet] / n,
            "copy_share": copied[outlet] / n,
        }
        for outlet, n in sorted(outlet_rows.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    examples: dict[tuple[str, str], str] = {}
    by_reason: Counter = Counter()
    for row in rows_of(table_files(output, "rejects"), _REJECT_COLUMNS):
        key = (row["stage"], row["reason"])
        by_reason[key] += 1
        examples[key] = min(examples.get(key, row["source_uri"]), row["source_uri"])
        figures.rejects += 1
    figures.rejects_by = [
        {"stage": s, "reason": r, "count": n, "example": examples[(s, r)]}
        for (s, r), n in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    figures.counts, figures.runs = _runs_counts(output)
    return figures


# --- the page ------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _spread(minutes: float) -> str:
    if minutes < 1:
        return "same minute" if minutes == 0 else "< 1 min"
    if minutes < 120:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def _calendar(days: list[str], longest: int = 400) -> list[str]:
    """Every day from the first to the last, so a gap in coverage shows as
    one; the days with data alone when the span is longer than ``longest``."""
    first, last = datetime.fromisoformat(days[0]), datetime.fromisoformat(days[-1])
    span = (last - first).days
    if span > longest:
        return days
    return [(first + timedelta(days=k)).strftime("%Y-%m-%d") for k in range(span + 1)]


def stacked_chart(chart_id: str, counts: Counter, title: str) -> str:
    """A stacked bar chart (inline SVG) of (day, series) -> count, with its legend."""
    if not counts:
        return f'<p class="empty" id="{chart_id}">No articles.</p>'
    days = _calendar(sorted({d for d, _ in counts}))
    series = sorted({s for _, s in counts}, key=lambda s: (-sum(n for (_, t), n in counts.items() if t == s), s))
    colour = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    totals = {d: sum(counts[(d, s)] for s in series) for d in days}
    top = max(totals.values())
    if len(days) <= 31:
        labelled = set(days)
    else:
        labelled = set(days[:: max(1, len(days) // 20)])
    bar, gap, height, left, bottom = max(4, min(36, 900 // len(days))), 4, 220, 44, 60
    width = left + len(days) * (bar + gap) + 70  # room for the last day's slanted label
    parts = [
        f'<svg id="{chart_id}" class="chart" role="img" aria-label="{_e(title)}" width="{width}" '
        f'height="{height + bottom + 10}" viewBox="0 0 {width} {height + bottom + 10}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{height + 5}" x2="{width - 5}" y2="{height + 5}" stroke="#999"/>',
        f'<text x="{left - 6}" y="14" text-anchor="end" class="axis">{top}</text>',
        f'<text x="{left - 6}" y="{height + 5}" text-anchor="end" class="axis">0</text>',
    ]
    for i, day in enumerate(days):
        x = left + i * (bar + gap)
        y = height + 5
        for s in series:
            n = counts[(day, s)]
            if not n:
                continue
            h = n / top * (height - 10)
            y -= h
            parts.append(
                f'<rect class="bar" x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" fill="{colour[s]}" '
                f'data-day="{day}" data-series="{_e(s)}" data-count="{n}"><title>{day} {_e(s)}: {n}</title></rect>'
            )
        if day in labelled:
            parts.append(
                f'<text class="axis" transform="translate({x + bar / 2:.1f},{height + 12}) rotate(55)">{day}</text>'
            )
    parts.append("</svg>")
    legend = "".join(
        f'<li><span class="swatch" style="background:{colour[s]}"></span>{_e(s)} '
        f'<span class="n">{sum(counts[(d, s)] for d in days)}</span></li>'
        for s in series
    )
    return f'<figure><figcaption>{_e(title)}</figcaption>{"".join(parts)}<ul class="legend">{legend}</ul></figure>'


def _table(table_id: str, header: Iterable[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="empty" id="{table_id}">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cells) + "</tr>" for cells in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _td(value: object, cls: str = "", attrs: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f"<td{klass}{attrs}>{_e(value)}</td>"


def _bidi(value: object, cls: str = "") -> str:
    """A cell of text in any script: Arabic headlines and outlets read right to left."""
    klass = f' class="{cls}"' if cls else ""
    # dir=auto takes the direction of the cell's first strong letter (no <bdi> inside: it would be skipped).
    return f'<td dir="auto"{klass}>{_e(value)}</td>'


def render(figures: Figures) -> str:
    stories = sorted(
        (s for s in figures.stories if s["copies"] > 1),
        key=lambda s: (-s["outlet_count"], -s["copies"], s["first_event_time"], s["story_id"]),
    )[:TOP_STORIES]
    story_rows = [
        [
            _td(s["copies"], "num", f' data-story="{_e(s["story_id"])}"'),
            _td(s["outlet_count"], "num"),
            _td(", ".join(s["outlets"])),
            _td(", ".join(s["agencies"]) or "-"),
            _td(_spread(s["spread_minutes"]), "num", f' data-minutes="{s["spread_minutes"]}"'),
            _td(s["first_event_time"].strftime("%Y-%m-%d %H:%M")),
            _bidi(s["title"] or s["lead"][:120], "headline"),
            _td(s["primary_topic"] or NO_TOPIC),
        ]
        for s in stories
    ]
    outlet_rows = [
        [
            _bidi(o["outlet"]),
            _td(o["rows"], "num"),
            _td(f"{o['agency_share']:.0%}", "num", f' data-share="{o["agency_share"]:.4f}"'),
            _td(f"{o['copy_share']:.0%}", "num", f' data-share="{o["copy_share"]:.4f}"'),
        ]
        for o in figures.outlets[:TOP_OUTLETS]
    ]
    reject_rows = [
        [_td(r["stage"]), _td(r["reason"]), _td(r["count"], "num"), _bidi(r["example"])] for r in figures.rejects_by
    ]
    syndicated = sum(1 for s in figures.stories if s["copies"] > 1)
    counts = figures.counts
    if counts:
        total = counts["articles"] + counts["duplicates"] + counts["rejects"] + counts["already_ingested"]
        ok = total == counts["documents_in"]
        terms = " + ".join(str(counts[k]) for k in COUNT_KEYS[1:])
        conservation = (
            "records in = articles + duplicates + rejects + already ingested: "
            f'<span id="conservation" data-ok="{str(ok).lower()}">{counts["documents_in"]} = {terms} '
            f"{'ok' if ok else 'MISMATCH'}</span> (over {figures.runs} run{'s' if figures.runs != 1 else ''})"
        )
    else:
        conservation = '<span id="conservation" data-ok="unknown">no run counts recorded in this output</span>'
    tables_line = (
        f'<ul class="counts"><li>articles <b id="n-articles">{figures.articles}</b></li>'
        f'<li>duplicates <b id="n-duplicates">{figures.duplicates}</b></li>'
        f'<li>rejects <b id="n-rejects">{figures.rejects}</b></li>'
        f'<li>stories <b id="n-stories">{len(figures.stories)}</b>, of which with more than one copy '
        f'<b id="n-syndicated">{syndicated}</b></li></ul>'
    )
    stale = (
        '<p class="warn" id="stale-stories">stories/stories.parquet disagrees with the tables (files removed by '
        "hand?); the stories here are built from the tables. The next batch run rewrites it.</p>"
        if figures.stale_stories
        else ""
    )
    shown = (
        f" (the {TOP_OUTLETS} with most rows of {len(figures.outlets)})" if len(figures.outlets) > TOP_OUTLETS else ""
    )
    conflicts = Counter({k: n for k, n in figures.by_day_topic.items() if k[1] != NO_TOPIC})
    unrelated = sum(n for k, n in figures.by_day_topic.items() if k[1] == NO_TOPIC)
    days = sorted({d for d, _ in figures.by_day_topic})
    period = f"{days[0]} to {days[-1]}" if days else "no articles"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>newsbeam report: {_e(figures.output)}</title>
<style>{_CSS}</style></head>
<body>
<header><h1>newsbeam report</h1><p><code>{_e(figures.output)}</code> · {_e(period)}</p></header>
<section id="run"><h2>Run</h2>{tables_line}<p>{conservation}</p></section>
<section id="coverage"><h2>Coverage</h2>
{stacked_chart("chart-topics", conflicts, "Articles per day by primary conflict")}
<p>Left out of this chart: <span id="n-no-conflict">{unrelated}</span> articles about no conflict of the taxonomy.</p>
{stacked_chart("chart-languages", figures.by_day_lang, "Articles per day by language")}
</section>
<section id="stories"><h2>Most syndicated stories</h2>
<p>Stories with more than one copy, those on most outlets first, then most copies. A copy is a row of the story
in articles or duplicates, the first included (a re-read of the same URL too); time to spread is from the first
copy to the last.</p>{stale}
{
        _table(
            "top-stories",
            (
                "copies",
                "outlets",
                "outlet names",
                "agencies",
                "time to spread",
                "first copy (UTC)",
                "first headline",
                "conflict",
            ),
            story_rows,
            "No story has more than one copy.",
        )
    }
</section>
<section id="outlets"><h2>Outlets</h2>
<p>Rows per outlet in articles and duplicates{shown}; agency copy: rows crediting a news agency; copies another
outlet: duplicates whose story another outlet published first.</p>
{_table("outlet-table", ("outlet", "rows", "agency copy", "copies another outlet"), outlet_rows, "No articles.")}
</section>
<section id="rejects"><h2>Rejects</h2>
{_table("reject-table", ("stage", "reason", "count", "example source"), reject_rows, "No rejects.")}
</section>
<footer><p>Written by newsbeam report; self-contained: no script, no network.</p></footer>
</body></html>
"""


_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; padding: 0 16px; }
h1 { margin: 0; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
table { border-collapse: collapse; width: 100%; } th, td { padding: 4px 8px; border-bottom: 1px solid #eee; }
th { text-align: left; background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.headline { max-width: 460px; } .empty { color: #777; font-style: italic; }
figure { margin: 16px 0; overflow-x: auto; } figcaption { font-weight: 600; margin-bottom: 6px; }
.axis { font-size: 10px; fill: #555; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 12px; }
.warn { background: #fff3cd; padding: 6px 10px; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: middle; }
.counts { list-style: none; padding: 0; display: flex; gap: 24px; flex-wrap: wrap; } code { background: #f3f3f3; }
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsbeam report", description=__doc__.splitlines()[0])
    parser.add_argument("output", help="a newsbeam output folder (local or gs://)")
    parser.add_argument("--html", required=True, help="the page to write")
    args = parser.parse_args(argv)
    target = os.path.abspath(args.html)
    if os.path.isdir(target):
        print(f"newsbeam report: --html {args.html!r} is a folder; give a file name", file=sys.stderr)
        return 2
    if not os.path.isdir(os.path.dirname(target)):
        print(f"newsbeam report: --html {args.html!r}: its folder does not exist", file=sys.stderr)
        return 2
    try:
        figures = collect(args.output.rstrip("/") if is_remote(args.output) else os.path.abspath(args.output))
    except ReportError as exc:
        print(f"newsbeam report: {exc}", file=sys.stderr)
        return 2
    partial = f"{target}.partial"
    with open(partial, "w", encoding="utf-8") as fh:
        fh.write(render(figures))
    os.replace(partial, target)
    print(
        f"newsbeam report: {target}: {figures.articles} articles, {figures.duplicates} duplicates, "
        f"{len(figures.stories)} stories, {figures.rejects} rejects"
    )
    return 0
