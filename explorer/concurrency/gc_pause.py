"""Pausing Python's cyclic garbage collector while several threads each build a big graph.

Building tens of thousands of small `Arc` objects triggers cyclic GC passes that cost a third of the
time, so the unit-level builder pauses the collector. `gc.disable()` is process-wide: with two
sessions building at once, the first to finish turned it back on under the other (which then ran with
it on), or one that started while it was off never turned it back on. `paused_gc()` counts the
threads inside: the collector is off from the first entry to the last exit, then back as it was.

    >>> import gc
    >>> with paused_gc():
    ...     with paused_gc():
    ...         gc.isenabled()
    False
    >>> gc.isenabled()
    True
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_inside = 0  # threads (and nested entries) inside paused_gc()
_was_on = False  # whether the collector ran before the first entry


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while any thread is inside; afterwards, the collector as it was."""
    global _inside, _was_on
    with _lock:
        if _inside == 0:
            _was_on = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _was_on:
                gc.enable()
