"""The per-level Jacobian spread of the Signal lab (docs/science.md §5): at each level l, the singular
values of the lifting step's level block `D_l(x) T_l(x)` (`explorer.propagation.lifted`) at a few
inputs; a node shows its level's standard deviation of those values (0 = an isometry's flat spectrum,
all values equal). The inputs are the example input and `K - 1` seeded Gaussian draws of its shape."""

from __future__ import annotations

from typing import Any

import torch

from explorer.graph.dag import Dag
from explorer.overlays.base import Overlay
from explorer.propagation.lifted import lifting_level_spectra

K = 4


def jacobian_spread(dag: Dag, model: Any, x: Any, *, k: int = K, seed: int = 0) -> Overlay:
    """Per node: the std of the singular values of its level's lifting step at `k` inputs (level 0: 0); on an
    op or block graph, a layer node shows its units' level's (`explorer.overlays.units`)."""
    if dag.granularity != "unit":
        from explorer.overlays.units import from_units, unit_graph

        unit = unit_graph(dag, model)
        return Overlay("jacobian_spread", "σ std", from_units(dag, model, jacobian_spread(unit, model, None, k=k,
                                                                                           seed=seed).values, "mean"))
    x0 = dag.meta["unit_net"].example_input if x is None else x
    x0 = torch.as_tensor(x0).reshape(1, *dag.meta["unit_net"].input_shape)
    g = torch.Generator().manual_seed(seed)
    xs = torch.cat([x0.double(), torch.randn(k - 1, *x0.shape[1:], generator=g, dtype=torch.float64)])
    spectra = lifting_level_spectra(model, xs, name=dag.name)
    std = {l: (s.stats().std if s.values is not None else float("nan")) for l, s in enumerate(spectra, start=1)}
    values = {n: (0.0 if dag.level[n] == 0 else std.get(dag.level[n], float("nan"))) for n in dag.order()}
    return Overlay("jacobian_spread", "σ std", values,
                   (f"std of the singular values of D_l(x) T_l(x) per level, over {k} inputs",))
