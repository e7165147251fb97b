"""Sessions of the app are threads of one process: what keeps them from interfering.

- `torch_lock` — the one process-wide lock over torch's global state (fx/export patches, the
  global random generator), held while a graph is traced or a seeded model is built; and the
  scoping of fx's patches to the thread that traces, so another thread's forward pass is untouched;
- `once`       — a memo that computes each key once when several threads ask for it at once;
- `gc_pause`   — the cyclic garbage collector paused while any thread builds a big graph;
- `progress`   — the stages of long work (probing, building, tracing), reported by the library and
  read by a page from another thread.
"""

from explorer.concurrency.once import once_per_key
from explorer.concurrency.progress import Progress, reporting, stage, waiting
from explorer.concurrency.torch_lock import exclusive, is_held, seeded, this_thread_only

__all__ = ["Progress", "exclusive", "is_held", "once_per_key", "reporting", "seeded", "stage", "this_thread_only",
           "waiting"]
