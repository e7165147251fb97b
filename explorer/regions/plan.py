"""What the region splitter does at each level of a unit-level lifting: which slots bend where.

For level `l` of a `NumericLifting`, `level_plan(lift, l)` lists

- `units`: the level's activation units as `UnitStep`s — the rows of `T_l` they own, their
  activation `phi` and its kinks (relu: one line `pre = 0`; hardtanh: two; identity: none);
- `pools`: the max-pool slots as `PoolStep`s — each output slot with the window of source slots
  it takes the maximum over (found by feeding one-hot inputs to the pool).

Rows of units whose `phi` is not piecewise linear (tanh, sigmoid, GELU...) make the plan
inexact: `NotPiecewiseLinear` names the first one (docs/science.md §6).

    >>> import torch
    >>> from explorer.graph.unit import unit_dag
    >>> from explorer.lifting import lifting
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    >>> L = lifting(unit_dag(net, torch.randn(1, 2), "tiny"))
    >>> p = level_plan(L, 1)
    >>> [(u.node, u.kinks) for u in p.units], p.pools
    ([('0[0]', (0.0,)), ('0[1]', (0.0,)), ('0[2]', (0.0,))], [])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from explorer.graph.unit.ops import MaxPool, Phi
from explorer.lifting.numeric import NumericLifting


class NotPiecewiseLinear(ValueError):
    """A network with a smooth activation (tanh, sigmoid, GELU...): it has no exact linear regions."""


@dataclass(frozen=True)
class UnitStep:
    """One activation unit of a level: its rows (local indices into `lift.rows[l]`), phi and kinks."""

    node: str
    local: np.ndarray  # (block,) local rows of the unit's slots
    phi: Phi
    kinks: tuple[float, ...]  # where phi bends (`bends`): the lines the unit cuts along


@dataclass(frozen=True)
class PoolStep:
    """One max-pool output slot: its local row, its global slot, and the global slots of its window."""

    node: str
    local: int
    pos: int  # position within the node's block (its channel)
    window: np.ndarray  # (w,) global slots the max is taken over


@dataclass(frozen=True)
class LevelPlan:
    level: int
    units: list[UnitStep]
    pools: list[PoolStep]


def _node_of(lift: NumericLifting, s: int) -> str:
    return lift.order[lift.node_of_slot[s - 1]]


def level_plan(lift: NumericLifting, l: int, exact: bool = True) -> LevelPlan:
    """The plan of level `l` (see the module doc). With `exact`, a smooth activation raises
    `NotPiecewiseLinear`; without, its units are listed with no kinks (for grid approximations)."""
    rows = lift.rows[l]
    by_node: dict[str, list[int]] = {}
    pools: list[PoolStep] = []
    pool_groups = {g.name for g in lift.net.groups.values() if g.pool is not None}
    windows: dict[str, dict[int, np.ndarray]] = {}
    for k, s in enumerate(rows):
        node = _node_of(lift, int(s))
        g = lift.dag.node(node).meta["group"]
        if g in pool_groups:
            if g not in windows:
                windows[g] = _pool_windows(lift, g)
            pools.append(PoolStep(node, k, int(s) - lift.start[node], windows[g][int(s)]))
        else:
            by_node.setdefault(node, []).append(k)
    units = []
    for node, local in by_node.items():
        phi = lift.net.groups[lift.dag.node(node).meta["group"]].phi
        if exact and not phi.piecewise_linear:
            raise NotPiecewiseLinear(
                f"unit {node} applies {phi.name}, which is not piecewise linear: the network has no exact linear "
                "regions — use a ReLU/LeakyReLU/abs/identity network, or the grid approximation")
        units.append(UnitStep(node, np.array(local), phi, bends(phi)))
    return LevelPlan(l, units, pools)


@lru_cache(maxsize=64)
def bends(phi: Phi) -> tuple[float, ...]:
    """The kinks of a piecewise-linear phi where it really bends (slope or intercept change): a
    LeakyReLU of slope 1 — the playground's "linear" — has none. Smooth phi: ()."""
    if not phi.piecewise_linear or not phi.kinks:
        return ()
    ks = tuple(sorted(phi.kinks))
    slope, icpt = phi_table(phi, ks)
    return tuple(k for i, k in enumerate(ks) if slope[i] != slope[i + 1] or icpt[i] != icpt[i + 1])


def _pool_windows(lift: NumericLifting, group: str) -> dict[int, np.ndarray]:
    """Global output slot -> global source slots of its window, for a max-pool group."""
    g = lift.net.groups[group]
    src = lift.net.groups[g.pool_src]
    W = window_matrix(g.pool, tuple(src.shape[1:]))  # (n_out, n_in) 0/1 per channel
    out_slots, in_slots = lift.gslots[g.name], lift.gslots[src.name]
    n_out, n_in = W.shape
    out = {}
    for c in range(g.units):
        for q in range(n_out):
            out[int(out_slots[c * n_out + q])] = in_slots[c * n_in + np.nonzero(W[q])[0]]
    return out


@lru_cache(maxsize=64)
def window_matrix(pool: MaxPool, spatial: tuple[int, ...]) -> np.ndarray:
    """(n_out, n_in) bool: which input positions of one channel each pooled position reads (one-hot probes)."""
    n_in = int(np.prod(spatial))
    Z = np.eye(n_in)  # column p: the one-hot input at position p
    out = pool(Z, (1, *spatial))  # (n_out, n_in): 1 where the window of q holds p
    return np.asarray(out) > 0.5


def phi_table(phi: Phi, kinks: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept of `phi` on each of its `len(kinks) + 1` pieces: phi(t) = slope * t + icpt."""
    k = list(kinks)
    if not k:
        reps = [0.0]
    else:
        reps = [k[0] - 1.0] + [(a + b) / 2 for a, b in zip(k[:-1], k[1:])] + [k[-1] + 1.0]
    t = torch.tensor(reps, dtype=torch.float64)
    slope = phi.slope(t).detach().numpy().astype(np.float64)
    icpt = phi.fn(t).detach().numpy().astype(np.float64) - slope * t.numpy()
    return slope, icpt
