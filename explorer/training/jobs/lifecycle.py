"""What every job process shares: how it is started, its heartbeat, and how its end is worded.

`spawn(data_dir, args)` starts `python -m explorer.training.jobs.worker` (queue or batched
mode) in its own session, niced by the worker itself, on one torch thread.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import explorer
from explorer import paths

HEARTBEAT_S = 2.0
PACKAGE_PARENT = Path(explorer.__file__).resolve().parents[1]  # the folder `import explorer` needs on the path
STOP_MESSAGES = {"diverged": "{why} at step {step}; lower the learning rate",
                 "cancelled": "cancelled by request"}


def spawn(data_dir: str | Path, args: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start `python -m explorer.training.jobs.worker --data-dir DIR *args` in its own session (it
    outlives the page or CLI that started it), one torch thread, output appended to the worker log."""
    data_dir = Path(data_dir)
    env = {**os.environ, "OMP_NUM_THREADS": "1", paths.ENV: str(data_dir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")]))}
    with open(paths.worker_log(data_dir), "ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "explorer.training.jobs.worker", "--data-dir", str(data_dir),
                                 *args], stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                start_new_session=True)


class Heartbeat(threading.Thread):
    """Beats for the given runs (and jobs) every HEARTBEAT_S as `worker_id`, even while a long step
    or evaluation runs."""

    def __init__(self, store: Any, run_ids: Sequence[str], worker_id: str | None = None,
                 jobs: Sequence[str] = ()):
        super().__init__(daemon=True)
        self.store, self.run_ids, self.worker_id, self.jobs = store, list(run_ids), worker_id, list(jobs)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_S):
            try:
                for rid in self.run_ids:
                    self.store.heartbeat(rid, worker_id=self.worker_id)
                for jid in self.jobs:
                    self.store.job_heartbeat(jid, self.worker_id)
            except Exception:  # noqa: BLE001 - a busy database must not kill the run; the next beat retries
                pass


def failure_message(e: BaseException) -> str:
    """One run's error text: library errors carry their own message; others get a short trace."""
    msg = f"{type(e).__name__}: {e}"
    if not isinstance(e, ValueError):
        msg += "\n" + "".join(traceback.format_exception(e, limit=5))
    return msg


def stop_message(status: str, steps_done: int, why: str = "") -> str | None:
    """The error line of a run that stopped early ('diverged', 'cancelled'); None for 'done'."""
    msg = STOP_MESSAGES.get(status)
    return msg.format(step=steps_done, why=why or "loss became NaN/inf") if msg else None


def try_lock(data_dir: Path) -> IO[Any] | None:
    """The worker lock, or None if another live process holds it (released when that dies)."""
    paths.ensure_dir(data_dir)
    f = open(paths.worker_lock(data_dir), "a+")
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


def worker_alive(data_dir: str | Path) -> bool:
    """True while some process holds the worker lock of `data_dir`."""
    f = try_lock(Path(data_dir))
    if f is None:
        return True
    f.close()  # we got it: nobody holds it; closing releases it
    return False


def ensure_worker(data_dir: str | Path, idle_exit_s: float = 60.0) -> subprocess.Popen[bytes] | None:
    """Start a queue worker for `data_dir` unless one is alive; returns the new process or None."""
    if worker_alive(data_dir):
        return None
    return spawn(data_dir, ["--idle-exit", str(idle_exit_s)])
