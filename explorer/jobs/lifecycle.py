"""The local worker process's life: how it is started, its lock (one per data folder), and whether one lives.

`spawn(data_dir, args)` starts `python -m explorer.jobs.worker` in its own session (it outlives the
page or CLI that started it), niced by the worker itself, on one torch thread.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import explorer
from explorer import paths

PACKAGE_PARENT = Path(explorer.__file__).resolve().parents[1]  # the folder `import explorer` needs on the path


def spawn(data_dir: str | Path, args: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """Start `python -m explorer.jobs.worker --data-dir DIR *args` in its own session, one torch thread,
    output appended to the worker log."""
    data_dir = Path(data_dir)
    env = {**os.environ, "OMP_NUM_THREADS": "1", paths.ENV: str(data_dir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")]))}
    with open(paths.worker_log(data_dir), "ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "explorer.jobs.worker", "--data-dir", str(data_dir), *args],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)


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


IDLE_EXIT_S = 60.0  # a worker with nothing queued exits after this long
CLASS_IDLE_EXIT_S = 1800.0  # on a class server: it stays through a lesson's pauses, warm for the next burst


def ensure_worker(data_dir: str | Path, idle_exit_s: float | None = None,
                  warm: Sequence[str] = ()) -> subprocess.Popen[bytes] | None:
    """Start a queue worker for `data_dir` unless one is alive; returns the new process or None.
    `idle_exit_s`: default `IDLE_EXIT_S`; on a class server `CLASS_IDLE_EXIT_S`, or less: the worker ends
    when idle once this process (the server) has ended. `warm`: modules the worker
    imports before its first claim (`worker --warm`), so the first job does not pay for them."""
    if worker_alive(data_dir):
        return None
    args = []
    if idle_exit_s is None:
        from explorer.server.settings import serving_class

        idle_exit_s = CLASS_IDLE_EXIT_S if serving_class() else IDLE_EXIT_S
        if serving_class():  # the long wait is for this server's students: not past the server's end
            args = ["--server-pid", str(os.getpid())]
    return spawn(data_dir, ["--idle-exit", str(idle_exit_s), *args, *(["--warm", ",".join(warm)] if warm else [])])
