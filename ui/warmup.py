"""Import the heavy libraries off the critical path, once per server process.

A fresh server has imported neither torch nor torchvision: on this project's 2-core machine that is
5–15 s, paid by whoever opens the first model page. Home needs neither, so the first run of
`app.py` starts a daemon thread that imports torch while the visitor reads Home (on a class server also
what *Prune* needs, before the students arrive); a page that needs it meanwhile waits on Python's
import lock for the rest, never for a second import.
"""

from __future__ import annotations

import gc
import importlib
import threading

# torch only (and what sits on it): its import is the slow one, and it never imports a module of this
# project or one of the libraries a page imports first (plotly, pandas), so two threads importing at
# once can only wait for each other, never deadlock into a half-initialised module.
MODULES = ("torch", "torch.fx", "torchvision.models")
# on a class server, also what every student's first *Prune* imports: torch-pruning (with timm, 2.3 s of
# the one Python thread, measured with py-spy in a class's burst, every session waiting) and the ONNX checker
CLASS_MODULES = ("torch_pruning", "onnxruntime")
_started = threading.Event()


def start() -> None:
    """Begin the background imports (a no-op after the first call in this process)."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_run, name="explorer-warmup", daemon=True).start()


def _run() -> None:
    from explorer.server.settings import serving_class

    for name in MODULES + (CLASS_MODULES if serving_class() else ()):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a page importing it will report the real error
            return
    # What is imported stays for the life of the process: moved out of the collector's view, a full
    # collection no longer walks it (measured in a class's burst of 30: the longest pause of the GIL for a
    # full collection 1.63 s before, 0.75 s after)
    gc.collect()
    gc.freeze()

