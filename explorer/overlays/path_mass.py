"""The path mass through each node: the sum, over every input-to-output path through the node, of the
product of |arc weights| — what SynFlow scores (Tanaka et al. 2020: with all-ones input and |W|, a
weight's score is |w_uv| times the mass reaching u times the mass leaving v).

From the lifting (docs/science.md §2): with `|A|` the absolute arc entries (bias column dropped),
the forward mass `f = |T_L| ... |T_1| z_0` (z_0 = 1 on the inputs) is the partial products'
path sum from the inputs to every slot; the backward mass `b` is the same through the transposes
from the outputs. A node's mass is `sum over its slots f_s b_s`; an output node's mass is its
forward mass, and the outputs' total is SynFlow's `R`.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    >>> from explorer.graph.unit import unit_dag
    >>> dag = unit_dag(net, torch.randn(1, 2), "tiny")
    >>> m = path_mass(dag, net, None)
    >>> w1, w2 = net[0].weight.detach().double().abs(), net[2].weight.detach().double().abs()
    >>> R = float((w2 @ w1).sum())  # all paths input -> output
    >>> abs(m[dag.outputs[0]] - R) < 1e-12 and abs(sum(m[f"x[{i}]"] for i in range(2)) - R) < 1e-12
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from explorer.graph.dag import Dag
from explorer.lifting import NumericLifting
from explorer.overlays.base import OverlayError


def slot_masses(L: NumericLifting) -> tuple[np.ndarray, np.ndarray]:
    """(forward f, backward b) path masses per slot (N,) of a unit-level lifting."""
    if any(g.pool is not None for g in L.net.groups.values()):
        raise OverlayError("path mass is defined for linear arcs; this graph has max-pool arcs (selections that "
                           "depend on the input) — use a model without max-pools, or another overlay")
    no_bias = np.ones(L.N)
    no_bias[0] = 0.0  # the bias column: a constant, not a path from the input
    absA = [(abs(A) @ sp.diags(no_bias)).tocsr() for A in L.A_rows]
    f = np.zeros(L.N)
    f[L.in_slots] = 1.0
    for l in range(1, L.L + 1):  # |T_l| z: the level-l slots were 0, so they receive |A_l| z
        f[L.rows[l]] = absA[l] @ f
    b = np.zeros(L.N)
    b[L.out_slots] = 1.0
    for l in range(L.L, 0, -1):  # the level-l slots are final: every path leaving them goes up the levels
        b += absA[l].T @ b[L.rows[l]]
    return f, b


def path_mass(dag: Dag, model: Any, x: Any) -> dict[str, float]:
    """Each unit node's path mass (see the module doc); on an op or block graph, each layer node's: the sum
    over its units (`explorer.overlays.units`)."""
    if dag.granularity != "unit":
        from explorer.overlays.units import from_units, unit_graph

        return from_units(dag, model, path_mass(unit_graph(dag, model), model, x))
    L = NumericLifting(dag)
    f, b = slot_masses(L)
    m = f * b
    return {n: float(m[L.start[n]:L.start[n] + L.size[n]].sum()) for n in L.order}
