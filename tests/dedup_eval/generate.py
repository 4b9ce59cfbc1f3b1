"""The labelled dedup evaluation set: real articles, rewritten the ways
outlets rewrite wire copy, plus the hard negatives that must stay apart.

Every source article (the seeds, and the real Arabic and English articles in
``tests/data/dedup/sources.jsonl``) is one story.  Its copies are made by
the rewrites in :data:`REWRITES`, several per story.  The hard negatives are
built so that a wrong merge shows up as a pair of distinct stories in one
cluster:

* ``same_event``: the Arabic sources come in pairs that cover the same event
  on the same day from two outlets (real articles, picked by
  ``pick_sources``); seeds 000 and 002 also report the same day.
* ``shared_quote``: a copy of story B with one paragraph of story A quoted in
  it; it belongs to B.
* ``related_box``: a copy of story C with a "read also" box reprinting two
  paragraphs of story A; it belongs to C and must not join A and C.
* ``same_template``: every HTML copy of every story is rendered into the same
  heavy template (navigation, a sidebar of the other stories' headlines and
  leads, footer), so the template's text is shared by different stories.

Everything is seeded: the same arguments give byte-identical files.
"""

from __future__ import annotations

import csv
import html
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from transforms.core.manifest import parse_manifest
from transforms.core.textclean import clean_text

DATA = Path(__file__).resolve().parents[1] / "data" / "dedup" / "sources.jsonl"
SEEDS = Path(__file__).resolve().parents[2] / "seeds"

REWRITES = (
    "header_footer",
    "dateline",
    "cut",
    "drop_paragraph",
    "swap_paragraphs",
    "edits",
    "orthography",
    "html_template",
)
NEGATIVES = ("shared_quote", "related_box")


@dataclass(frozen=True)
class Story:
    id: str
    lang: str
    outlet: str
    title: str
    published: datetime
    paragraphs: tuple[str, ...]
    event: str | None = None


@dataclass(frozen=True)
class EvalDoc:
    name: str  # file name in the evaluation folder
    story: str  # the label: the source story it is a copy of
    kind: str  # "original", a rewrite, or a negative
    lang: str
    outlet: str
    url: str
    published: datetime
    title: str
    paragraphs: tuple[str, ...]
    html: bool = False


def load_stories(sources: Path = DATA, seeds: Path = SEEDS) -> list[Story]:
    stories = []
    manifest = parse_manifest((seeds / "manifest.csv").read_text(encoding="utf-8"))
    for name, meta in sorted(manifest.items()):
        cleaned = clean_text((seeds / name).read_text(encoding="utf-8"), meta.outlet)
        event = "seed-2020-11-09" if meta.published.date().isoformat() == "2020-11-09" else None
        stories.append(
            Story(
                f"seed-{name[:3]}",
                "ar",
                meta.outlet or "",
                cleaned.title,
                meta.published,
                tuple(cleaned.paragraphs),
                event,
            )
        )
    english_day = datetime(2019, 11, 4, 9, tzinfo=UTC)
    with sources.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            d = json.loads(line)
            published = (
                datetime.fromisoformat(d["published"].replace("Z", "+00:00"))
                if d["published"]
                else english_day + timedelta(days=i % 3, hours=i)
            )
            stories.append(
                Story(d["id"], d["lang"], d["outlet"], d["title"], published, tuple(d["paragraphs"]), d.get("event"))
            )
    return stories


# --- the rewrites -----------------------------------------------------------

_HEADERS = {
    "ar": ["الرئيسية | أخبار | عربي ودولي", "شارك على فيسبوك تويتر واتساب", "آخر تحديث منذ ساعتين"],
    "en": ["Home | News | World", "Share on Facebook Twitter Email", "Updated 2 hours ago"],
}
_FOOTERS = {
    "ar": ["تابعونا على تويتر وفيسبوك", "جميع الحقوق محفوظة © 2024", "اشترك في النشرة البريدية"],
    "en": ["Follow us on Twitter and Facebook", "© 2024 All rights reserved", "Sign up for our newsletter"],
}
_DATELINES = {
    "ar": ["باكو (وكالات) - ", "القاهرة - (رويترز) - ", "بيروت (أ ف ب) - ", "عواصم - وكالات: "],
    "en": ["LONDON (Reuters) - ", "WASHINGTON (AP) — ", "PARIS (AFP) - ", "NEW YORK — "],
}
_TEMPLATE_NAV = {
    "ar": "الرئيسية سياسة اقتصاد رياضة ثقافة تكنولوجيا منوعات فيديو صور رأي",
    "en": "Home Politics Business Sports Culture Technology Opinion Video Photos",
}
_MOST_READ = {"ar": "الأكثر قراءة", "en": "Most read"}
_READ_ALSO = {"ar": "اقرأ أيضاً:", "en": "Related coverage:"}


def _words_cut(paragraphs: tuple[str, ...], share: float) -> tuple[str, ...]:
    """The first ``share`` of the words, cut at a word boundary."""
    total = sum(len(p.split()) for p in paragraphs)
    budget = int(total * share)
    out = []
    for p in paragraphs:
        words = p.split()
        if budget <= 0:
            break
        out.append(" ".join(words[:budget]))
        budget -= len(words)
    return tuple(out)


def _edit_words(paragraphs: tuple[str, ...], rng: random.Random, n: int) -> tuple[str, ...]:
    paras = [p.split() for p in paragraphs]
    vocabulary = [w for p in paras for w in p]
    for _ in range(n):
        p = rng.randrange(len(paras))
        if not paras[p]:
            continue
        i = rng.randrange(len(paras[p]))
        action = rng.choice(("replace", "delete", "insert"))
        if action == "replace":
            paras[p][i] = rng.choice(vocabulary)
        elif action == "delete" and len(paras[p]) > 1:
            del paras[p][i]
        else:
            paras[p].insert(i, rng.choice(vocabulary))
    return tuple(" ".join(p) for p in paras)


_AR_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _arabic_orthography(text: str, rng: random.Random) -> str:
    """Spell the text the way another outlet does: bare alef, final ى for ي,
    ه for ة, diacritics and tatweel here and there, Arabic-Indic digits,
    guillemets and Arabic commas swapped for Latin ones."""
    text = text.replace("أ", "ا").replace("إ", "ا").replace("آ", "ا")
    words = []
    for w in text.split(" "):
        if w.endswith("ي") and rng.random() < 0.7:
            w = w[:-1] + "ى"
        if w.endswith("ة") and rng.random() < 0.7:
            w = w[:-1] + "ه"
        if len(w) > 3 and rng.random() < 0.15:
            w = w[:2] + "\u064e" + w[2:]  # fatha
        if len(w) > 4 and rng.random() < 0.05:
            w = w[:3] + "ـ" + w[3:]  # tatweel
        words.append(w)
    text = " ".join(words).translate(_AR_DIGITS).replace("،", ",")
    if "«" in text:
        return text.replace("«", '"').replace("»", '"')
    parts = text.split('"')
    return "".join(part + ("«" if i % 2 == 0 else "»") for i, part in enumerate(parts[:-1])) + parts[-1]


def _english_orthography(text: str, rng: random.Random) -> str:
    """Other typography: curly quotes straightened (or the reverse), dashes,
    capitalisation of a few words."""
    text = text.replace("’", "'").replace("“", '"').replace("”", '"').replace(" — ", " -- ").replace(" - ", " – ")
    words = text.split(" ")
    for i in range(len(words)):
        if rng.random() < 0.05:
            words[i] = words[i].upper()
    return " ".join(words)


def rewrite(
    kind: str, title: str, paras: tuple[str, ...], lang: str, rng: random.Random
) -> tuple[str, tuple[str, ...]]:
    """One rewrite of (title, paragraphs); ``html_template`` only marks the
    copy for rendering into the shared template."""
    if kind == "header_footer":
        other_title = f"{title} - {rng.choice(['متابعة', 'تحديث'] if lang == 'ar' else ['Update', 'Live'])}"
        return other_title, (*_HEADERS[lang], *paras, *_FOOTERS[lang])
    if kind == "dateline":
        return title, (rng.choice(_DATELINES[lang]) + paras[0], *paras[1:])
    if kind == "cut":
        return title, _words_cut(paras, rng.uniform(0.6, 0.7))
    if kind == "drop_paragraph":
        i = rng.randrange(1, len(paras))
        return title, paras[:i] + paras[i + 1 :]
    if kind == "swap_paragraphs":
        i = rng.randrange(0, len(paras) - 1)
        swapped = list(paras)
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        return title, tuple(swapped)
    if kind == "edits":
        return title, _edit_words(paras, rng, rng.randint(4, 8))
    if kind == "orthography":
        spell: Callable[[str, random.Random], str] = _arabic_orthography if lang == "ar" else _english_orthography
        return spell(title, rng), tuple(spell(p, rng) for p in paras)
    if kind == "html_template":
        return title, paras
    raise ValueError(kind)


# --- the set ----------------------------------------------------------------


def _url(story: Story, kind: str, n: int) -> str:
    return f"https://{kind.replace('_', '-')}-{n}.example/{story.lang}/{story.id}"


def _plans(s_index: int, per_story: int, rng: random.Random) -> list[tuple[str, ...]]:
    """Which rewrites each copy gets: half the copies one kind (every kind
    used about equally across stories), half two or three kinds at once, as
    wire copy really travels (cut, re-headed and respelled)."""
    kinds = list(REWRITES)
    plans = []
    for k in range(per_story):
        first = kinds[(s_index * per_story + k) % len(kinds)]
        if k % 2 == 0:
            plans.append((first,))
        else:
            more = rng.sample([x for x in kinds if x not in (first, "html_template")], rng.randint(1, 2))
            plan = [x for x in (first, *more) if x != "html_template"]
            plans.append((*plan, "html_template") if first == "html_template" else tuple(plan))
    return plans


_NEGATIVE_OUTLETS = {"shared_quote": "quoting-outlet", "related_box": "boxed-outlet"}


def _negative(owner: Story, borrowed: Story, kind: str, n: int, hours: int, paragraphs: tuple[str, ...]) -> EvalDoc:
    """A copy of ``owner`` carrying text of ``borrowed``; it belongs to ``owner``."""
    return EvalDoc(
        f"{owner.id}__{kind}__{borrowed.id}.txt",
        owner.id,
        kind,
        owner.lang,
        _NEGATIVE_OUTLETS[kind],
        _url(owner, kind, n),
        owner.published + timedelta(hours=hours),
        owner.title,
        paragraphs,
    )


def build_set(stories: list[Story], *, seed: int = 7, per_story: int = 4, one_of_each: bool = False) -> list[EvalDoc]:
    """The original of every story, ``per_story`` copies of each (with
    ``one_of_each``: one copy per rewrite kind, each alone), and the
    negatives."""
    rng = random.Random(seed)
    docs: list[EvalDoc] = []
    for s_index, story in enumerate(stories):
        docs.append(
            EvalDoc(
                f"{story.id}__original.txt",
                story.id,
                "original",
                story.lang,
                story.outlet,
                _url(story, "original", 0),
                story.published,
                story.title,
                story.paragraphs,
            )
        )
        plans = [(kind,) for kind in REWRITES] if one_of_each else _plans(s_index, per_story, rng)
        for n, plan in enumerate(plans):
            title, paras = story.title, story.paragraphs
            for kind in plan:
                title, paras = rewrite(kind, title, paras, story.lang, rng)
            kind, is_html = "+".join(plan), plan[-1] == "html_template"
            # Copies run from six hours before the source to a day and a half after.
            published = story.published + timedelta(minutes=rng.randint(-360, 2160))
            docs.append(
                EvalDoc(
                    f"{story.id}__{kind}__{n}.{'html' if is_html else 'txt'}",
                    story.id,
                    kind,
                    story.lang,
                    f"outlet-{n}",
                    _url(story, kind, n),
                    published,
                    title,
                    paras,
                    is_html,
                )
            )
    by_lang: dict[str, list[Story]] = {}
    for story in stories:
        by_lang.setdefault(story.lang, []).append(story)
    for lang, group in sorted(by_lang.items()):
        for i in range(0, min(len(group) - 1, 8), 2):
            a, b = group[i], group[i + 1]
            quote = a.paragraphs[min(1, len(a.paragraphs) - 1)]
            mid = len(b.paragraphs) // 2
            docs.append(_negative(b, a, "shared_quote", i, 3, (*b.paragraphs[:mid], quote, *b.paragraphs[mid:])))
            c = group[(i + 2) % len(group)]
            box = (_READ_ALSO[lang], a.title, *a.paragraphs[:2])
            docs.append(_negative(c, a, "related_box", i, 5, (*c.paragraphs, *box)))
    return docs


def render_text(doc: EvalDoc) -> str:
    return doc.title + "\n\n" + "\n\n".join(doc.paragraphs) + "\n"


def render_html(doc: EvalDoc, others: list[EvalDoc]) -> str:
    """The one heavy template every HTML copy shares: navigation, the body,
    a sidebar with the headlines and leads of other stories, a footer."""
    direction = "rtl" if doc.lang == "ar" else "ltr"
    sidebar = "".join(
        f'<li><a href="{html.escape(o.url)}">{html.escape(o.title)}</a><p>{html.escape(o.paragraphs[0][:300])}</p></li>'
        for o in others
    )
    body = "".join(f"<p>{html.escape(p)}</p>" for p in doc.paragraphs)
    nav = "".join(f'<li><a href="/{i}">{w}</a></li>' for i, w in enumerate(_TEMPLATE_NAV[doc.lang].split()))
    return (
        f'<!DOCTYPE html><html lang="{doc.lang}" dir="{direction}"><head><meta charset="utf-8">'
        f"<title>{html.escape(doc.title)} | News Portal</title></head><body>"
        f'<header><nav class="menu"><ul>{nav}</ul></nav></header>'
        f'<main><article><h1>{html.escape(doc.title)}</h1><div class="byline">News Portal</div>{body}</article></main>'
        f'<aside class="sidebar"><h3>{_MOST_READ[doc.lang]}</h3><ul>{sidebar}</ul></aside>'
        f"<footer><p>{html.escape(_FOOTERS[doc.lang][1])}</p><p>{html.escape(_FOOTERS[doc.lang][0])}</p></footer>"
        "</body></html>"
    )


def write_set(docs: list[EvalDoc], folder: Path) -> Path:
    """Files, ``manifest.csv`` (outlet, url, published, lang per file) and
    ``labels.json`` (file -> story, kind) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    originals = [d for d in docs if d.kind == "original"]
    for doc in docs:
        if doc.html:
            others = [o for o in originals if o.lang == doc.lang and o.story != doc.story][:6]
            (folder / doc.name).write_text(render_html(doc, others), encoding="utf-8")
        else:
            (folder / doc.name).write_text(render_text(doc), encoding="utf-8")
    with (folder / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "outlet", "url", "published", "lang"])
        for doc in docs:
            writer.writerow([doc.name, doc.outlet, doc.url, doc.published.strftime("%Y-%m-%dT%H:%M:%SZ"), doc.lang])
    labels = {d.name: {"story": d.story, "kind": d.kind, "lang": d.lang} for d in docs}
    (folder / "labels.json").write_text(json.dumps(labels, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder
