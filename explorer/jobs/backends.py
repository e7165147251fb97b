"""Backends: where jobs execute. Every backend runs the same `context.execute(job)` with heartbeats and
cancel; the store is the shared truth that pages and the CLI read.

- `LocalBackend`: the store plus one worker process on this machine (`explorer.jobs.worker`), started on demand.
- `InlineBackend`: here and now, in the calling process (the CLI's foreground commands, tests).
- `RayBackend` (`explorer.jobs.ray_backend`): portable kinds as Ray tasks, the rest to the local worker.

`get_backend("local" | "ray" | "inline" | "auto")` picks one; "auto" means Ray when `RAY_ADDRESS` is set.

    >>> import tempfile
    >>> from explorer.jobs import demo
    >>> InlineBackend(tempfile.mkdtemp()).run("demo.count", {"n": 2}).result
    {'counted': 2}
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from explorer.jobs import kinds
from explorer.jobs.context import execute
from explorer.jobs.lifecycle import ensure_worker
from explorer.jobs.store import Job, JobStore, Submission


@runtime_checkable
class Backend(Protocol):
    name: str
    store: JobStore

    def submit(self, kind: str | Submission, spec: Any = None, **meta: Any) -> str:
        """Queue a job of a registered `kind` with config `spec` (a Spec or a dict; `meta`: `Submission`'s
        other fields), or a whole `Submission`; returns its id."""
        ...

    def cancel(self, job_id: str) -> str:
        """Ask a job (and its children) to stop; returns its status after the request."""
        ...

    def poll(self) -> None:
        """Called by followers (page refresh, CLI wait): reap dead jobs, restart work if needed."""
        ...


def _store(store: JobStore | str | Path | None) -> JobStore:
    return store if isinstance(store, JobStore) else JobStore(store)


class LocalBackend:
    """Runs on this machine: the store plus an on-demand worker process."""

    name = "local"

    def __init__(self, store: JobStore | str | Path | None = None, *, autostart: bool = True):
        self.store = _store(store)
        self.autostart = autostart
        self.proc: subprocess.Popen[bytes] | None = None

    def submit(self, kind: str | Submission, spec: Any = None, **meta: Any) -> str:
        jid = self.store.submit(kinds.submission(kind, spec, **meta))
        self._kick()
        return jid

    def cancel(self, job_id: str) -> str:
        return self.store.request_cancel(job_id)

    def poll(self) -> None:
        if self.proc is not None:
            self.proc.poll()  # collect our exited worker so it does not linger as a zombie
        self.store.reap()
        if self.store.claimable():
            self._kick()

    def _kick(self) -> None:
        if self.autostart:
            p = ensure_worker(self.store.dir)
            if p is not None:
                self.proc = p


class InlineBackend:
    """Runs each job here and now, in the calling process, before `submit` returns (the CLI's foreground
    commands; tests). A job already done is not run again. Ctrl-C cancels the job and is raised again."""

    name = "inline"

    def __init__(self, store: JobStore | str | Path | None = None):
        self.store = _store(store)
        self.worker_id = f"inline:{socket.gethostname()}:{os.getpid()}"

    def submit(self, kind: str | Submission, spec: Any = None, **meta: Any) -> str:
        jid = self.store.submit(kinds.submission(kind, spec, **meta))
        job = self.store.claim(self.worker_id, os.getpid(), job=jid)
        if job is not None:
            try:
                execute(self.store, job, self.worker_id)
            except BaseException:  # KeyboardInterrupt: say so rather than leave it "running"
                for j in [job, *self.store.list_jobs(parent=jid)]:
                    self.store.finish(j.id, "cancelled", error="interrupted (Ctrl-C)", worker_id=self.worker_id)
                raise
        return jid

    def run(self, kind: str | Submission, spec: Any = None, **meta: Any) -> Job:
        """`submit`, and the job's row once it has ended."""
        return self.store.get_job(self.submit(kind, spec, **meta))

    def cancel(self, job_id: str) -> str:
        return self.store.request_cancel(job_id)

    def poll(self) -> None:
        self.store.reap()


def get_backend(name: str = "auto", store: JobStore | str | Path | None = None) -> Backend:
    """"local", "ray", "inline", or "auto" (ray when RAY_ADDRESS is set, else local)."""
    if name == "auto":
        name = "ray" if os.environ.get("RAY_ADDRESS") else "local"
    if name == "local":
        return LocalBackend(store)
    if name == "inline":
        return InlineBackend(store)
    if name == "ray":
        try:
            from explorer.jobs.ray_backend import RayBackend
        except ImportError as e:
            raise ValueError(f"the Ray backend is not available ({e}); use backend 'local'") from e
        return RayBackend(_store(store))
    raise ValueError(f"unknown backend {name!r}; use local, ray, inline or auto")
