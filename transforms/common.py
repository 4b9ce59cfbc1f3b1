"""What every stage shares: the metrics namespace, output tags, stage timing
(:class:`StageDoFn`, :func:`timed_stage`) and rejects (:class:`Rejects`)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.timestamp import MAX_TIMESTAMP, MIN_TIMESTAMP, Timestamp

from transforms.core.records import Reject, head_of

NAMESPACE = "newsbeam"
REJECTS = "rejects"

# Counter names the summary reads back; one place so they cannot drift.
DOCUMENTS_IN = "documents_in"
FILES_SKIPPED = "files_skipped"
# Skipped files by extension (transforms.read.file_extension): "skipped..pdf".
SKIPPED_PREFIX = "skipped."
# A record's field that could not be read and was left out (the record kept): "ignored.published".
IGNORED_PREFIX = "ignored."
ARTICLE_ROWS = "articles_rows_written"
ARTICLE_FILES = "articles_files_written"
DUPLICATE_ROWS = "duplicates_rows_written"
DUPLICATE_FILES = "duplicates_files_written"
REJECT_ROWS = "rejects_rows_written"
REJECT_FILES = "rejects_files_written"
TOPICS_PREFIX = "topics."
STAGE_TIME_PREFIX = "stage_us."
FEED_REPEATED_ENTRIES = "feed.repeated_entries"  # feed entries skipped as already listed
# Records whose doc_id and text an earlier run already wrote into the output
# (an --append run): accounted for, not written again.
ALREADY_INGESTED = "dedup.already_ingested"

# Input hint of every keyed stateful step: string keys get a deterministic coder.
KEYED = tuple[str, Any]


def utc_of(ts: Timestamp) -> datetime:
    """An element timestamp as a UTC datetime, cut to the millisecond:
    runners carry timestamps in milliseconds, so a row is the same whether
    or not it crossed a process boundary."""
    return datetime.fromtimestamp(ts.micros // 1000 / 1000, UTC)


def arrival_of(ts: Timestamp, fallback: datetime) -> datetime:
    """When an element arrived: its timestamp, which every source sets (the
    listing, poll, Pub/Sub publish or stream time).  An element that a
    source left unstamped carries Beam's minimum timestamp, outside what a
    datetime can hold; it counts as arriving at ``fallback``."""
    if ts <= MIN_TIMESTAMP or ts >= MAX_TIMESTAMP:
        return fallback
    return utc_of(ts)


def counter(name: str):
    return Metrics.counter(NAMESPACE, name)


T = TypeVar("T")


class StageClock:
    """Time spent in one stage's own code, in microseconds, counted into
    ``stage_us.<stage>`` (summed over workers): what ``make bench`` reports
    per stage, and what the Dataflow UI shows beside the other counters.

    ``timed(outputs)`` wraps a DoFn's output generator and counts only the
    time spent producing each output: Beam runs the fused steps downstream
    while the generator waits at a ``yield``, and that time is theirs.
    Code that yields nothing (a file sink's methods) is timed by ``with clock:``.
    """

    def __init__(self, stage: str) -> None:
        self._counter = counter(STAGE_TIME_PREFIX + stage)
        self._started = 0

    def __enter__(self) -> StageClock:
        self._started = time.perf_counter_ns()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._counter.inc((time.perf_counter_ns() - self._started) // 1000)

    def timed(self, outputs: Iterable[T]) -> Iterator[T]:
        items = iter(outputs)
        spent = 0
        try:
            while True:
                started = time.perf_counter_ns()
                try:
                    item = next(items)
                except StopIteration:
                    return
                finally:
                    spent += time.perf_counter_ns() - started
                yield item
        finally:
            self._counter.inc(spent // 1000)


class StageDoFn(beam.DoFn):
    """A DoFn whose own time counts into ``stage_us.<STAGE>``.

    ``setup()`` makes the stage's :class:`StageClock` (``self._clock``);
    decorate ``process`` with :func:`timed_stage` to time it.  A subclass
    with its own ``setup`` calls ``super().setup()``::

        class ExtractFn(StageDoFn):
            STAGE = "extract"

            def setup(self) -> None:
                super().setup()
                self._html = HtmlExtractor()

            @timed_stage
            def process(self, doc, arrival=beam.DoFn.TimestampParam):
                yield ...
    """

    STAGE: ClassVar[str]

    def setup(self) -> None:
        self._clock = StageClock(self.STAGE)


def timed_stage(process: Callable[..., Iterable[T]]) -> Callable[..., Iterator[T]]:
    """Decorates a :class:`StageDoFn`'s ``process`` (a generator) so only the
    time spent producing its outputs counts into the stage's clock (see
    :meth:`StageClock.timed`).

    The wrapper keeps ``process``'s signature: ``functools.wraps`` sets
    ``__wrapped__``, which ``inspect.signature`` (what Beam reads a DoFn's
    parameters with: ``TimestampParam``, ``WindowParam``, ``StateParam``,
    side inputs) follows; so decorate ``process`` itself, with its real
    parameters.  A subclass that overrides a decorated ``process`` and calls
    ``super().process(...)`` is timed once, by that call; it is not
    decorated again (the time would count twice).
    """

    @functools.wraps(process)
    def timed(self: StageDoFn, *args: Any, **kwargs: Any) -> Iterator[T]:
        yield from self._clock.timed(process(self, *args, **kwargs))

    return timed


class NamedCounters:
    """Counters whose names are only known at run time (``lang.ar``,
    ``topics.syria``, ``rejects.read.too_large``): ``prefix + name``, each
    created on first use and cached per DoFn instance."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self._counters: dict[str, Any] = {}

    def inc(self, name: str, n: int = 1) -> None:
        if name not in self._counters:
            self._counters[name] = counter(self.prefix + name)
        self._counters[name].inc(n)


class Rejects:
    """The rejects of one stage (``stage`` is the Reject's stage, as in
    ``rejects.<stage>.<reason>``).  Make one in ``setup()``; ``emit`` builds
    each Reject, counts it and tags it for the ``REJECTS`` output::

        self._rejects = Rejects("read")
        ...
        yield self._rejects.emit(uri, "too_large", "over --max_bytes=...", data, url)
    """

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self._counts = NamedCounters(f"rejects.{stage}.")

    def emit(
        self,
        source_uri: str,
        reason: str,
        detail: str,
        data: bytes | str | None = b"",
        url: str | None = None,
        size: int | None = None,
    ) -> beam.pvalue.TaggedOutput:
        """The Reject (its head the start of ``data``; its size ``size``, or
        by default ``len(data)``, None without data), counted, as a
        TaggedOutput on ``REJECTS``."""
        if size is None and data:
            size = len(data)
        reject = Reject(source_uri, self.stage, reason, detail, head_of(data), url, size)
        self._counts.inc(reason)
        return beam.pvalue.TaggedOutput(REJECTS, reject)
