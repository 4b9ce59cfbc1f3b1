"""The dedup steps without Beam: an ordered step decided in pieces (as the
streaming form does, one wake at a time, expiring state in between) gives
what it gives on the whole group (the batch form); a document's decision
and the resolution hops route copies to the right story."""

from __future__ import annotations

import pytest

from tests.inputs import SEED_000, SEED_001, SEED_002
from transforms.core.dedup import (
    SAME_URL_RULE,
    Copy,
    Fingerprint,
    Match,
    Matched,
    Pointer,
    Verdict,
    Waiting,
    exact_key,
    in_order,
)
from transforms.core.dedup_steps import (
    COPIES,
    FORWARD,
    JUMPED,
    MATCHED,
    AnchorStep,
    ExactStep,
    IdentifyStep,
    StatePart,
    decide_document,
    resolve_copies,
)
from transforms.core.normalize import tokens
from transforms.core.overlap import CopyRule, compact

HOUR = 3_600_000_000


def _article(doc_id: str, text: str, uri: str) -> dict:
    return {"doc_id": doc_id, "text": text, "source_uri": uri}


def _values(step, name: str) -> list[tuple[int, object]]:
    """(event time, value) for the step: a story, its repeat, another story
    and late repeats, over more than one horizon."""
    texts = [SEED_000, SEED_000, SEED_001, SEED_000 + " تحديث", SEED_002, SEED_001]
    hours = [0, 1, 2, 30, 100, 101]
    values = []
    for i, (text, hour) in enumerate(zip(texts, hours, strict=True)):
        article = _article("same" if name == "identify" else f"d{i}", text, f"s#{i}")
        if name == "anchor":
            shingles = compact(tokens(text))
            values.append((hour * HOUR, Fingerprint(f"d{i}", hour * HOUR, shingles.tobytes(), len(shingles))))
        else:
            values.append((hour * HOUR, article))
    return values


def _steps():
    return {
        "identify": IdentifyStep(SAME_URL_RULE, keep_us=1000 * HOUR),
        "exact": ExactStep(horizon_us=72 * HOUR),
        "anchor": AnchorStep(CopyRule(), horizon_us=72 * HOUR, max_reps=100),
    }


@pytest.mark.parametrize("name", ["identify", "exact", "anchor"])
def test_an_ordered_step_decides_in_pieces_as_on_the_whole_group(name):
    step = _steps()[name]
    step.setup()
    items = in_order([(ts, step.tie(v), v) for ts, v in _values(step, name)])
    _, whole, whole_counts = step.decide(step.initial(), items, complete=False)
    state, pieces, counts = step.initial(), [], {}
    for item in items:
        state, outs, got = step.decide(state, [item], complete=False)
        pieces += outs
        for k, v in got.items():
            counts[k] = counts.get(k, 0) + v
        state, _ = step.expire(state, item[0])
    assert pieces == whole and counts == whole_counts
    assert any(out.tag is not None or name == "anchor" for out in whole)


def test_exact_copies_report_what_they_matched_and_expire_after_the_horizon():
    step = ExactStep(horizon_us=72 * HOUR)
    items = [(0, "a", _article("a", SEED_000, "1")), (HOUR, "b", _article("b", SEED_000, "2")),
             (100 * HOUR, "c", _article("c", SEED_000, "3"))]  # fmt: skip
    first, outs, counts = step.decide(None, items, complete=True)
    assert counts == {"exact_copies": 1} and first == ("c", 100 * HOUR)
    tags = [(o.tag, o.value[0] if o.tag else o.value["doc_id"]) for o in outs]
    assert tags == [(None, "a"), (COPIES, "a"), (MATCHED, "b"), (None, "c")]
    assert step.expire(first, 173 * HOUR) == (None, None)


def test_an_anchor_reports_misses_only_when_the_group_is_incomplete():
    step = AnchorStep(CopyRule(), horizon_us=72 * HOUR, max_reps=100)
    values = _values(step, "anchor")
    items = in_order([(ts, step.tie(v), v) for ts, v in values])
    _, streaming, _ = step.decide([], items, complete=False)
    _, batch, _ = step.decide([], items, complete=True)
    assert len(streaming) == len(items)
    assert batch == [o for o in streaming if o.value[1].match is not None] and batch


def test_a_document_is_a_story_or_a_copy_of_its_best_match():
    article = _article("d", SEED_000, "x")
    outs, counts = decide_document("d", 5, [Verdict(None), Waiting(article, 1)])
    assert counts == {"stories": 1}
    assert outs[0].value["story_id"] == "d" and outs[1] == (MATCHED, 5, ("d", Matched("d", 5, 5)))
    worse, better = Match("d", "a", 1, 0.7), Match("d", "b", 2, 0.9)
    outs, counts = decide_document("d", 5, [Verdict(worse), Waiting(article, 2), Verdict(better)])
    assert counts == {"near_copies": 1}
    assert outs[0].value == ("d", Matched("b", 2, 5))
    assert outs[1].tag == COPIES and outs[1].value[0] == "b" and outs[1].value[1].article["duplicate_of"] == "b"


def test_resolution_gives_a_copy_its_story_or_forwards_it():
    copy = Copy({"doc_id": "c"}, 9, 5)
    outs, counts = resolve_copies("a", Matched("a", 5, 5), [copy], last_hop=False)
    assert outs[0].value["story_id"] == "a" and counts == {"unresolved_copies": 0}
    outs, _ = resolve_copies("b", Matched("a", 1, 5), [copy], last_hop=False)
    assert outs == [(FORWARD, 9, ("a", Copy({"doc_id": "c"}, 9, 1)))]
    outs, counts = resolve_copies("b", Matched("a", 1, 5), [copy], last_hop=True)
    assert outs[0].value["story_id"] == "a" and counts == {"unresolved_copies": 1}
    outs, counts = resolve_copies("b", None, [copy], last_hop=False)
    assert outs[0].value["story_id"] == "b" and counts == {"unresolved_copies": 1}


def test_pointers_jump_so_each_hop_reaches_twice_as_far():
    """A chain e -> d -> c -> b -> a (each matched the one before): hop by
    hop, every document's pointer is moved to where its target points, so
    after two hops e points at a, four matches back."""
    chain = {"a": "a", "b": "a", "c": "b", "d": "c", "e": "d"}
    pointing = {doc: Matched(target, 0, 0) for doc, target in chain.items()}
    for _ in range(2):
        moved = {}
        for key in pointing:
            pointers = [Pointer(doc, 0) for doc, m in pointing.items() if m.target == key]
            outs, _ = resolve_copies(key, pointing[key], [], False, pointers)
            assert all(out.tag == JUMPED for out in outs)
            moved |= dict(out.value for out in outs)
        pointing = moved
    assert {doc: m.target for doc, m in pointing.items()} == {"a": "a", "b": "a", "c": "a", "d": "a", "e": "a"}
    # A document whose own target expired keeps the pointers at itself.
    outs, _ = resolve_copies("b", None, [], False, [Pointer("c", 7)])
    assert outs == [(JUMPED, 7, ("c", Matched("b", 7, 7)))]


def test_identity_rows_of_an_earlier_version_are_compared_by_text_only():
    """State written when Identify kept MinHash signatures (128 values, not
    one hash per 2-gram) is not read as a compact form: the URL's story is
    still known by its text, and a rerun of it is already ingested."""
    step = IdentifyStep(SAME_URL_RULE, keep_us=1000 * HOUR)
    form = compact(tokens(SEED_000))
    old = StatePart("identify", "u", "u", 0, values=bytes(512), size=301, text_key=exact_key(SEED_000))
    new = StatePart("identify", "v", "v", 0, values=form.tobytes(), size=len(form), text_key="k")
    loaded_old, loaded_new = step.load([old])[0], step.load([new])[0]
    assert loaded_old.size == -1 and loaded_old.values == b"" and loaded_old.prior
    assert loaded_new.size == len(form) and loaded_new.values == form.tobytes()
    rerun = (HOUR, "r", _article("u", SEED_000, "again"))
    _, outs, counts = step.decide(step.load([old]), [rerun], complete=False)
    assert counts["already_ingested"] == 1 and outs == []
