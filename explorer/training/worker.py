"""The worker process: takes queued runs from the store one at a time and executes them.

    python -m explorer.training.worker --data-dir DIR [--idle-exit 60] [--once]

Started by the app or CLI (`explorer.training.backend.ensure_worker`) in its own session,
niced and on one torch thread so the UI keeps its CPU. One worker per data directory: it
holds an exclusive lock on `<data_dir>/worker.lock`; a second one exits at once. It writes
metrics and heartbeats to the store; a run whose worker dies is marked failed by `reap()`.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any

from explorer.training.store import RunStore

HEARTBEAT_S = 2.0


def try_lock(data_dir: Path) -> IO[Any] | None:
    """The worker lock, or None if another live process holds it (released when that dies)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    f = open(data_dir / "worker.lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


class _Heartbeat(threading.Thread):
    """Beats for the current run every HEARTBEAT_S, even while a long step or eval runs."""

    def __init__(self, store: RunStore, run_id: str):
        super().__init__(daemon=True)
        self.store, self.run_id, self.stopped = store, run_id, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_S):
            try:
                self.store.heartbeat(self.run_id)
            except Exception:  # a busy database must not kill the run; the next beat retries
                pass


def run_one(store: RunStore, worker_id: str) -> str | None:
    """Claim and execute one queued run; returns its id, or None if nothing was queued."""
    from explorer.training.runner import execute

    run = store.claim(worker_id, os.getpid())
    if run is None:
        return None
    rid, cfg = run.id, run.config
    beat = _Heartbeat(store, rid)
    beat.start()

    def sink(rows: Any) -> None:
        store.log_metrics(rid, rows)
        step = max(r["step"] for r in rows)
        store.heartbeat(rid, step=step, progress=min(1.0, step / cfg.steps))

    try:
        result = execute(cfg, sink, lambda: store.is_cancel_requested(rid),
                         checkpoint_root=store.dir / "checkpoints",
                         on_start=lambda dev, tv: store.set_started(rid, dev, tv))
        error = {"diverged": f"loss became NaN/inf at step {result.steps_done}; lower the learning rate",
                 "cancelled": "cancelled by request"}.get(result.status)
        store.finish(rid, result.status, error, summary=result.to_dict())
    except Exception as e:  # the run fails, the worker lives on
        msg = f"{type(e).__name__}: {e}"
        if not isinstance(e, ValueError):  # library errors carry their own message; others need the trace
            msg += "\n" + traceback.format_exc(limit=5)
        store.finish(rid, "failed", msg)
    finally:
        beat.stopped.set()
    return rid


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explorer.training.worker", description=__doc__)
    p.add_argument("--data-dir", default=os.environ.get("EXPLORER_DATA_DIR", "./data"))
    p.add_argument("--idle-exit", type=float, default=60.0, help="exit after this many seconds with nothing queued")
    p.add_argument("--once", action="store_true", help="run what is queued now, then exit")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (keep 1 beside the UI)")
    p.add_argument("--nice", type=int, default=10, help="niceness increment")
    a = p.parse_args(argv)

    data_dir = Path(a.data_dir)
    lock = try_lock(data_dir)
    if lock is None:
        print(f"another worker holds {data_dir / 'worker.lock'}; exiting", file=sys.stderr)
        return 0
    if a.nice:
        os.nice(a.nice)
    import torch

    torch.set_num_threads(max(1, a.threads))
    store = RunStore(data_dir)
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    idle_since = time.monotonic()
    while True:
        store.reap()
        rid = run_one(store, worker_id)
        if rid is not None:
            idle_since = time.monotonic()
            continue
        if a.once or time.monotonic() - idle_since > a.idle_exit:
            return 0
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
