"""A memo that computes each key once, however many threads ask for it at the same time.

`functools.lru_cache` is thread-safe for its bookkeeping but not for the computation: two
sessions opening the same model at once both build it (twice the time, and two different
objects where the caller relies on one). `once_per_key(maxsize)` keeps the last `maxsize`
results, like `lru_cache`; a thread asking for a key that another thread is computing waits
for that result (or that exception) instead of computing it again. Exceptions are not kept: the
next call after a failure tries again.

    >>> calls = []
    >>> @once_per_key(maxsize=2)
    ... def square(n):
    ...     calls.append(n)
    ...     return n * n
    >>> square(3), square(3), calls
    (9, 9, [3])
    >>> square.cache_clear(); square(3), calls
    (9, [3, 3])
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from explorer.concurrency.progress import waiting


class _Pending:
    """One computation in flight: the thread doing it, and its outcome once `done` is set."""

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class _Memo:
    def __init__(self, fn: Callable[..., Any], maxsize: int):
        self.fn, self.maxsize = fn, maxsize
        self.lock = threading.Lock()
        self.results: OrderedDict[Hashable, Any] = OrderedDict()
        self.pending: dict[Hashable, _Pending] = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Hashable) -> Any:
        with self.lock:
            if args in self.results:
                self.results.move_to_end(args)
                return self.results[args]
            p = self.pending.get(args)
            mine = p is None
            if mine:
                p = self.pending[args] = _Pending()
            elif p.owner == threading.get_ident():
                raise RuntimeError(f"{self.fn.__qualname__}{args} asks for its own result while computing it")
        if not mine:
            with waiting("another session is computing the same thing; its result is shared"):
                p.done.wait()
            if p.error is not None:
                raise p.error
            return p.value
        try:
            p.value = self.fn(*args)
        except BaseException as e:
            p.error = e
            raise
        finally:
            with self.lock:
                del self.pending[args]
                if p.error is None:
                    self.results[args] = p.value
                    while len(self.results) > self.maxsize:
                        self.results.popitem(last=False)
            p.done.set()
        return p.value

    def cache_clear(self) -> None:
        """Forget every kept result (computations in flight finish and are kept)."""
        with self.lock:
            self.results.clear()


def once_per_key(maxsize: int = 128) -> Callable[[Callable[..., Any]], _Memo]:
    """Decorator: memoise a function of hashable positional arguments, computing each key once
    across threads and keeping the `maxsize` most recently used results (see the module doc)."""
    if maxsize < 1:
        raise ValueError(f"maxsize must be at least 1, got {maxsize}")
    return lambda fn: _Memo(fn, maxsize)
