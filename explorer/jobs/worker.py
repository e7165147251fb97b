"""The worker: the one loop that takes queued jobs from the store and executes them — a training run,
a batched sweep, a lottery experiment, a prune, a playground run alike (`context.execute`).

    python -m explorer.jobs.worker --data-dir DIR [--idle-exit 60] [--once]

Started by the app or CLI (`lifecycle.spawn`) in its own session, niced and on one torch thread so the
UI keeps its CPU. One worker per data folder: it holds an exclusive lock on `paths.worker_lock(DIR)`;
a second one exits at once. Which queued job comes next is the claim policy's choice
(`store.ClaimPolicy`; oldest first by default). A job whose process dies is queued again or failed by
`JobStore.reap`.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from explorer import paths
from explorer.jobs.context import execute
from explorer.jobs.lifecycle import try_lock
from explorer.jobs.store import JobStore

IDLE_POLL_S = 0.2


def run_next(store: JobStore, worker_id: str, policy: Any = None) -> str | None:
    """Claim and execute the next queued job; returns its id, or None if nothing was queued."""
    job = store.claim(worker_id, os.getpid(), policy=policy)
    if job is None:
        return None
    execute(store, job, worker_id)
    return job.id


def serve(store: JobStore, idle_exit_s: float, once: bool, policy: Any = None, server_pid: int = 0) -> int:
    """The queue loop: reap, run what is queued, exit after `idle_exit_s` with nothing to do, or as soon as
    there is nothing to do once the process `server_pid` (when given) has ended."""
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    idle_since = time.monotonic()
    while True:
        store.reap()
        if run_next(store, worker_id, policy) is not None:
            idle_since = time.monotonic()
            continue
        if once or time.monotonic() - idle_since > idle_exit_s or (server_pid and not _alive(server_pid)):
            return 0
        time.sleep(IDLE_POLL_S)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def warm_up(modules: list[str]) -> None:
    """Import `modules` (as `execute` imports a job's module); one that fails is left for its job to report."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - the job that needs it reports the real error
            print(f"warm-up: could not import {name}: {type(e).__name__}: {e}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explorer.jobs.worker", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=str(paths.data_dir()))
    p.add_argument("--idle-exit", type=float, default=60.0, help="exit after this many seconds with nothing queued")
    p.add_argument("--once", action="store_true", help="run what is queued now, then exit")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: explorer.runtime.device.threads_for('worker'), 1 beside the UI)")
    p.add_argument("--nice", type=int, default=10, help="niceness increment")
    p.add_argument("--server-pid", type=int, default=0,
                   help="exit when idle once this process (the class server that started it) has ended")
    p.add_argument("--warm", default="", help="modules to import before the first claim, comma-separated (a class "
                                              "server's worker, started with the server: the first job then "
                                              "finds torch's optimisers and the training code imported)")
    a = p.parse_args(argv)

    data_dir = Path(a.data_dir)
    lock = try_lock(data_dir)
    if lock is None:
        print(f"another worker holds {paths.worker_lock(data_dir)}; exiting", file=sys.stderr)
        return 0
    if a.nice:
        os.nice(a.nice)
    import torch

    from explorer.runtime.device import threads_for

    torch.set_num_threads(max(1, a.threads or threads_for("worker")))
    warm_up([m for m in a.warm.split(",") if m])
    from explorer.jobs.policy import server_policy

    # a class server serves its students in turn (RoundRobin); the local app, first come first served
    return serve(JobStore(data_dir), a.idle_exit, a.once, server_policy(), a.server_pid)


if __name__ == "__main__":
    sys.exit(main())
