"""Per-level spectra from the lifting decomposition (docs/science.md §2, §5): at an input x the
level-`l` map is the block of `M_l(x) = D_l(x) T_l(x)` whose rows are the level-`l` slots and
whose columns are the slots of the layers feeding them — for an MLP exactly `D_l W_l`, the
layer Jacobian, and the product of the `M_l` is the input–output Jacobian (§2, local map).

Unit level only (neurons and channels; nodes exist where the network is nonlinear, so a
deep *linear* net folds into one level — use `explorer.propagation.layers` for it).

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    >>> [(s.layer, s.shape) for s in lifting_level_spectra(net, torch.randn(2, 3))]
    [('0', (4, 3)), ('2', (2, 4))]
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from explorer.graph.unit import unit_dag
from explorer.lifting import NumericLifting
from explorer.propagation.layers import LayerSpectrum
from explorer.propagation.spectrum import frozen_copy, svdvals


def _level_columns(L: NumericLifting, l: int) -> tuple[np.ndarray, str, str | None]:
    """Columns feeding level l (the slots of every source group of its groups), its label, its activation."""
    groups = []
    for s in L.rows[l]:
        g = L.dag.node(L.order[L.node_of_slot[s - 1]]).meta["group"]
        if g not in groups:
            groups.append(g)
    src: list[str] = []
    for g in groups:
        for k in L.net.groups[g].terms:
            if k not in src:
                src.append(k)
        pool = L.net.groups[g].pool_src
        if pool is not None and pool not in src:
            src.append(pool)
    cols = np.sort(np.concatenate([L.gslots[k] for k in src])) if src else np.zeros(0, dtype=int)
    names = []
    for g in groups:
        params = [t.param for t in L.net.groups[g].terms.values() if t.param]
        names.append(params[0].rpartition(".")[0] if params else g)
    phis = {L.net.groups[g].phi.name for g in groups}
    act = next(iter(phis)) if len(phis) == 1 else "mixed"
    return cols, " + ".join(dict.fromkeys(names)), None if act == "identity" else act


def lifting_level_spectra(model: nn.Module, x: torch.Tensor, *, name: str = "") -> list[LayerSpectrum]:
    """One `LayerSpectrum` per level 1..L: singular values of the level-l block of D_l(x) T_l(x) at each
    sample of `x` (K, *input_shape), float64. Raises `UnitLevelError` for models without a unit level."""
    work = frozen_copy(model, torch.float64)
    x = torch.as_tensor(x).detach().to(torch.float64)
    L = NumericLifting(unit_dag(work, x[:1], name))
    levels = [(l, L.rows[l], *_level_columns(L, l)) for l in range(1, L.L + 1)]
    vals: list[list[np.ndarray]] = [[] for _ in levels]
    for xk in x:  # samples outer: the lifting keeps the state of one input at a time
        for i, (l, rows, cols, _, _) in enumerate(levels):
            M = (L.D(l, xk) @ L.T(l, xk)).tocsr()  # (N, N), the lifting step at x_k
            block = M[rows][:, cols].toarray()  # (n_l, n_feeding)
            vals[i].append(block)
    return [LayerSpectrum(label, (len(rows), len(cols)), svdvals(torch.from_numpy(np.stack(v))), act,
                          "lifting: D_l(x) T_l(x)")
            for (l, rows, cols, label, act), v in zip(levels, vals)]
