"""What a background job sees while it runs in the worker: its config, a work folder kept
across attempts, frames for the page, progress, a stop check, and a way to train runs.

    >>> import tempfile
    >>> from explorer.training.store import RunStore
    >>> store = RunStore(tempfile.mkdtemp())
    >>> job = run_inline("demo.count", {"n": 3}, store)
    >>> job.status, job.result, [f.payload["i"] for f in store.frames(job.id)]
    ('done', {'counted': 3}, [1, 2, 3])
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from explorer import paths
from explorer.training.jobs.lifecycle import failure_message


class JobContext:
    """The running job's handle on the world (see the module doc)."""

    def __init__(self, store: Any, job: Any, worker_id: str):
        self.store, self.job, self.worker_id = store, job, worker_id
        self.job_id, self.kind, self.config, self.attempt = job.id, job.kind, dict(job.config), job.attempt
        self.workdir: Path = paths.ensure_dir(paths.jobs(store.dir) / job.id)

    def emit(self, kind: str, payload: Mapping[str, Any]) -> int:
        """Append a frame (`kind`, JSON payload) the page reads live; returns its sequence number."""
        return self.store.emit_frame(self.job_id, kind, payload, self.worker_id)

    def progress(self, frac: float, note: str | None = None) -> None:
        self.store.job_heartbeat(self.job_id, self.worker_id, max(0.0, min(1.0, float(frac))), note)

    def should_stop(self) -> bool:
        """Cancel requested, or the job is no longer this worker's."""
        return self.store.job_should_stop(self.job_id, self.worker_id)

    def train(self, configs: Sequence[Any], batched: bool = True,
              callbacks: Callable[[Any], Sequence[Any]] | None = None) -> list[Any]:
        """Train `RunConfig`s as ordinary runs of the store (their group names them on the Train page),
        in this process: as one batched job where they can share it, else one by one. Runs already
        done (a resumed attempt) are not trained again. `callbacks(config)` gives extra loop callbacks
        for a run (`training.loop.Callback`s, e.g. an early-bird detector); runs with them train one
        by one. Returns one `RunResult` each, in order."""
        from explorer.training.jobs.sweep import batched_blocker, run_claimed
        from explorer.training.runner import RunResult

        configs = list(configs)
        todo = [c for c in configs if self._status(c) != "done"]
        if todo:
            if batched and callbacks is None and len(todo) > 1 and batched_blocker(todo) is None:
                ids = self.store.claim_batch(todo, f"{self.worker_id}/batch", os.getpid())
                run_claimed(self.store, ids, f"{self.worker_id}/batch", should_stop=self.should_stop)
            else:
                for c in todo:
                    self._train_one(c, callbacks(c) if callbacks is not None else ())
        out = []
        for c in configs:
            run = self.store.get(c.run_id)
            if run.summary is None:
                raise RuntimeError(f"run {c.run_id} ended {run.status}: {run.error or 'no summary'}")
            out.append(RunResult.from_dict(run.summary))
        return out

    def _status(self, c: Any) -> str | None:
        try:
            return self.store.get(c.run_id).status
        except ValueError:
            return None

    def _train_one(self, c: Any, callbacks: Sequence[Any] = ()) -> None:
        from explorer.training.jobs.runs import execute_claimed

        me = f"{self.worker_id}/run"
        ids = self.store.claim_batch([c], me, os.getpid())
        if ids:
            execute_claimed(self.store, self.store.get(ids[0]), me, extra_stop=self.should_stop, callbacks=callbacks)


def execute_job(store: Any, job: Any, worker_id: str) -> None:
    """Run a claimed job to its end and record it (done, cancelled, or failed with the reason)."""
    from explorer.training.jobs.registry import resolve

    ctx = JobContext(store, job, worker_id)
    try:
        result = resolve(job.kind)(ctx)
        status = "cancelled" if ctx.should_stop() and store.get_job(job.id).cancel_requested else "done"
        store.finish_job(job.id, status, result if isinstance(result, Mapping) else {"result": result},
                         "cancelled by request" if status == "cancelled" else None, worker_id=worker_id)
    except Exception as e:  # noqa: BLE001 - the job fails with its reason; the worker lives on
        store.finish_job(job.id, "failed", error=failure_message(e), worker_id=worker_id)


def run_inline(kind: str, config: Mapping[str, Any], store: Any) -> Any:
    """Submit a job and run it here and now (the CLI's way; no worker process). Returns the `Job`."""
    jid = store.submit_job(kind, config)
    me = f"inline:{socket.gethostname()}:{os.getpid()}"
    job = store.get_job(jid)
    if job.status == "queued":
        claimed = store.claim_job(me, os.getpid(), job=jid)
        if claimed is not None:
            execute_job(store, claimed, me)
    return store.get_job(jid)


def count_job(ctx: JobContext) -> dict[str, Any]:
    """The demo kind: one frame per count, with progress; stops early when asked."""
    n = int(ctx.config.get("n", 3))
    for i in range(1, n + 1):
        if ctx.should_stop():
            return {"counted": i - 1}
        ctx.emit("tick", {"i": i})
        ctx.progress(i / n, f"counted {i} of {n}")
    return {"counted": n}


def gated_job(ctx: JobContext) -> dict[str, Any]:
    """A demo kind for resume tests: `config["steps"]` steps; step i waits for the file `go_i` in the
    work folder, marks `done_i` there and emits a frame. A resumed attempt skips the steps it finds
    done, so what a killed worker finished is never redone."""
    import time

    n = int(ctx.config.get("steps", 3))
    for i in range(n):
        if (ctx.workdir / f"done_{i}").exists():
            continue
        ctx.emit("waiting", {"i": i})
        while not (ctx.workdir / f"go_{i}").exists():
            if ctx.should_stop():
                return {"stopped_at": i}
            time.sleep(0.05)
        (ctx.workdir / f"done_{i}").touch()
        ctx.emit("step", {"i": i, "attempt": ctx.attempt})
        ctx.progress((i + 1) / n)
    return {"steps": n}
