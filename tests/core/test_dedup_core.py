"""Normalization, shingles and the keyed dedup decisions (the dedup core, no Beam)."""

import pytest

from tests.conftest import SEEDS
from transforms.core.dedup import Copy, Fingerprint, Match, Matched, best_match, route, run_anchor, run_exact
from transforms.core.normalize import normalize_for_hashing, shingles, tokens
from transforms.core.overlap import CopyRule, compact, overlap
from transforms.core.textclean import clean_text

SEEDS_TEXT = {p.name: clean_text(p.read_text(encoding="utf-8")).text for p in sorted(SEEDS.glob("*.txt"))}
S000 = SEEDS_TEXT["000_bbe93062319f189f.txt"]


@pytest.mark.parametrize(
    "raw,normalized",
    [
        ("أعلنَ الرئيسُ", "اعلن الرئيس"),
        ("إقليم آرتساخ", "اقليم ارتساخ"),
        ("مدينة شوشى", "مدينه شوشي"),
        ("الـــقوات", "القوات"),
        ("٢٠٢٠ و۱۲", "2020 و12"),
        ("«قره باغ»، (الأناضول)!", "قره باغ الاناضول"),
        ("Nagorno-KARABAKH", "nagorno karabakh"),
        ("کاراباخ یریفان", "كاراباخ يريفان"),
    ],
)
def test_normalization_folds_orthographic_variants(raw, normalized):
    assert normalize_for_hashing(raw) == normalized


def test_shingles_are_word_trigrams_of_the_normalized_text():
    assert shingles("أعلن الرئيس، اليوم الاثنين") == {"اعلن الرئيس اليوم", "الرئيس اليوم الاثنين"}
    assert shingles("قصير") == {"قصير"}
    assert shingles("") == set()


def test_different_seed_articles_are_different_stories():
    forms = {name: compact(tokens(text)) for name, text in SEEDS_TEXT.items()}
    names = sorted(forms)
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            shared = overlap(forms[x], forms[y])
            assert not shared.is_copy(CopyRule()), (x, y, shared)


# --- the keyed decisions (transforms.core.dedup) ---------------------------------

DAY_US = 86_400 * 1_000_000


def _fp(doc_id: str, text: str, day: float) -> Fingerprint:
    shingles = compact(tokens(text))
    return Fingerprint(doc_id, int(day * DAY_US), shingles.tobytes(), len(shingles))


def test_an_anchor_matches_the_most_similar_representative_within_the_horizon():
    rule = CopyRule()
    cut = " ".join(S000.split()[: len(S000.split()) * 2 // 3])
    other = SEEDS_TEXT["001_8b81df99018cc380.txt"]
    fps = [_fp("a", S000, 0), _fp("o", other, 0.1), _fp("b", cut, 1), _fp("late", S000, 5)]
    reps, verdicts, dropped = run_anchor([], fps, rule, 3 * DAY_US, max_reps=10)
    decided = {fp.doc_id: m for fp, m in verdicts}
    assert decided["a"] is None and decided["o"] is None  # first copies
    assert decided["b"].target == "a" and decided["b"].similarity > 0.95  # a cut: contained whole
    assert decided["late"] is None  # five days on: a has expired
    assert [r.doc_id for r in reps] == ["late"] and dropped == 0


def test_an_anchor_keeps_only_the_newest_representatives():
    fps = [_fp(f"d{i}", SEEDS_TEXT[name], i * 0.01) for i, name in enumerate(sorted(SEEDS_TEXT))]
    reps, _, dropped = run_anchor([], fps, CopyRule(), 3 * DAY_US, max_reps=2)
    assert [r.doc_id for r in reps] == ["d3", "d4"] and dropped == 3


def test_exact_stage_keeps_the_first_copy_per_horizon():
    items = [(0, "a", "A"), (DAY_US, "b", "B"), (4 * DAY_US, "c", "C")]
    first, decided = run_exact(None, items, 3 * DAY_US)
    assert [f for _, _, f in decided] == [None, ("a", 0), None] and first == ("c", 4 * DAY_US)


def test_route_forwards_copies_of_copies_until_the_last_hop():
    copy = Copy({"doc_id": "x"}, 5, 2)
    done, forward, unresolved = route("e", Matched("r", 1, 2), [copy], last_hop=False)
    assert done == [] and forward == [("r", Copy({"doc_id": "x"}, 5, 1))] and unresolved == 0
    done, forward, unresolved = route("e", Matched("r", 1, 2), [copy], last_hop=True)
    assert done == [({"doc_id": "x", "story_id": "r"}, 5)] and unresolved == 1
    done, _, _ = route("r", Matched("r", 1, 1), [copy], last_hop=False)
    assert done == [({"doc_id": "x", "story_id": "r"}, 5)]


def test_best_match_prefers_similarity_then_earliest():
    m = [Match("d", "c", 0, 0.82), Match("d", "a", 5, 0.97), Match("d", "b", 3, 0.97)]
    assert best_match(m).target == "b" and best_match([]) is None
