"""A Beam worker's exit: without the interpreter's last garbage collection.

The DirectRunner shuts its worker processes down one after another, inside
the run; the stages with heavy state call :func:`skip_last_collection` in
their ``setup()`` so that exit is quick.
"""

from __future__ import annotations

import atexit
import gc
import sys

# What a Beam SDK harness runs as __main__, locally and on Dataflow.
SDK_WORKER_MAIN = "apache_beam.runners.worker.sdk_worker_main"


def skip_last_collection() -> None:
    """Let a Beam worker process exit without the interpreter's last garbage
    collection.  A worker that has built the stages' state (trafilatura,
    the language profiles, the topic automaton, dateparser's locale
    patterns) spends 0.6-0.8 s of its exit walking that heap for cycles,
    and the DirectRunner shuts its workers down one after another, inside
    the run.  Freezing the heap at exit makes it 0.05 s.

    Only in a process Beam started to run the stages: a test, a notebook
    or the in-process runner keep their normal exit (extensions there may
    count on the last collection; duckdb reports leaks without it).
    Registered once however many DoFns call it (``unregister`` removes any
    earlier registration).  What a worker gives up: finalizers of objects
    caught in reference cycles at exit; the stages close their files
    explicitly.
    """
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is None or spec.name != SDK_WORKER_MAIN:
        return
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
