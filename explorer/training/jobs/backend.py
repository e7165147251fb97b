"""Backends run queued configs. A `Backend` submits, cancels and keeps work moving; the
store is the shared truth that pages and the CLI read.

- `LocalBackend`: the store plus one worker process on this machine, started on demand.
- `RayBackend` (`explorer.training.jobs.ray_backend`): the same interface on Ray.

`get_backend("local" | "ray")` picks one; "auto" means Ray when `RAY_ADDRESS` is set.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from explorer.training.config import RunConfig
from explorer.training.jobs.lifecycle import ensure_worker
from explorer.training.store import RunStore


@runtime_checkable
class Backend(Protocol):
    name: str
    store: RunStore

    def submit(self, configs: Sequence[RunConfig]) -> list[str]:
        """Queue the configs; returns their run ids (in order)."""
        ...

    def cancel(self, run_id: str) -> str:
        """Ask a run to stop; returns its status after the request."""
        ...

    def poll(self) -> None:
        """Called by pollers (page refresh, CLI wait): mark dead runs failed, restart work if needed."""
        ...

    def submit_job(self, kind: str, config: dict) -> str:
        """Queue a background job (`jobs.registry` kind, JSON config); returns its id."""
        ...


class LocalBackend:
    """Runs on this machine: the store plus an on-demand worker process."""

    name = "local"

    def __init__(self, store: RunStore | None = None, *, autostart: bool = True):
        self.store = store or RunStore()
        self.autostart = autostart
        self.proc: subprocess.Popen[bytes] | None = None

    def submit(self, configs: Sequence[RunConfig]) -> list[str]:
        ids = [self.store.submit(c) for c in configs]
        self._kick()
        return ids

    def submit_sweep(self, configs: Sequence[RunConfig]) -> list[str]:
        """Train `configs` as ONE batched job (K variants at once, `explorer.training.jobs.sweep`)
        in its own process; each still lands in the store as its own run. Raises
        `BatchedError` with the reason when they cannot share a job."""
        from explorer.training.jobs.sweep import submit_sweep

        return submit_sweep(configs, self.store)

    def submit_job(self, kind: str, config: dict) -> str:
        """Queue a background job and make sure the worker runs it; returns the job id."""
        from explorer.training.jobs.registry import check

        check(kind)  # an unknown kind is refused here, not in the worker (by name: nothing is imported)
        jid = self.store.submit_job(kind, config)
        self._kick()
        return jid

    def cancel(self, run_id: str) -> str:
        return self.store.request_cancel(run_id)

    def poll(self) -> None:
        if self.proc is not None:
            self.proc.poll()  # collect our exited worker so it does not linger as a zombie
        self.store.reap()
        if self.store.list_runs(status="queued") or self.store.list_jobs(status="queued"):
            self._kick()

    def _kick(self) -> None:
        if self.autostart:
            p = ensure_worker(self.store.dir)
            if p is not None:
                self.proc = p


def get_backend(name: str = "auto", store: RunStore | None = None) -> Backend:
    """"local", "ray", or "auto" (ray when RAY_ADDRESS is set, else local)."""
    if name == "auto":
        name = "ray" if os.environ.get("RAY_ADDRESS") else "local"
    if name == "local":
        return LocalBackend(store)
    if name == "ray":
        try:
            from explorer.training.jobs.ray_backend import RayBackend  # type: ignore[import-not-found]
        except ImportError as e:
            raise ValueError(f"the Ray backend is not available ({e}); use backend 'local'") from e
        return RayBackend(store)  # type: ignore[no-any-return]
    raise ValueError(f"unknown backend {name!r}; use local, ray or auto")
