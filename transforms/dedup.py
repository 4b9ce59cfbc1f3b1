"""Dedup stage: the same story, republished, becomes one story.

Articles in; first copies (``story_id`` = own ``doc_id``) and later copies
(``story_id``, ``duplicate_of``, ``similarity``, ``duplicate_kind``) out.
There is no global index: every step is keyed, so it scales out on any
runner.

    Identify (key: URL-derived doc_id) -> same-URL copies ----------------+
      | one doc_id per record from here on                                |
    Exact (key: normalized-text hash)  -> exact copies, what they matched +
      | first of each text                                                |
    Fingerprint (2-gram hashes, once per doc)                             |
      | one element per anchor          \\ the article                    |
    CompareAtAnchor (key: anchor)        |                                |
      | best match per anchor            |                                |
    Decide (key: doc_id) <---------------+                                |
      | first copies -> articles; what each document matched; copies      |
    ResolveHop1..6 (key: where the copy points) <-------------------------+
      | copies, with the story of the doc they matched; pointers doubled
      +-> duplicates

What each step decides is in :mod:`transforms.core.dedup_steps`, without
Beam; this module only runs it.  Identify, Exact and CompareAtAnchor are
ordered steps: a key's values are decided in ``(event time, tie)`` order
against what the key keeps.  Each runs in one of two forms, written once
for all three:

* batch (:class:`GroupedStepFn`): after a ``GroupByKey``, a key's values
  sorted, decided at once;
* streaming (:class:`StatefulStepFn`): values wait in a bag until the
  watermark passes them, then are decided in the same order; what the key
  keeps expires by event-time timer.  A value that arrives late is decided
  at once against the state at hand.

The results are identical for data that is not late.  The stateful form
costs 13x the grouped one in batch (221 documents: 23 s against 1.7 s),
with or without the SDK harness's state cache: docs/dedup.md has the
measurement.  Decide gathers a document's anchor verdicts (by count when
streaming), and each resolution hop joins copies with what the document
they matched matched; both run the same decision in either form.

In streaming each stateful step reads through ``ReshufflePerKey``: on the
local FnApiRunner a stateful step fused behind another step's timer output
never sees its own timers fire (its output is silently lost).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow.parquet as pq
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.util import ReshufflePerKey
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from transforms.common import ALREADY_INGESTED, KEYED, NamedCounters, StageDoFn, counter, timed_stage
from transforms.core.dedup import (
    MICROS,
    SAME_URL_RULE,
    Copy,
    Fingerprint,
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
    PREPARED,
    AnchorStep,
    Counts,
    ExactStep,
    IdentifyStep,
    OrderedStep,
    Out,
    StatePart,
    decide_document,
    matched_of,
    matched_part,
    resolve_copies,
)
from transforms.core.ids import stable_hash
from transforms.core.overlap import CopyRule, anchors, article_words, compact
from transforms.core.params import DedupParams
from transforms.core.records import Reject

BY_DOC = "by_doc"
STATE = "state"
# Where a run keeps its dedup state, inside the output's state folder.
STATE_FOLDER = "dedup"
# Pointer jumping: hop k moves a copy 2^(k-1) matches on, so 6 hops resolve
# a chain of up to 64 copies each matching the one before (the real pairs'
# corpus has chains of 19); a longer one keeps the best known story and is
# counted as unresolved_copies.
RESOLVE_HOPS = 6
_MS = 1000


def _micros(ts: Timestamp) -> int:
    """An element's event time in microseconds, cut to the millisecond:
    runners carry timestamps in milliseconds, so a finer value could differ
    depending on whether the element crossed a process boundary."""
    return ts.micros // _MS * _MS


def _arm(timer, armed, at_us: int) -> None:
    """Set ``timer`` to ``at_us`` (rounded up to the millisecond timers
    have) unless it is already set earlier.  A timer has one firing time
    per key, so the earliest pending one is tracked."""
    at_us = -(-at_us // _MS) * _MS
    current = armed.read()
    if current is None or at_us < current:
        timer.set(Timestamp(micros=at_us))
        armed.write(at_us)


class _StepFn(StageDoFn):
    """What every dedup DoFn shares: the stage clock, and turning a step's
    outputs and counts into Beam outputs and ``dedup.*`` counters."""

    STAGE = "dedup"

    def setup(self) -> None:
        super().setup()
        self._counts = NamedCounters("dedup.")

    def _emit(self, result: tuple[list[Out], Counts]) -> Iterator:
        outs, counts = result
        for name, n in counts.items():
            if n:
                self._counts.inc(name, n)
        for out in outs:
            value = TimestampedValue(out.value, Timestamp(micros=out.ts_us))
            yield value if out.tag is None else beam.pvalue.TaggedOutput(out.tag, value)


class GroupedStepFn(_StepFn):
    """Batch form of an ordered step: one key's ``(ts_us, value)`` pairs
    after a GroupByKey, decided at once, starting from what an earlier run
    kept under the key (its :class:`StatePart` rows, in the same group).
    ``save_state``: also send on what the key keeps now that the next run
    still needs, by the run's newest event time (the side input
    ``clock_us``, see :func:`_still_needed`)."""

    def __init__(self, step: OrderedStep, save_state: bool = False) -> None:
        self.step = step
        self.save_state = save_state

    def setup(self) -> None:
        super().setup()
        self.step.setup()

    @timed_stage
    def process(
        self, element: tuple[str, Iterable[tuple[int, Any] | StatePart]], clock_us: int | None = None
    ) -> Iterator:
        key, values = element
        items, parts = [], []
        for value in values:
            if isinstance(value, StatePart):
                parts.append(value)
            else:
                items.append((value[0], self.step.tie(value[1]), value[1]))
        state = self.step.load(parts) if parts else self.step.initial()
        state, outs, counts = self.step.decide(state, in_order(items), complete=True)
        yield from self._emit((outs, counts))
        if self.save_state:
            for part in self.step.save(key, state):
                for kept in _still_needed(part, clock_us, self.step.keep_us):
                    yield beam.pvalue.TaggedOutput(STATE, kept)


class StatefulStepFn(_StepFn):
    """Streaming form of an ordered step: values wait until the watermark
    passes their event time, so a key's values are decided in event-time
    order whatever their arrival order; what the key keeps expires by timer."""

    PENDING = BagStateSpec("pending", PickleCoder())
    ARMED = ReadModifyWriteStateSpec("armed_us", VarIntCoder())
    WAKE = TimerSpec("wake", TimeDomain.WATERMARK)
    KEPT = ReadModifyWriteStateSpec("kept", PickleCoder())

    def __init__(self, step: OrderedStep) -> None:
        self.step = step

    def setup(self) -> None:
        super().setup()
        self.step.setup()

    def process(
        self,
        element: tuple[str, Any],
        ts=beam.DoFn.TimestampParam,
        pending=beam.DoFn.StateParam(PENDING),
        armed=beam.DoFn.StateParam(ARMED),
        wake=beam.DoFn.TimerParam(WAKE),
    ) -> None:
        ts_us = _micros(ts)
        pending.add((ts_us, self.step.tie(element[1]), element[1]))
        _arm(wake, armed, ts_us)

    @on_timer(WAKE)
    def on_wake(
        self,
        now=beam.DoFn.TimestampParam,
        pending=beam.DoFn.StateParam(PENDING),
        armed=beam.DoFn.StateParam(ARMED),
        kept=beam.DoFn.StateParam(KEPT),
        wake=beam.DoFn.TimerParam(WAKE),
    ) -> Iterator:
        yield from self._clock.timed(self._wake(now.micros, pending, armed, kept, wake))

    def _wake(self, now_us: int, pending, armed, kept, wake) -> Iterator:
        items = list(pending.read())
        ready = in_order([i for i in items if i[0] <= now_us])
        waiting = [i for i in items if i[0] > now_us]
        pending.clear()
        for item in waiting:
            pending.add(item)
        armed.clear()
        state = kept.read()
        state, outs, counts = self.step.decide(self.step.initial() if state is None else state, ready, False)
        yield from self._emit((outs, counts))
        state, oldest_us = self.step.expire(state, now_us)
        kept.write(state) if state else kept.clear()
        # Wake again for the next waiting value, or when the oldest kept expires.
        if oldest_us is not None:
            _arm(wake, armed, oldest_us + self.step.keep_us + 1)
        if waiting:
            _arm(wake, armed, min(i[0] for i in waiting))


class KeyByTextFn(_StepFn):
    """article -> (hash of its normalized text, article), for exact copies."""

    @timed_stage
    def process(self, article: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        prepared = article.get(PREPARED)
        yield (exact_key(article["text"]) if prepared is None else prepared.text_key), article


class FingerprintFn(_StepFn):
    """One compact form per document (the 2-gram hashes of its headline and
    text), sent to each of its anchor keys; the article itself goes once,
    keyed by doc_id, to wait for the verdicts.  An earlier run's anchor row
    (a :class:`StatePart`, in an --append run) goes on to its anchor key as
    it is."""

    def __init__(self, *, anchor_every: int, max_anchors: int):
        self.anchor_every = anchor_every
        self.max_anchors = max_anchors

    @timed_stage
    def process(self, element: dict[str, Any] | StatePart, ts=beam.DoFn.TimestampParam) -> Iterator:
        if isinstance(element, StatePart):
            yield (element.key, element)
            return
        article = {k: v for k, v in element.items() if k != PREPARED}
        prepared = element.get(PREPARED)
        if prepared is None:
            words = article_words(article.get("title"), article["text"])
            shingles = compact(words)
        else:  # what Identify computed of the same text
            words = article_words(article.get("title"), article["text"], normalized=prepared.normalized)
            shingles = np.frombuffer(prepared.form, dtype=np.uint32)
        fp = Fingerprint(article["doc_id"], _micros(ts), shingles.tobytes(), len(shingles))
        keys = anchors(words, self.anchor_every, self.max_anchors)
        for key in keys:
            yield (key, fp)
        yield beam.pvalue.TaggedOutput(BY_DOC, (fp.doc_id, Waiting(article, len(keys))))


class DecideGroupFn(_StepFn):
    """Batch: a document's article and its anchors' matches, after a GroupByKey."""

    @timed_stage
    def process(self, element: tuple[str, Iterable[tuple[int, Waiting | Verdict]]]) -> Iterator:
        doc_id, values = element
        values = list(values)
        yield from self._emit(decide_document(doc_id, values[0][0], [m for _, m in values]))


class DecideFn(_StepFn):
    """Streaming: waits for the article and the verdict of every anchor
    (the article says how many anchors it was sent to)."""

    MESSAGES = BagStateSpec("messages", PickleCoder())
    SEEN = ReadModifyWriteStateSpec("seen", VarIntCoder())
    EXPECTED = ReadModifyWriteStateSpec("expected", VarIntCoder())

    @timed_stage
    def process(
        self,
        element: tuple[str, Waiting | Verdict],
        ts=beam.DoFn.TimestampParam,
        messages=beam.DoFn.StateParam(MESSAGES),
        seen_state=beam.DoFn.StateParam(SEEN),
        expected_state=beam.DoFn.StateParam(EXPECTED),
    ) -> Iterator:
        doc_id, message = element
        seen = (seen_state.read() or 0) + 1
        if isinstance(message, Waiting):
            expected = message.anchors + 1
            expected_state.write(expected)
        else:
            expected = expected_state.read()
        if expected is None or seen < expected:
            messages.add(message)
            seen_state.write(seen)
            return
        gathered = [*messages.read(), message]
        messages.clear()
        seen_state.clear()
        expected_state.clear()
        yield from self._emit(decide_document(doc_id, _micros(ts), gathered))


def _resolve(key: str, matched: Matched | None, arrived: list[Copy | Pointer], last_hop: bool):
    """One resolution hop at ``key`` for the copies and pointers that arrived there."""
    copies = [m for m in arrived if isinstance(m, Copy)]
    pointers = [m for m in arrived if isinstance(m, Pointer)]
    return resolve_copies(key, matched, copies, last_hop, pointers)


class ResolveGroupFn(_StepFn):
    """Batch: the copies that wait at a document, the documents that point
    at it, and where it points."""

    def __init__(self, last_hop: bool):
        self.last_hop = last_hop

    @timed_stage
    def process(self, element: tuple[str, Iterable[Matched | Copy | Pointer]]) -> Iterator:
        key, values = element
        matched = next((v for v in values if isinstance(v, Matched)), None)
        arrived = [v for v in values if not isinstance(v, Matched)]
        if arrived:
            yield from self._emit(_resolve(key, matched, arrived, self.last_hop))


class ResolveFn(_StepFn):
    """Streaming: copies and pointers wait for where their document points.
    State is dropped once none can arrive any more: horizon plus allowed
    lateness after the document's event time."""

    MATCHED = ReadModifyWriteStateSpec("matched", PickleCoder())
    WAITING = BagStateSpec("waiting", PickleCoder())
    ARMED = ReadModifyWriteStateSpec("armed_us", VarIntCoder())
    EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)

    def __init__(self, *, keep_us: int, last_hop: bool):
        self.keep_us = keep_us
        self.last_hop = last_hop

    @timed_stage
    def process(
        self,
        element: tuple[str, Matched | Copy | Pointer],
        key=beam.DoFn.KeyParam,
        matched_state=beam.DoFn.StateParam(MATCHED),
        waiting=beam.DoFn.StateParam(WAITING),
        armed=beam.DoFn.StateParam(ARMED),
        expire_timer=beam.DoFn.TimerParam(EXPIRE),
    ) -> Iterator:
        message = element[1]
        _arm(expire_timer, armed, message.ts_us + self.keep_us)
        if isinstance(message, Matched):
            matched_state.write(message)
            arrived = list(waiting.read())
            waiting.clear()
        else:
            arrived = [message]
            if matched_state.read() is None:
                waiting.add(message)
                return
        yield from self._emit(_resolve(key, matched_state.read(), arrived, self.last_hop))

    @on_timer(EXPIRE)
    def on_expire(
        self,
        key=beam.DoFn.KeyParam,
        matched_state=beam.DoFn.StateParam(MATCHED),
        waiting=beam.DoFn.StateParam(WAITING),
        armed=beam.DoFn.StateParam(ARMED),
    ) -> Iterator:
        left = list(waiting.read())
        if left:
            yield from self._emit(_resolve(key, None, left, self.last_hop))
        for state in (matched_state, waiting, armed):
            state.clear()


# --- the two forms of each keyed step ------------------------------------------


def _with_ts(element: tuple[str, Any], ts=beam.DoFn.TimestampParam) -> tuple[str, Any]:
    """Keep the event time through a GroupByKey (the group's timestamp is
    not the element's); an earlier run's state row carries its own."""
    key, value = element
    return element if isinstance(value, StatePart) else (key, (_micros(ts), value))


def _of_step(part: StatePart, step: str) -> bool:
    return part.step == step


def _prior_of(part: StatePart, step: str) -> Iterator[tuple[str, StatePart]]:
    if _of_step(part, step):
        yield part.key, part


def _prior_matched(part: StatePart) -> Iterator[tuple[str, Matched]]:
    if _of_step(part, MATCHED):
        yield part.key, matched_of(part)


def _event_us(_: Any, ts=beam.DoFn.TimestampParam) -> int:
    """An article's event time: its element timestamp, as every step reads it."""
    return _micros(ts)


def _still_needed(part: StatePart, clock_us: int | None, keep_us: int) -> Iterator[StatePart]:
    """A state row as a run whose newest event is at ``clock_us`` leaves
    it: whole as long as a record may still come that matches it; after
    that nothing, except a URL's identity, which stays without its
    signature (``size`` -1) so that a record an earlier run wrote is still
    known as already ingested, and a new text under its URL still gets a
    doc_id of its own."""
    if clock_us is None or part.ts_us + keep_us >= clock_us:
        yield part
    elif part.step == "identify":
        yield part._replace(values=b"", size=-1)


def _matched_rows(element: tuple[str, Matched], clock_us: int | None, keep_us: int) -> Iterator[StatePart]:
    """What a document matched, as the state row the next run reads, while it is still needed."""
    yield from _still_needed(matched_part(*element), clock_us, keep_us)


def _with_prior(pcoll, label: str, prior):
    """``pcoll`` and an earlier run's rows ``prior`` as one PCollection, or
    ``pcoll`` alone when there are none: on the local runner a Flatten is
    one more pass of every value, so none is applied for nothing."""
    return pcoll if prior is None else (pcoll, prior) | label >> beam.Flatten()


class _Form:
    """How a keyed step reads its key's values: grouped (batch) or through
    state (streaming).  Each streaming shuffle declares its output as
    ``(str, Any)`` so the state's keys are encoded as UTF-8 strings:
    deterministic by contract, and fixed now, since a later change of key
    coder breaks Dataflow's ``--update``."""

    def __init__(self, streaming: bool, prior=None, keep_state: bool = False, clock=None) -> None:
        self.streaming = streaming
        # Batch only: the StatePart rows an earlier run kept, or None.
        self.prior = prior
        # Batch only: each step also sends on what it keeps, for the next run.
        self.saving = (keep_state or prior is not None) and not streaming
        # Batch only: the run's newest event time (a singleton side input, see
        # Deduplicate.clock), by which each step leaves out what no later
        # record can need; None keeps every row.
        self.clock = clock

    def _apply(self, keyed, by: str, label: str, batch_fn, stream_fn, outputs: tuple[str, ...], main: str, stamp: bool,
               prior=None, side: tuple = ()):  # fmt: skip
        if self.streaming:
            shuffled = keyed | f"Shuffle{by}" >> ReshufflePerKey().with_output_types(KEYED)
            pardo = beam.ParDo(stream_fn).with_input_types(KEYED)
        else:
            stamped = keyed | f"Stamp{by}" >> beam.Map(_with_ts) if stamp else keyed
            shuffled = _with_prior(stamped, f"WithPrior{by}", prior) | f"Group{by}" >> beam.GroupByKey()
            pardo = beam.ParDo(batch_fn, *side)
        return shuffled | label >> (pardo.with_outputs(*outputs, main=main) if outputs else pardo)

    def ordered(self, keyed, by: str, label: str, step: OrderedStep, *outputs: str, joined: bool = False):
        """The step, and in batch what it keeps for the next run (the
        ``state`` output) when state is kept.  ``joined``: the earlier
        run's rows of the step are among ``keyed`` already."""
        prior, side = None, ()
        if self.saving:
            if self.prior is not None and not joined:
                prior = self.prior | f"Prior{by}" >> beam.FlatMap(_prior_of, step.name)
            outputs = (*outputs, STATE)
            side = () if self.clock is None else (self.clock,)
        batch = GroupedStepFn(step, save_state=self.saving)
        return self._apply(keyed, f"By{by}", label, batch, StatefulStepFn(step), outputs, "main", True, prior, side)

    def decide(self, keyed):
        outputs = (MATCHED, COPIES)
        return self._apply(keyed, "ByDoc", "Decide", DecideGroupFn(), DecideFn(), outputs, "stories", True)

    def resolve(self, keyed, hop: int, keep_us: int, last_hop: bool):
        batch, stream = ResolveGroupFn(last_hop), ResolveFn(keep_us=keep_us, last_hop=last_hop)
        outputs = (FORWARD, JUMPED)
        return self._apply(keyed, f"Hop{hop}", f"ResolveHop{hop}", batch, stream, outputs, "resolved", False)


class IdentifyRecords(beam.PTransform):
    """articles -> {'main': articles with a doc_id of their own, 'copies':
    same-URL copies, keyed by the doc_id they repeat; 'state' when
    ``prior`` is given or ``keep_state``}.

    Every later step keys by doc_id, so two records that share one must be
    told apart first: a URL is evidence of identity, not proof (see
    :func:`transforms.core.dedup.run_identity`).  A record whose URL and
    text an earlier run wrote (``prior``) is counted as
    ``dedup.already_ingested`` and not written again."""

    def __init__(self, *, keep_us: int, streaming: bool, prior=None, keep_state: bool = False, clock=None):
        super().__init__()
        self.form = _Form(streaming, prior, keep_state, clock)
        self.step = IdentifyStep(SAME_URL_RULE, keep_us, remember=self.form.saving)

    def expand(self, articles):
        keyed = articles | "KeyByUrl" >> beam.Map(_key_by_doc)
        return self.form.ordered(keyed, "Url", "DecideIdentity", self.step, COPIES)


class Deduplicate(beam.PTransform):
    """articles -> {'articles': first copies, 'duplicates': later copies},
    and 'state' (:class:`StatePart` rows) when ``prior`` is given or
    ``keep_state`` (a first run of an output, that a later one continues).

    ``streaming`` picks the stateful form (unbounded input); batch runs the
    grouped form.  Both decide the same for data that is not late.  State
    is kept ``lateness_seconds`` past the horizon, as long as a late
    record may still come.  ``prior`` (batch only): what an earlier run
    kept (possibly nothing); each step starts from it, and what is still
    needed at the end, by the newest event time seen, is the 'state'
    output, so a run over one day after a run over the day before gives
    the story_ids one run over both would.
    """

    def __init__(
        self,
        params: DedupParams = DedupParams(),
        *,
        lateness_seconds: int = 86_400,
        streaming: bool = False,
        prior=None,
        keep_state: bool = False,
    ) -> None:
        super().__init__()
        if (prior is not None or keep_state) and streaming:
            raise ValueError("a streaming job keeps dedup state in the runner, not in the output")
        self.params = params
        self.rule = CopyRule(params.containment, params.lead, params.containment_anywhere)
        self.horizon_us = round(params.horizon_days * 86_400) * MICROS
        self.keep_us = self.horizon_us + lateness_seconds * MICROS
        self.streaming = streaming
        self.prior = prior
        self.keep_state = keep_state or prior is not None

    def identify(self, clock=None) -> IdentifyRecords:
        """The first step: one doc_id per record (also what --no_dedup runs);
        ``clock``: :meth:`clock`, when state is kept."""
        return IdentifyRecords(keep_us=self.keep_us, streaming=self.streaming, prior=self.prior,
                               keep_state=self.keep_state, clock=clock)  # fmt: skip

    def expand(self, articles):
        clock = self.clock(articles) if self.keep_state else None
        form = _Form(self.streaming, self.prior, self.keep_state, clock)
        identified = articles | "Identify" >> self.identify(clock)
        keyed_by_text = identified.main | "KeyByText" >> beam.ParDo(KeyByTextFn())
        exact_step = ExactStep(self.horizon_us, self.keep_us)
        exact = form.ordered(keyed_by_text, "Text", "Exact", exact_step, COPIES, MATCHED)
        anchor_step = AnchorStep(self.rule, self.horizon_us, self.params.max_reps, self.keep_us)
        # The anchors' earlier rows join the documents before the fan-out to
        # the anchors, not after it: on the local runner a Flatten is one
        # more pass of every value, and there are about 50 anchor values
        # per document.
        prior_anchors = (
            None if self.prior is None else self.prior | "PriorAnchor" >> beam.Filter(_of_step, anchor_step.name)
        )
        signed = _with_prior(exact.main, "WithPriorAnchors", prior_anchors) | "Fingerprint" >> beam.ParDo(
            FingerprintFn(anchor_every=self.params.anchor_every, max_anchors=self.params.max_anchors)
        ).with_outputs(BY_DOC, main="anchors")
        anchored = form.ordered(signed.anchors, "Anchor", "CompareAtAnchor", anchor_step, joined=True)
        verdicts = anchored.main if self.keep_state else anchored
        gathered = (signed[BY_DOC], verdicts) | "GatherVerdicts" >> beam.Flatten()
        decided = form.decide(gathered)
        copies = (decided[COPIES], exact[COPIES], identified[COPIES]) | "GatherCopies" >> beam.Flatten()
        matched = [decided[MATCHED], exact[MATCHED]]
        if self.prior is not None:
            matched.append(self.prior | "PriorMatched" >> beam.FlatMap(_prior_matched))
        matched = matched | "GatherMatched" >> beam.Flatten()
        resolved, pointing = [], matched
        for hop in range(1, RESOLVE_HOPS + 1):
            last = hop == RESOLVE_HOPS
            inputs = [pointing, copies]
            if not last:  # where each document points, moved on for the next hop
                inputs.append(pointing | f"PointersHop{hop}" >> beam.Map(_pointer))
            gathered = inputs | f"GatherHop{hop}" >> beam.Flatten()
            hop_out = form.resolve(gathered, hop, self.keep_us, last)
            resolved.append(hop_out.resolved)
            copies, pointing = hop_out[FORWARD], hop_out[JUMPED]
        out = {"articles": decided.stories, "duplicates": resolved | "CollectDuplicates" >> beam.Flatten()}
        if self.keep_state:
            out["state"] = (
                identified[STATE],
                exact[STATE],
                anchored[STATE],
                matched | "MatchedRows" >> beam.FlatMap(_matched_rows, clock, self.keep_us),
            ) | "StateRows" >> beam.Flatten()
        return out

    def clock(self, articles):
        """The newest event time seen, in this run or the state, as a side
        input: what each step keeps for the next run is what it leaves out
        of reach (:func:`_still_needed`).  Each step applies it to its own
        rows, so what is out of reach (most rows of a run over old pages)
        never crosses the gathering of the rows."""
        state_times = None if self.prior is None else self.prior | "StateTimes" >> beam.Map(lambda p: p.ts_us)
        times = _with_prior(articles | "EventTimes" >> beam.Map(_event_us), "AllTimes", state_times)
        newest = times | "Newest" >> beam.CombineGlobally(max).without_defaults()
        return beam.pvalue.AsSingleton(newest, default_value=None)


def _pointer(element: tuple[str, Matched]) -> tuple[str, Pointer]:
    doc_id, matched = element
    return matched.target, Pointer(doc_id, matched.ts_us)


def _key_by_doc(article: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return article["doc_id"], article


def _copy_of_own_story(element: tuple[str, Copy]) -> dict[str, Any]:
    target, copy = element
    return {**copy.article, "story_id": target}


class SingleStories(beam.PTransform):
    """What ``--no_dedup`` runs: every article is its own story; only a
    later record of an already-seen URL with the same story is a copy
    (across runs too, given ``prior``: then 'state' holds the identities)."""

    def __init__(self, params: DedupParams = DedupParams(), **run: Any) -> None:
        """``run``: ``lateness_seconds``, ``streaming`` and ``prior``, as for :class:`Deduplicate`."""
        super().__init__()
        self.dedup = Deduplicate(params, **run)

    def expand(self, articles):
        clock = self.dedup.clock(articles) if self.dedup.keep_state else None
        identified = articles | "Identify" >> self.dedup.identify(clock)
        stories = identified.main | "OwnStory" >> beam.Map(lambda a: {**a, "story_id": a["doc_id"]})
        copies = identified[COPIES] | "CopyStory" >> beam.Map(_copy_of_own_story)
        out = {"articles": stories, "duplicates": copies}
        if self.dedup.keep_state:
            out["state"] = identified[STATE]
        return out


# The state rows of the rejects earlier runs wrote.
REJECT_STEP = "reject"


def reject_key(reject: Reject) -> str:
    """What makes two rejects one: the same input, at the same stage, for the
    same reason (its first bytes and size stand for its content)."""
    return stable_hash(reject.source_uri, reject.stage, reject.reason, str(reject.size_bytes), reject.head.hex())


class DropSeenRejectsFn(_StepFn):
    """Batch, after a GroupByKey on :func:`reject_key`: the rejects of a key
    an earlier run wrote are counted as already ingested, not written
    again; the others go on, and the key is remembered (for good, as a
    URL's identity is)."""

    def setup(self) -> None:
        super().setup()
        self._already = counter(ALREADY_INGESTED)

    @timed_stage
    def process(self, element: tuple[str, Iterable[Reject | StatePart]]) -> Iterator:
        key, values = element
        seen = [v for v in values if isinstance(v, StatePart)]
        rejects = [v for v in values if isinstance(v, Reject)]
        if seen:
            self._already.inc(len(rejects))
        else:
            yield from rejects
        yield beam.pvalue.TaggedOutput(STATE, seen[0] if seen else StatePart(REJECT_STEP, key, "", 0))


class NewRejects(beam.PTransform):
    """rejects -> {'rejects': those no earlier run wrote, 'state': every
    reject's state row}, given ``prior`` (an earlier run's state rows), so
    an --append run over the same folder does not write its rejects again
    (``prior`` None: no earlier run; every reject is new)."""

    def __init__(self, prior) -> None:
        super().__init__()
        self.prior = prior

    def expand(self, rejects):
        keyed = rejects | "KeyByReject" >> beam.Map(lambda r: (reject_key(r), r))
        known = None if self.prior is None else self.prior | "PriorRejects" >> beam.FlatMap(_prior_of, REJECT_STEP)
        grouped = _with_prior(keyed, "WithPrior", known) | "GroupByReject" >> beam.GroupByKey()
        out = grouped | "DropSeen" >> beam.ParDo(DropSeenRejectsFn()).with_outputs(STATE, main="rejects")
        return {"rejects": out.rejects, "state": out[STATE]}


class ReadState(beam.PTransform):
    """pipeline -> the :class:`StatePart` rows an earlier run left in
    ``folder`` (nothing when ``folder`` is None or holds no file), read by
    a worker when the run starts."""

    def __init__(self, folder: str | None) -> None:
        super().__init__()
        self.folder = folder

    def expand(self, pbegin):
        folders = pbegin | "Folder" >> beam.Create([self.folder] if self.folder else [])
        return folders | "Rows" >> beam.FlatMap(read_state)


class WriteState(beam.PTransform):
    """StatePart elements -> rows of ``STATE_SCHEMA``, through ``writer``
    (a Parquet writer of one file that the next run's commit replaces)."""

    def __init__(self, writer: beam.PTransform) -> None:
        super().__init__()
        self.writer = writer

    def expand(self, parts):
        return parts | "AsRows" >> beam.Map(lambda part: part._asdict()) | "Write" >> self.writer


def read_state(folder: str) -> Iterator[StatePart]:
    """The state rows an earlier run left in ``folder`` (none if it holds no file)."""
    found = FileSystems.match([FileSystems.join(folder, "*.parquet")])[0].metadata_list
    for metadata in sorted(found, key=lambda m: m.path):
        with FileSystems.open(metadata.path) as fh:
            for row in pq.read_table(fh).to_pylist():
                yield StatePart(**row)
