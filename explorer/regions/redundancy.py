"""Spline pruning on the exact partition's own terms: units whose boundaries nearly coincide.

A unit's boundary is the hyperplane `w·z + b = 0` in the space of its inputs — its row of the
lifting (`A[slot]`: the weights of all its in-arcs, skip arcs included, and the bias). Two
units of one layer whose normalised `(w, b)` are nearly parallel (|cos| >= threshold) draw
nearly the same boundary, so the weaker of the pair (smaller ||(w, b)||) adds little partition
and is pruned, greedily, as `explorer.pruning.criteria.spline.removal_order` orders them
(You, Balestriero et al., TMLR 2022; docs/science.md §6). The result is a `Selection` of unit
nodes for the existing pruning machinery (`explorer.pruning.apply`).

    >>> import torch
    >>> from explorer.graph.unit import unit_dag
    >>> from explorer.lifting import lifting
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    >>> with torch.no_grad():
    ...     net[0].weight[:] = torch.tensor([[1.0, 0.0], [2.0, 0.001], [0.0, 1.0]])
    ...     net[0].bias[:] = torch.tensor([0.5, 1.0, 0.0])
    >>> redundant_units(lifting(unit_dag(net, torch.randn(1, 2), "tiny")), 0.99)
    [('0[0]', 1.0)]
"""

from __future__ import annotations

import numpy as np
import torch

from explorer.lifting.numeric import NumericLifting
from explorer.regions.plan import bends
from explorer.pruning.criteria.spline import removal_order
from explorer.pruning.selection import Selection

THRESHOLD = 0.98  # |cos| of two normalised (w, b) above which their boundaries count as one


def hyperplanes(lift: NumericLifting) -> dict[str, tuple[list[str], np.ndarray]]:
    """Group -> (unit ids, (units, N) rows (w, b) of the lifting) for every layer of bending neurons."""
    out = {}
    for g in lift.net.groups.values():
        if g.role != "hidden" or g.pool is not None or g.block != 1 or not bends(g.phi):
            continue
        ids = [g.node_id(k) for k in range(g.units)]
        rows = np.array([lift.start[i] for i in ids])
        out[g.name] = (ids, lift.A[rows].toarray())
    return out


def redundant_units(lift: NumericLifting, threshold: float = THRESHOLD) -> list[tuple[str, float]]:
    """[(unit id, |cos| with the unit it duplicates)] to prune, layer by layer, most similar first.
    Units already dead (all-zero rows) are not listed: they draw no boundary."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold {threshold} must be in (0, 1]: the |cosine| above which two boundaries coincide")
    out: list[tuple[str, float]] = []
    for ids, H in hyperplanes(lift).values():
        dead = np.linalg.norm(H, axis=1) == 0
        for sim, unit in removal_order(torch.from_numpy(H)):
            if dead[unit]:
                continue
            if sim < threshold:
                break
            out.append((ids[unit], round(float(sim), 6)))
    return sorted(out, key=lambda t: -t[1])


def spline_selection(lift: NumericLifting, threshold: float = THRESHOLD) -> Selection:
    """The redundant units as a unit-level `Selection` of the lifting's DAG."""
    units = redundant_units(lift, threshold)
    return Selection.from_ids(lift.dag, [u for u, _ in units], note=f"spline redundancy |cos| >= {threshold:g}")
