"""Activation codes at many inputs at once: the lifting run level by level on a batch.

`level_values(lift, X)` evaluates `z_L = Phi_L T_L ... Phi_1 T_1 z_0` for a whole batch (the
numeric lifting's rows as sparse matrices times a (slots, batch) state), keeping every level's
pre-activations. `probe_codes(lift, plane, res)` turns them into each probe point's activation
code on a res x res grid over the plane — the code the exact partition assigns to the region
holding the point, and for smooth activations the sign pattern `pre > 0` the grid
approximation draws (docs/science.md §6).

    >>> import torch
    >>> from explorer.graph.unit import unit_dag
    >>> from explorer.lifting import lifting
    >>> from explorer.regions.plane import Plane
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    >>> L = lifting(unit_dag(net, torch.randn(1, 2), "tiny"))
    >>> c = probe_codes(L, Plane.rect(-1, 1, -1, 1), 20)
    >>> c.codes.shape, c.level.tolist()
    ((400, 3), [1, 1, 1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.lifting.numeric import NumericLifting
from explorer.regions.plan import level_plan
from explorer.regions.plane import Plane


@dataclass(frozen=True)
class ProbeCodes:
    """codes (B, n_code) int16 at the probe points `uv` (B, 2); `level` (n_code,) the level of each column."""

    codes: np.ndarray
    level: np.ndarray
    uv: np.ndarray


def level_values(lift: NumericLifting, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """(z_L (N, B), [pre-activations of level l (n_l, B) for l = 0..L]) for flat inputs X (B, n_in)."""
    B = len(X)
    Z = np.zeros((lift.N, B))
    Z[0] = 1.0
    Z[lift.in_slots] = X.T
    for s in lift.const_slots:
        phi = lift.net.groups[lift.dag.node(lift.order[lift.node_of_slot[s - 1]]).meta["group"]].phi
        Z[s] = float(phi.fn(torch.tensor([float(lift.A[s, 0])], dtype=torch.float64))[0])
    pres = [np.zeros((0, B))]
    for l in range(1, lift.L + 1):
        plan = level_plan(lift, l, exact=False)
        rows = lift.rows[l]
        pre = np.asarray(lift.A_rows[l] @ Z)  # (n_l, B)
        for u in plan.units:
            Z[rows[u.local]] = u.phi.fn(torch.from_numpy(pre[u.local])).numpy()
        for p in plan.pools:
            Z[rows[p.local]] = Z[p.window].max(axis=0)
            pre[p.local] = Z[rows[p.local]]
        pres.append(pre)
    return Z, pres


def codes_at(lift: NumericLifting, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes (B, n_code) int16, level of each column): the piece of phi each bending slot is on
    (smooth phi: pre > 0), and each max-pool slot's argmax in its window, in the partition's column order."""
    Z, pres = level_values(lift, X)
    cols, levels = [], []
    for l in range(1, lift.L + 1):
        plan = level_plan(lift, l, exact=False)
        for u in plan.units:
            kinks = u.kinks if u.phi.piecewise_linear else (0.0,)
            if not kinks:
                continue
            for k in u.local:
                cols.append(sum((pres[l][k] > kk).astype(np.int16) for kk in kinks))
                levels.append(l)
        for p in plan.pools:
            cols.append(np.argmax(Z[p.window], axis=0).astype(np.int16))  # first max, as the partition's tournament
            levels.append(l)
    if not cols:
        return np.zeros((len(X), 0), dtype=np.int16), np.zeros(0, dtype=np.int64)
    return np.stack(cols, 1), np.array(levels, dtype=np.int64)


def probe_codes(lift: NumericLifting, plane: Plane, res: int = 100) -> ProbeCodes:
    """The codes on a res x res grid of pixel centres over the plane's box."""
    _, _, uv = plane.grid(res)
    codes, level = codes_at(lift, plane.inputs(uv))
    return ProbeCodes(codes, level, uv)
