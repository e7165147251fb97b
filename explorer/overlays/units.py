"""Unit-level overlays carried up to the op and block graphs: a layer's node shows the sum (or mean) of its
units' values. Path mass and the Jacobian spread are defined on neurons and channels; an op graph gets them
where its model has a unit level (Linear/Conv networks), on the nodes that own a layer's weights.

    >>> import torch
    >>> from explorer.graph.trace import trace
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    >>> op = trace(net, torch.randn(1, 2), "tiny")
    >>> sorted(k for k, v in from_units(op, net, {"0[0]": 1.0, "0[1]": 2.0, "0[2]": 4.0, "2[0]": 8.0}).items()
    ...        if v == v)
    ['_0', '_2']
"""

from __future__ import annotations

import math
from typing import Any

from explorer.graph.dag import Dag
from explorer.overlays.base import OverlayError


def unit_graph(dag: Dag, model: Any) -> Dag:
    """The unit-level graph of the model `dag` was traced from (at its example input)."""
    from explorer.graph.unit import unit_dag

    x = dag.meta.get("example_input")
    if model is None or x is None:
        raise OverlayError("this overlay is computed on neurons and channels: it needs the model and its example input")
    try:
        return unit_dag(model, x, dag.name)
    except ValueError as e:
        raise OverlayError(f"this overlay is computed at unit level, which {dag.name or 'this model'} has not ({e}); "
                           "use params, MACs, latency or a criterion") from e


def from_units(dag: Dag, model: Any, unit_values: dict[str, float], reduce: str = "sum") -> dict[str, float]:
    """Per node of the op/block `dag`: the `reduce` ("sum" or "mean") of the unit values of the layers it owns
    (an op node: the layer whose module it is; a block: every layer inside); NaN for nodes without a layer."""
    by_layer: dict[str, list[float]] = {}
    for unit, v in unit_values.items():
        layer, _, _ = unit.rpartition("[")
        by_layer.setdefault(layer, []).append(v)
    out = {}
    for n in dag.nodes:
        if dag.granularity == "op":
            vals = by_layer.get(n.module or "\0", []) if n.params else []
        else:
            vals = [v for layer, vs in by_layer.items() if n.module and (layer == n.module or
                                                                          layer.startswith(n.module + ".")) for v in vs]
        out[n.id] = (sum(vals) if reduce == "sum" else sum(vals) / len(vals)) if vals else math.nan
    return out
