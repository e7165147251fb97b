"""Import the heavy libraries off the critical path, once per server process.

A fresh server has imported neither torch nor torchvision: on this project's 2-core machine that is
5–15 s, paid by whoever opens the first model page. Home needs neither, so the first run of
`app.py` starts a daemon thread that imports torch while the visitor reads Home; a page that needs
it meanwhile waits on Python's import lock for the rest, never for a second import.
"""

from __future__ import annotations

import importlib
import threading

# torch only (and what sits on it): its import is the slow one, and it never imports a module of this
# project or one of the libraries a page imports first (plotly, pandas), so two threads importing at
# once can only wait for each other, never deadlock into a half-initialised module.
MODULES = ("torch", "torch.fx", "torchvision.models")
_started = threading.Event()


# what a class's first quick comparison imports in the worker: torch's optimisers import torch._dynamo on
# first use (seconds on 2 cores), then the training code and the export reader
WORKER_MODULES = ("torch._dynamo", "explorer.training.kinds", "explorer.training.sweep", "explorer.training.roles",
                  "explorer.pruning.export")


def start() -> None:
    """Begin the background imports (a no-op after the first call in this process); on a class server, also
    start the queue worker with the training code imported, so the first student's *Retrain* waits for
    neither a process start nor those imports."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_run, name="explorer-warmup", daemon=True).start()
    from explorer.server.settings import serving_class

    if serving_class():
        from explorer import paths
        from explorer.jobs.lifecycle import ensure_worker

        try:
            ensure_worker(paths.data_dir(), warm=WORKER_MODULES)
        except OSError:  # an unwritable data folder: the Train page says so when a job is queued
            pass


def _run() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a page importing it will report the real error
            return
