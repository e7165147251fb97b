"""What every job process shares: how it is started, its heartbeat, and how its end is worded.

`spawn(data_dir, args)` starts `python -m explorer.training.jobs.worker` (queue or batched
mode) in its own session, niced by the worker itself, on one torch thread.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path

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
    """Beats for the given runs every HEARTBEAT_S, even while a long step or evaluation runs."""

    def __init__(self, store: RunStore, run_ids: Sequence[str]):
        super().__init__(daemon=True)
        self.store, self.run_ids, self.stopped = store, list(run_ids), threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_S):
            for rid in self.run_ids:
                try:
                    self.store.heartbeat(rid)
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
