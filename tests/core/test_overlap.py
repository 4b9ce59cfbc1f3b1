"""What two texts share (transforms.core.overlap): exact 2-gram
containment, where the shared text begins, and the anchors that make two
documents candidates."""

from __future__ import annotations

import subprocess
import sys

import mmh3
import numpy as np

from tests.conftest import ROOT
from tests.inputs import SEED_000, SEED_001, SEED_003
from transforms.core.dedup import exact_key
from transforms.core.normalize import normalize_for_hashing, tokens
from transforms.core.overlap import MAX_SHINGLES, CopyRule, anchors, article_words, compact, overlap
from transforms.core.textclean import clean_text

A, B, C = (tokens(clean_text(s).text) for s in (SEED_000, SEED_001, SEED_003))
RULE = CopyRule()


def test_compact_form_is_the_distinct_2grams_in_text_order_and_capped():
    words = "a b a b c".split()
    form = compact(words)
    assert form.dtype == np.uint32 and len(form) == 3  # "a b", "b a", "b c": the repeat counted once
    assert np.array_equal(form, compact("a b a b c d".split())[:3])  # order of first occurrence
    assert len(compact([f"w{i}" for i in range(MAX_SHINGLES + 50)])) == MAX_SHINGLES
    assert len(compact([])) == 0 and len(compact(["one"])) == 1


def _defined(words: list[str], n: int, seed: int) -> list[int]:
    """The hashes as the state format defines them: each run of ``n`` words
    (the whole text if shorter) joined by a space, MurmurHash3 unsigned with
    ``seed``, in text order.  Earlier runs' state holds these values, so a
    faster computation must give them exactly."""
    grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)] or ([" ".join(words)] if words else [])
    return [mmh3.hash(g, seed, signed=False) for g in grams]


def test_compact_form_and_anchors_are_the_hashes_the_state_format_defines():
    for words in (A, B, C, A + B, [], ["one"], ["one", "two"], "a b c d e".split(), "a b c d e f".split()):
        assert compact(words).tolist() == list(dict.fromkeys(_defined(words, 2, 11)))[:MAX_SHINGLES]
        five = set(_defined(words, 5, 13))
        chosen = sorted(h for h in five if h % 8 == 0)[:64] or sorted(five)[:1]
        assert anchors(words, 8, 64) == [f"{h:08x}" for h in chosen]


def test_a_normalization_passed_in_gives_the_same_words_and_key_as_the_text():
    title, text = "Wire: Shelling in  STEPANAKERT", clean_text(SEED_001).text
    normalized = normalize_for_hashing(text)
    words = article_words(title, text)
    assert words[:4] == ["wire", "shelling", "in", "stepanakert"] and words[4:] == tokens(text)
    assert article_words(title, text, normalized=normalized) == words
    assert article_words(None, "", normalized="") == []
    assert exact_key(text, normalized=normalized) == exact_key(text) != exact_key(text + " x")


def test_containment_is_exact_and_symmetric():
    half = A[: len(A) // 2]
    got = overlap(compact(A), compact(half))
    assert got == overlap(compact(half), compact(A))
    assert got.containment == 1.0 and got.lead < 0.15 and got.is_copy(RULE)  # a quarter into the half
    assert overlap(compact(A), compact(B)).containment < 0.2  # two reports of the same war
    assert overlap(compact([]), compact(A)).containment == 0.0


def test_shared_text_at_the_foot_of_a_longer_text_is_no_copy_unless_nearly_whole():
    # C followed by a box reprinting the first half of A's words: half of A is shared,
    # but only at the foot of the longer text.
    boxed = C + A[: len(A) // 2]
    box = overlap(compact(A), compact(boxed))
    assert RULE.containment <= box.containment < RULE.anywhere and box.lead > RULE.lead
    assert not box.is_copy(RULE)
    # The same share at the start (a cut of A with C's text added after) is a copy.
    lead = overlap(compact(A), compact(A[: len(A) // 2] + C))
    assert lead.lead < 0.15 and lead.is_copy(RULE)
    # A brief that is one stretch of a longer story is a copy wherever it sits.
    brief = A[len(A) - 60 :]
    assert overlap(compact(brief), compact(A)).lead > RULE.lead and overlap(compact(brief), compact(A)).is_copy(RULE)


def test_anchors_of_a_text_do_not_depend_on_the_rest_of_the_document():
    full = set(anchors(A, 8, 64))
    assert 0 < len(full) <= 64
    cut = set(anchors(A[: len(A) * 2 // 5], 8, 64))
    assert cut and cut <= full  # a cut copy keeps the anchors of what it kept
    assert len(anchors(A + B + C, 8, 5)) == 5  # capped: the smallest hashes
    assert anchors("قصف مدفعي".split(), 8, 64)  # a text with no divisible hash still has one


def test_anchors_and_compact_form_are_the_same_in_another_process():
    text = " ".join(A)
    local = (anchors(A, 8, 64), compact(A).tolist())
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from transforms.core.normalize import tokens;"
        "from transforms.core.overlap import anchors, compact;"
        "w = tokens(sys.stdin.read()); print((anchors(w, 8, 64), compact(w).tolist()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)], input=text, capture_output=True, text=True,
        env={"PYTHONHASHSEED": "99"}, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == str(local)
