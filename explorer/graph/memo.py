"""Results computed from one graph object, kept with it: `PerGraph(keep).get(dag, key, compute)`.

A verdict, a unit plan or an index of a unit graph's arcs depends only on the graph and its arguments,
and the same ones are asked for many times on one prune's way (the Prune page's summary and counts,
`apply`, the export, each training role; thirty students on one cached graph). `PerGraph` keeps the
last `keep` results per graph object, keyed by identity (a `Dag` is not hashable) with a weak reference,
so a graph's results are forgotten with it and a new graph at a recycled address never sees them.
Two threads asking for one missing key may both compute it; the results are equal, and one is kept.

    >>> from explorer.graph.dag import Arc, Dag, Node
    >>> g = Dag.build([Node("x", "input"), Node("y", "linear")], [Arc("x", "y")], "op")
    >>> memo, calls = PerGraph(keep=2), []
    >>> def f(k):
    ...     calls.append(k)
    ...     return k * 2
    >>> memo.get(g, 1, lambda: f(1)), memo.get(g, 1, lambda: f(1)), calls
    (2, 2, [1])
    >>> _ = memo.get(g, 2, lambda: f(2)), memo.get(g, 3, lambda: f(3)); memo.get(g, 1, lambda: f(1)), calls
    (2, [1, 2, 3, 1])
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class PerGraph:
    """The last `keep` results per graph object (see the module docstring)."""

    def __init__(self, keep: int):
        self.keep = keep
        self._held: dict[int, tuple[weakref.ref, OrderedDict[Hashable, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, dag: Any, key: Hashable, compute: Callable[[], T]) -> T:
        """The result for (`dag`, `key`): kept, or `compute()` now and kept."""
        gid = id(dag)
        with self._lock:
            held = self._held.get(gid)
            if held is not None and held[0]() is dag and key in held[1]:
                held[1].move_to_end(key)
                return held[1][key]
        value = compute()
        with self._lock:
            held = self._held.get(gid)
            if held is None or held[0]() is not dag:
                held = self._held[gid] = (weakref.ref(dag, self._forget(gid)), OrderedDict())
            held[1][key] = value
            while len(held[1]) > self.keep:
                held[1].popitem(last=False)
        return value

    def _forget(self, gid: int) -> Callable[[weakref.ref], None]:
        # no lock here: the collector may call this in a thread that holds it (a miss is the worst outcome)
        def forget(ref: weakref.ref) -> None:
            held = self._held.get(gid)
            if held is not None and held[0] is ref:
                self._held.pop(gid, None)
        return forget
