"""Normalization, shingles, MinHash and LSH bands (the dedup core, no Beam)."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT, SEEDS
from transforms.core.minhash import MinHasher, SimilarityThresholds, band_keys, is_same_story, shingles
from transforms.core.normalize import normalize_for_hashing
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


def test_signature_is_the_same_in_another_process():
    local = MinHasher().signature(S000).values.tolist()
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from transforms.core.minhash import MinHasher;"
        "print(MinHasher().signature(sys.stdin.read()).values.tolist())"
    )
    # A different PYTHONHASHSEED must not matter (Python's hash() would).
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)],
        input=S000,
        capture_output=True,
        text=True,
        env={"PYTHONHASHSEED": "123"},
        check=True,
    )
    assert done.stdout.strip() == str(local)


def test_jaccard_estimate_is_close_to_the_true_value():
    hasher = MinHasher(num_perm=256)
    paragraphs = S000.split("\n")
    half = "\n".join(paragraphs[: len(paragraphs) // 2])
    a, b = shingles(S000), shingles(half)
    true_j = len(a & b) / len(a | b)
    assert abs(hasher.signature(S000).jaccard(hasher.signature(half)) - true_j) < 0.08


def test_a_cut_copy_is_caught_by_containment_not_jaccard():
    hasher = MinHasher()
    paragraphs = S000.split("\n")
    cut = "\n".join(paragraphs[: int(len(paragraphs) * 0.6)])
    full, part = hasher.signature(S000), hasher.signature(cut)
    assert full.jaccard(part) < 0.7
    same, score = is_same_story(full, part, SimilarityThresholds())
    assert same and score > 0.85


def test_different_seed_articles_are_different_stories():
    hasher = MinHasher()
    sigs = {name: hasher.signature(text) for name, text in SEEDS_TEXT.items()}
    names = sorted(sigs)
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            same, score = is_same_story(sigs[x], sigs[y], SimilarityThresholds())
            assert not same, (x, y, score)


def test_near_copies_share_a_band_and_strangers_do_not():
    hasher = MinHasher()
    edited = S000.replace("أعلن", "اعلن").replace("قره باغ", "قرة باغ") + "\nباكو (وكالات) -"
    a, b = hasher.signature(S000), hasher.signature(edited)
    c = hasher.signature(SEEDS_TEXT["001_8b81df99018cc380.txt"])
    assert set(band_keys(a, 32, 4)) & set(band_keys(b, 32, 4))
    assert not set(band_keys(a, 32, 4)) & set(band_keys(c, 32, 4))
    with pytest.raises(ValueError):
        band_keys(a, 64, 4)
