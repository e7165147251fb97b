"""Progress of long library work, reported as it goes and read from another thread.

Opening a user's model takes tens of seconds (a sandboxed child process imports, builds, runs and
traces it; then this process builds and traces it again). The library says which stage it is in
— `stage("tracing with torch.export")` — and a page, running the work in a thread of its own,
reads the `Progress` it passed in and shows the stage and the elapsed time. Reports go to the
`Progress` the current thread works for (`reporting(p)`); with none, they cost nothing.

    >>> p = Progress()
    >>> with reporting(p):
    ...     stage("building the model")
    ...     with waiting("another session is tracing"):
    ...         p.current
    ...     stage("tracing with torch.fx")
    'building the model — waiting: another session is tracing'
    >>> [text for text, _ in p.stages()], p.done
    (['building the model', 'tracing with torch.fx'], True)
    >>> stage("nobody listens")  # no Progress in this thread: a no-op
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class Progress:
    """The stages of one piece of work, with their times; safe to read while another thread reports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self._stages: list[list] = []  # [text, start, end or None]
        self._waiting: str | None = None
        self.done = False

    def stage(self, text: str) -> None:
        """A new stage starts (the previous one ends now)."""
        now = time.monotonic()
        with self._lock:
            if self._stages and self._stages[-1][2] is None:
                self._stages[-1][2] = now
            self._stages.append([text, now, None])

    def finish(self) -> None:
        """The work is over: the last stage ends now."""
        with self._lock:
            if self._stages and self._stages[-1][2] is None:
                self._stages[-1][2] = time.monotonic()
            self.done = True

    @property
    def current(self) -> str:
        """The stage under way (and what it waits for, if anything)."""
        with self._lock:
            text = self._stages[-1][0] if self._stages else "starting"
            return f"{text} — waiting: {self._waiting}" if self._waiting else text

    def elapsed(self) -> float:
        """Seconds since the work started."""
        return time.monotonic() - self.started

    def stages(self) -> list[tuple[str, float]]:
        """(stage, seconds) for every stage so far; the one under way counts up to now."""
        now = time.monotonic()
        with self._lock:
            return [(t, (e if e is not None else now) - s) for t, s, e in self._stages]


_local = threading.local()


def current() -> Progress | None:
    """The `Progress` this thread reports to, if any (hand it to helper threads that report for it)."""
    return getattr(_local, "progress", None)


@contextlib.contextmanager
def reporting(progress: Progress) -> Iterator[Progress]:
    """Send this thread's `stage` reports to `progress` for the duration; it is finished afterwards."""
    before = current()
    _local.progress = progress
    try:
        yield progress
    finally:
        _local.progress = before
        progress.finish()


def stage(text: str) -> None:
    """Report that the current thread's work enters stage `text` (a no-op when nobody listens)."""
    p = current()
    if p is not None:
        p.stage(text)


@contextlib.contextmanager
def waiting(why: str) -> Iterator[None]:
    """Say, for the duration, that the current stage waits for something else (another session)."""
    p = current()
    if p is None:
        yield
        return
    with p._lock:
        before, p._waiting = p._waiting, why
    try:
        yield
    finally:
        with p._lock:
            p._waiting = before
