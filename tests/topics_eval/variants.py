"""Find Arabic spelling variants of the taxonomy's aliases that real text
uses and the taxonomy lacks (run by hand when tuning the taxonomy).

Candidates are generated systematically from every Arabic alias: a long
vowel (ا و ي) dropped or added inside a word, one letter swapped for the
letters the press uses for the same foreign sound (ق ك غ ج / ت ط / س ص /
ز ذ / خ غ), and two-word names joined.  A candidate is reported only when it
occurs as a whole word sequence in the corpus (the ANT articles and the
seeds) and no alias already covers it; a person then decides which to add.

    python -m tests.topics_eval.variants /tmp/corp [--min-count 2]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import ahocorasick

from tests.dedup_eval.pick_sources import _FIELD
from transforms.core.normalize import normalize_for_hashing
from transforms.core.taxonomy import load_taxonomy
from transforms.core.topics import _ARABIC, surface_forms

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
VOWELS = "اوي"
SAME_SOUND = ["قكغج", "تط", "سص", "زذ", "خغ"]


def candidates(word: str) -> set[str]:
    """Spellings one systematic step away from ``word`` (normalized)."""
    out: set[str] = set()
    for i in range(1, len(word) - 1):
        if word[i] in VOWELS and word[i - 1] != " " and word[i + 1] != " ":
            out.add(word[:i] + word[i + 1 :])
        for v in VOWELS:
            if word[i - 1] not in VOWELS + " " and word[i] not in VOWELS + " ":
                out.add(word[:i] + v + word[i:])
    for i, ch in enumerate(word):
        for group in SAME_SOUND:
            if ch in group:
                out |= {word[:i] + other + word[i + 1 :] for other in group if other != ch}
    if word.count(" ") == 1:
        out.add(word.replace(" ", ""))
    out.discard(word)
    return out


def corpus_texts(root: Path):
    for path in sorted((root / "text-ant-arabic-news").rglob("*.txt")):
        fields = dict(_FIELD.findall(path.read_text(encoding="utf-8", errors="replace")))
        yield f"{fields.get('TITLE', '')} {fields.get('TEXT', '')}"
    for path in sorted(SEEDS.glob("*.txt")):
        yield path.read_text(encoding="utf-8")


def find(root: Path, min_count: int) -> list[tuple[str, str, str, int]]:
    taxonomy = load_taxonomy()
    known: set[str] = set()
    for alias in taxonomy.aliases:
        known |= surface_forms(alias.text)
    automaton = ahocorasick.Automaton()
    origin: dict[str, tuple[str, str]] = {}
    for alias in taxonomy.aliases:
        if alias.lang != "ar" or alias.tier == "negative":
            continue
        base = normalize_for_hashing(alias.text.removeprefix("(ال)"))
        for cand in candidates(base):
            if cand not in known and len(cand) >= 4 and _ARABIC.search(cand):
                origin.setdefault(cand, (alias.conflict, alias.text))
    for cand in origin:
        automaton.add_word(f" {cand} ", cand)
    automaton.make_automaton()
    counts: Counter[str] = Counter()
    for text in corpus_texts(root):
        for _, cand in automaton.iter(f" {normalize_for_hashing(text)} "):
            counts[cand] += 1
    found = [(origin[c][0], origin[c][1], c, n) for c, n in counts.items() if n >= min_count]
    return sorted(found, key=lambda f: (f[0], -f[3], f[2]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", help="folder the shared corpora were unpacked into")
    parser.add_argument("--min-count", type=int, default=2)
    args = parser.parse_args(argv)
    for conflict, alias, variant, n in find(Path(args.corpora), args.min_count):
        print(f"{conflict:22} {alias:28} {variant:28} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
