"""Levels: the longest-path distance of each node from the input(s) (docs/science.md §1).

`level(v) = 0` for a node with no incoming arc, else `1 + max(level(u) for u -> v)`.
This is *not* `networkx.topological_generations` (earliest generation): a skip arc
never lowers a node's level.

    >>> longest_path_levels(["x", "h", "y"], [("x", "h"), ("h", "y"), ("x", "y")])
    {'x': 0, 'h': 1, 'y': 2}
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence


class CycleError(ValueError):
    """The graph has a cycle, so no level exists."""


def longest_path_levels(nodes: Sequence[str], arcs: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Levels by Kahn's algorithm in O(V + E); raises `CycleError` naming nodes on a cycle."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    indeg: dict[str, int] = {n: 0 for n in nodes}
    for u, v in arcs:
        succ[u].append(v)
        indeg[v] += 1
    level = {n: 0 for n in nodes}
    ready = deque(n for n in nodes if indeg[n] == 0)
    done = 0
    while ready:
        u = ready.popleft()
        done += 1
        for v in succ[u]:
            if level[u] + 1 > level[v]:
                level[v] = level[u] + 1
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
    if done != len(level):
        stuck = [n for n, d in indeg.items() if d > 0][:5]
        raise CycleError(f"the graph has a cycle through {', '.join(stuck)}; a DAG-DNN must be acyclic")
    return level
