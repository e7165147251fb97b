"""What a job sees while it runs, and `execute(store, job)`: the one way every backend runs a job —
the local worker, a Ray task, and inline in the CLI or a test.

A `JobContext` gives the job its config, a work folder kept across attempts, frames and metrics for
the page, progress, a stop check, the page's control message, and child jobs: `submit` queues a
child, `wait` runs the queued ones here (so one worker never waits on work only it could do) and
waits for any running elsewhere; `claim_children` takes them all at once (a batched job trains its
runs together). A job returns its result document, or a `Stop` to end otherwise (a run that
diverged, a playground run that paused itself).

    >>> import tempfile
    >>> from explorer.jobs import demo
    >>> from explorer.jobs.backends import InlineBackend
    >>> be = InlineBackend(tempfile.mkdtemp())
    >>> job = be.run("demo.count", {"n": 3})
    >>> job.status, job.result, [f.payload["i"] for f in be.store.frames(job.id)]
    ('done', {'counted': 3}, [1, 2, 3])
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from explorer import paths
from explorer.jobs import kinds
from explorer.jobs.store import TERMINAL, WATCHED, Job, Submission

HEARTBEAT_S = 2.0
WAIT_POLL_S = 0.2


@dataclass(frozen=True)
class Stop:
    """A job's end other than "done" with its result: `status` one of the store's terminal statuses."""

    status: str
    result: Mapping[str, Any] | None = None
    error: str | None = None


def failure_message(e: BaseException) -> str:
    """A job's error text: library errors carry their own message; others get a short trace."""
    msg = f"{type(e).__name__}: {e}"
    if not isinstance(e, ValueError):
        msg += "\n" + "".join(traceback.format_exception(e, limit=5))
    return msg


class _Beat(threading.Thread):
    """One thread per process beating for every job it holds (as the worker holding each), every HEARTBEAT_S,
    even while a long step or evaluation runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="job-heartbeat")
        self.held: dict[tuple[int, str], tuple[Any, str]] = {}
        self.lock = threading.Lock()

    def run(self) -> None:
        while True:
            time.sleep(HEARTBEAT_S)
            with self.lock:
                held = list(self.held.items())
            for (_, jid), (store, worker_id) in held:
                try:
                    store.heartbeat(jid, worker_id)
                except Exception:  # noqa: BLE001 - a busy database must not kill the job; the next beat retries
                    pass


_beat: _Beat | None = None
_beat_lock = threading.Lock()


@contextmanager
def beating(store: Any, ids: Sequence[str], worker_id: str) -> Iterator[None]:
    """Heartbeats for `ids` (held by `worker_id`) while the block runs."""
    global _beat
    with _beat_lock:
        if _beat is None or not _beat.is_alive() or _beat.pid != os.getpid():
            _beat = _Beat()
            _beat.pid = os.getpid()  # type: ignore[attr-defined]
            _beat.start()
        beat = _beat
    keys = [(id(store), j) for j in ids]
    with beat.lock:
        beat.held.update({k: (store, worker_id) for k in keys})
    try:
        yield
    finally:
        with beat.lock:
            for k in keys:
                beat.held.pop(k, None)


class JobContext:
    """The running job's handle on the world (see the module doc). `local` holds in-process extras its
    parent handed it (e.g. a training loop's callbacks): never stored, so only for children run here."""

    def __init__(self, store: Any, job: Job, worker_id: str, local: Mapping[str, Any] | None = None):
        self.store, self.job, self.worker_id = store, job, worker_id
        self.job_id, self.kind, self.config, self.attempt = job.id, job.kind, dict(job.config), job.attempt
        self.local: dict[str, Any] = dict(local or {})

    @property
    def data_dir(self) -> Path:
        return Path(self.store.dir)

    @cached_property
    def workdir(self) -> Path:
        """The job's work folder (kept across attempts: what a resumed job finds of its earlier ones)."""
        return paths.ensure_dir(paths.jobs(self.store.dir) / self.job_id)

    def emit(self, kind: str, payload: Mapping[str, Any]) -> int:
        """Append a frame (`kind`, JSON payload) the page reads live; returns its sequence number."""
        return self.store.emit_frame(self.job_id, kind, payload, self.worker_id)

    def progress(self, frac: float, note: str | None = None, step: int | None = None) -> None:
        self.store.heartbeat(self.job_id, self.worker_id, progress=max(0.0, min(1.0, float(frac))), note=note,
                             step=step)

    def log(self, rows: Sequence[Mapping[str, Any]]) -> bool:
        """Metric rows ({step, split, loss, acc, wall_time}) of this attempt."""
        return self.store.log_metrics(self.job_id, rows, self.worker_id)

    def started(self, device: str, torch_version: str) -> None:
        """Where it computes (shown beside the job)."""
        self.store.set_started(self.job_id, device, torch_version)

    def should_stop(self) -> bool:
        """Cancel requested (of it or of its parent), or the job is no longer this worker's."""
        return self.store.should_stop(self.job_id, self.worker_id)

    def control(self) -> dict[str, Any]:
        """What the page asks of this job now (`JobStore.set_control`), {} when nothing."""
        return self.store.control(self.job_id)

    def unwatched(self, after_s: float) -> bool:
        """True when a page has been following this job (`JobStore.watch`) but none has shown it for `after_s`
        seconds: an interactive job's cue to pause. A job no page ever watched (the CLI's) is never unwatched."""
        seen = self.control().get(WATCHED)
        return isinstance(seen, (int, float)) and time.time() - seen > after_s

    def end(self, stop: Stop) -> bool:
        """Record the job's end once (False when it was no longer this worker's)."""
        return self.store.finish(self.job_id, stop.status, result=stop.result, error=stop.error,
                                 worker_id=self.worker_id)

    # ---- child jobs -------------------------------------------------------------------------
    def submit(self, kind: str | Submission, spec: Any = None, **meta: Any) -> str:
        """Queue a child job (this job's owner's); returns its id. Run it with `wait`."""
        sub = kinds.submission(kind, spec, **meta)
        if not sub.owner and self.job.owner:
            from dataclasses import replace

            sub = replace(sub, owner=self.job.owner)
        return self.store.submit(sub, parent=self.job_id)

    def wait(self, ids: Sequence[str], local: Mapping[str, Mapping[str, Any]] | None = None) -> list[Job]:
        """Run the queued jobs of `ids` here, one after another (`local[id]`: in-process extras for one), then
        wait for those running elsewhere; stops waiting when this job should stop. Returns their rows."""
        for jid in ids:
            if self.should_stop():
                break
            job = self.store.claim(self.worker_id, os.getpid(), job=jid) if self.store.status(jid) == "queued" else None
            if job is not None:
                execute(self.store, job, self.worker_id, (local or {}).get(jid))
        while not self.should_stop() and any(self.store.status(j) not in TERMINAL for j in ids):
            time.sleep(WAIT_POLL_S)
        return [self.store.get_job(j) for j in ids]

    def claim_children(self) -> list[JobContext]:
        """Take every queued child at once, as this worker; a context for each (they beat while this job runs)."""
        return [JobContext(self.store, j, self.worker_id) for j in
                self.store.claim_children(self.job_id, self.worker_id, os.getpid())]


def execute(store: Any, job: Job, worker_id: str, local: Mapping[str, Any] | None = None) -> None:
    """Run a claimed job to its end with heartbeats, and record the end once: done with its result, the
    `Stop` it returned, cancelled when it stopped on request, failed with the reason when it raised."""
    ctx = JobContext(store, job, worker_id, local)
    with beating(store, [job.id], worker_id):
        try:
            out = kinds.resolve(job.kind, job.module)(ctx)
            if isinstance(out, Stop):
                ctx.end(out)
            elif ctx.should_stop() and store.is_cancel_requested(job.id):
                ctx.end(Stop("cancelled", _doc(out), "cancelled by request"))
            else:
                ctx.end(Stop("done", _doc(out)))
        except Exception as e:  # noqa: BLE001 - the job fails with its reason; the worker lives on
            ctx.end(Stop("failed", None, failure_message(e)))


def _doc(out: Any) -> dict[str, Any] | None:
    return None if out is None else dict(out) if isinstance(out, Mapping) else {"result": out}
