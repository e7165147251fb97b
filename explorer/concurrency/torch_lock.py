"""The process-wide lock over torch's global state, and fx patches that stay in their thread.

Streamlit runs every session's script in a thread of one process, and torch keeps global state
that tracing and seeding change:

- `torch.fx` replaces `nn.Module.__call__`/`__getattr__` on the class, and a module-level
  `CURRENT_PATCHER`, for the duration of a symbolic trace (and so does `torch.export`, which
  traces through fx's `Tracer`; non-strict export also rebinds `builtins.max`/`min`). Two traces at
  once record each other's modules ("module is not installed as a submodule") or unwind each other's
  patches ("CURRENT_PATCHER is None"); a tracer that fails that way falls back to the next one and
  gives another graph than a lone session gets.
- `torch.onnx.export` (the TorchScript exporter) sets a global "exporting" flag and asserts it is unset
  when it starts: two exports at once fail ("GLOBALS.in_onnx_export must be False"; 8 of 30 students'
  ONNX exports under a class's burst before `pruning.export.export_onnx` took the lock).
- `torch.manual_seed` seeds the one global generator: two models built at once draw each other's
  numbers, and get other weights than the same seed gives alone.

`exclusive()` is the one lock over both (re-entrant: a trace that falls back to the recording, or a
spec that builds its parent model, takes it again in the same thread). Every tracer entry point
(`explorer.graph.trace.trace`, `unit_dag`, `record_dag`) and every seeded construction (`seeded`)
holds it, so they run one at a time.

A forward pass in another thread never takes the lock (a page's verification should not wait for
another session's trace), so fx's class-level patches are made to act in the tracing thread only:
importing this module wraps `torch.fx._symbolic_trace._Patcher.patch_method` (torch is pinned) so
that a patched method calls the tracer's wrapper in the thread that patched it and the method it
replaced everywhere else. Hooks a tracer puts on a shared model use `this_thread_only` for the same
reason.

    >>> with exclusive():
    ...     with exclusive():  # re-entrant
    ...         is_held()
    True
    >>> is_held()
    False
    >>> with seeded(3):
    ...     a = torch.rand(2)
    >>> with seeded(3):
    ...     b = torch.rand(2)
    >>> bool((a == b).all())
    True
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.fx import _symbolic_trace

from explorer.concurrency.progress import waiting

_LOCK = threading.RLock()
_owner = threading.local()  # depth of this thread's hold on _LOCK


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """Hold the process-wide lock over torch's global state (re-entrant in one thread); while another
    thread holds it, the wait is reported (`explorer.concurrency.progress.waiting`)."""
    if not _LOCK.acquire(blocking=False):
        with waiting("another session is tracing or building a model (one at a time)"):
            _LOCK.acquire()
    _owner.depth = getattr(_owner, "depth", 0) + 1
    try:
        yield
    finally:
        _owner.depth -= 1
        _LOCK.release()


def is_held() -> bool:
    """Whether this thread holds `exclusive()`."""
    return getattr(_owner, "depth", 0) > 0


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """`torch.manual_seed(seed)` for the duration, under `exclusive()`, with the global generator's
    state restored afterwards: what is built inside draws the same numbers whatever other threads do."""
    with exclusive(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def this_thread_only(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` when called from the thread that wrapped it; a no-op (returning None) from any other: for
    hooks a tracer registers on a model that other threads may run meanwhile."""
    owner = threading.get_ident()

    @functools.wraps(fn)
    def scoped(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs) if threading.get_ident() == owner else None
    return scoped


def _scoped_patch_method(patch_method: Callable[..., None]) -> Callable[..., None]:
    """fx's `_Patcher.patch_method`, with the replacement acting in the patching thread only."""
    if getattr(patch_method, "__explorer_thread_scoped", False):
        return patch_method  # already wrapped (this module reloaded)

    @functools.wraps(patch_method)
    def patch(self: Any, cls: type, name: str, new_fn: Callable[..., Any], deduplicate: bool = True) -> None:
        owner, orig = threading.get_ident(), getattr(cls, name)

        @functools.wraps(new_fn)
        def in_owner_thread(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == owner:
                return new_fn(*args, **kwargs)
            return orig(*args, **kwargs)  # another thread: the method as it was before this trace

        return patch_method(self, cls, name, in_owner_thread, deduplicate)

    patch.__explorer_thread_scoped = True  # type: ignore[attr-defined]
    return patch


_symbolic_trace._Patcher.patch_method = _scoped_patch_method(_symbolic_trace._Patcher.patch_method)
