"""The worker process: takes queued runs from the store one at a time and executes them, or
trains a batch of claimed runs as one job.

    python -m explorer.training.jobs.worker --data-dir DIR [--idle-exit 60] [--once]
    python -m explorer.training.jobs.worker --data-dir DIR --runs ID,ID,...   # one batched job

Started by the app or CLI (`lifecycle.spawn`) in its own session, niced and on one torch thread so the
UI keeps its CPU. One queue worker per data directory: it holds an exclusive lock on
`paths.worker_lock(DIR)`; a second one exits at once. A batched job (`--runs`) takes no lock:
its runs were claimed for it in the store (`RunStore.claim_batch`). Both write metrics and
heartbeats to the store; a run whose process dies is marked failed by `reap()`.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

from explorer import paths
from explorer.training.jobs.lifecycle import Heartbeat, try_lock
from explorer.training.jobs.runs import execute_claimed
from explorer.training.store import RunStore



def run_one(store: RunStore, worker_id: str) -> str | None:
    """Claim and execute one queued run; returns its id, or None if nothing was queued."""
    run = store.claim(worker_id, os.getpid())
    if run is None:
        return None
    execute_claimed(store, run, worker_id)
    return run.id


def job_one(store: RunStore, worker_id: str) -> str | None:
    """Claim and execute one queued background job; returns its id, or None if none was queued."""
    from explorer.training.jobs.context import execute_job

    job = store.claim_job(worker_id, os.getpid())
    if job is None:
        return None
    beat = Heartbeat(store, [], worker_id, jobs=[job.id])
    beat.start()
    try:
        execute_job(store, job, worker_id)
    finally:
        beat.stopped.set()
    return job.id


def serve(store: RunStore, idle_exit_s: float, once: bool) -> int:
    """The queue loop: reap, run what is queued, exit after `idle_exit_s` with nothing to do."""
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    idle_since = time.monotonic()
    while True:
        store.reap()
        rid = run_one(store, worker_id) or job_one(store, worker_id)
        if rid is not None:
            idle_since = time.monotonic()
            continue
        if once or time.monotonic() - idle_since > idle_exit_s:
            return 0
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explorer.training.jobs.worker", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=str(paths.data_dir()))
    p.add_argument("--idle-exit", type=float, default=60.0, help="exit after this many seconds with nothing queued")
    p.add_argument("--once", action="store_true", help="run what is queued now, then exit")
    p.add_argument("--runs", default="", help="comma-separated ids of runs claimed for ONE batched job")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: explorer.runtime.device.threads_for('worker'), 1 beside the UI)")
    p.add_argument("--nice", type=int, default=10, help="niceness increment")
    a = p.parse_args(argv)

    data_dir = Path(a.data_dir)
    lock = None if a.runs else try_lock(data_dir)
    if not a.runs and lock is None:
        print(f"another worker holds {paths.worker_lock(data_dir)}; exiting", file=sys.stderr)
        return 0
    if a.nice:
        os.nice(a.nice)
    import torch

    from explorer.runtime.device import threads_for

    torch.set_num_threads(max(1, a.threads or threads_for("worker")))
    store = RunStore(data_dir)
    if a.runs:
        from explorer.training.jobs.sweep import run_claimed

        ids = [r for r in a.runs.split(",") if r]
        store.set_worker_pid(ids, os.getpid())
        ids = [r for r in ids if store.get(r).status == "running"]  # cancelled meanwhile: nothing to do
        if ids:
            run_claimed(store, ids)
        return 0
    return serve(store, a.idle_exit, a.once)


if __name__ == "__main__":
    sys.exit(main())
