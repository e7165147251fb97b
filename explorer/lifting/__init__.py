"""The lifting decomposition (docs/science.md §2): a DAG-DNN as a product of unit lower-triangular
matrices, `z_L = Phi_L T_L ... Phi_1 T_1 z_0`.

- `base`     — the `Lifting` face both forms share, `LiftingError`;
- `numeric`  — unit level: real sparse `T_l`, masks `D_l(x)`, products, the local affine map;
- `symbolic` — op level: operator entries (joint ones marked), evaluated with the traced ops;
- `views`    — node-by-node views of the matrices for heatmaps (slots aggregated per node);
- `verify`   — the composition against the model's forward, the local map against autograd.

`lifting(dag, x)` returns the decomposition of a DAG:

- unit level (`NumericLifting`): real sparse matrices; max-pool arcs are linearised at the
  input `x` (a 0/1 selection), so those `T_l` are `T_l(x)`;
- op level (`SymbolicLifting`): symbolic entries, evaluated level by level.

    >>> import torch
    >>> from explorer.graph.unit import unit_dag
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> L = lifting(unit_dag(net, torch.randn(1, 3), "tiny"))
    >>> L
    Lifting(tiny, unit: 10 slots (9 nodes + bias), T_1..T_2, 20 arc entries)
    >>> L.assert_lower_triangular()
    >>> x = torch.randn(5, 3)
    >>> bool((L.compose(x) - net.double()(x.double())).abs().max() < 1e-12)
    True
"""

from __future__ import annotations

import torch

from explorer.graph.dag import Dag
from explorer.lifting.base import Lifting, LiftingError
from explorer.lifting.numeric import NumericLifting
from explorer.lifting.symbolic import SymbolicLifting

__all__ = ["Lifting", "LiftingError", "NumericLifting", "SymbolicLifting", "lifting"]


def lifting(dag: Dag, x: torch.Tensor | None = None) -> Lifting:
    """The lifting decomposition of `dag` (unit: numeric; op: symbolic).

    `x` (one input sample, with or without the batch dimension) is where max-pool arcs are
    linearised for `T(l)` at unit level; by default the example input the DAG was built with.
    """
    if dag.granularity == "unit":
        return NumericLifting(dag, x)
    if dag.granularity == "op":
        return SymbolicLifting(dag)
    raise LiftingError(f"the lifting decomposition is defined at unit and op level, not {dag.granularity!r}: "
                       "build the graph with granularity 'unit' or 'op'")
