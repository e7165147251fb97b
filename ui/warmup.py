"""Import the heavy libraries off the critical path, once per server process.

A fresh server has imported neither torch nor torchvision: on this project's 2-core machine that is
5–15 s, paid by whoever opens the first model page. Home needs neither, so the first run of
`app.py` starts a daemon thread that imports them (and the library's packages that trace, lift and
prune) while the visitor reads Home; a page that needs them meanwhile simply waits on Python's
import lock for the rest, never for a second import.
"""

from __future__ import annotations

import importlib
import threading

MODULES = ("torch", "torchvision.models", "torch.fx", "networkx", "pandas", "explorer.graph", "explorer.lifting",
           "explorer.pruning.validity", "explorer.pruning.pipeline", "explorer.figures.matrix_plot")
_started = threading.Event()


def start() -> None:
    """Begin the background imports (a no-op after the first call in this process)."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_run, name="explorer-warmup", daemon=True).start()


def _run() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a page importing it will report the real error
            return
