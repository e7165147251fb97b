"""The Home page's worked example: a ReLU network of three units per level with small integer weights
and two skip arcs, so every number in its matrices can be checked by hand. It is a real torch module;
its graph is the library's unit-level DAG (`explorer.graph.unit.unit_dag`) and its `T_l` come from the
library's lifting (`explorer.lifting`), shown under the names x1..x3, h1..h3, g1..g3, y. `direct` is
the independent reference: the network evaluated node by node from its arcs.

    >>> [t.shape for t in (transition(1), product(3))], transition(1)[3].tolist()  # h1 = relu(x1 - x2)
    ([(10, 10), (10, 10)], [1.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    >>> output(INPUT), direct(INPUT)["y"]
    (3.0, 3.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.concurrency.once import once_per_key
from explorer.graph.dag import Arc, Dag, Node

# (src, dst, weight). Levels: x* = 0, h* = 1, g* = 2, y = 3. Skip arcs: x2->g2, h1->y.
ARCS = (
    ("x1", "h1", 1), ("x2", "h1", -1), ("x2", "h2", 2), ("x3", "h2", 1), ("x1", "h3", -1), ("x3", "h3", 1),
    ("h1", "g1", 1), ("h2", "g1", 1), ("h2", "g2", -1), ("h3", "g3", 2), ("h1", "g3", -1),
    ("x2", "g2", 1),  # skip arc spanning two levels
    ("g1", "y", 1), ("g2", "y", 2), ("g3", "y", -1),
    ("h1", "y", 1),  # skip arc spanning two levels
)
INPUT = {"x1": 1.0, "x2": 2.0, "x3": -1.0}
NAMES = ["x1", "x2", "x3", "h1", "h2", "h3", "g1", "g2", "g3", "y"]


def network() -> Any:
    """The example as a torch module: h = relu(W_h x), g = relu(W_g h + S_g x), y = W_y g + S_y h, no biases.
    (torch is imported here, not with the module: Home paints its text before torch is loaded.)"""
    import torch
    from torch import nn

    class WorkedExample(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.h, self.g, self.g_skip = (nn.Linear(3, 3, bias=False) for _ in range(3))
            self.y, self.y_skip = nn.Linear(3, 1, bias=False), nn.Linear(3, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.h(x))
            g = torch.relu(self.g(h) + self.g_skip(x))
            return self.y(g) + self.y_skip(h)

    net = WorkedExample()
    layer = {("x", "h"): net.h, ("h", "g"): net.g, ("x", "g"): net.g_skip, ("g", "y"): net.y, ("h", "y"): net.y_skip}
    with torch.no_grad():
        for m in layer.values():
            m.weight.zero_()
        for s, d, w in ARCS:
            layer[(s[0], d[0])].weight[0 if d == "y" else int(d[1]) - 1, int(s[1]) - 1] = float(w)
    return net.eval()


@once_per_key(maxsize=1)  # a class joining at once: one build, the others wait for it
def _lifting() -> Any:
    import torch

    from explorer.graph.unit import unit_dag
    from explorer.lifting import lifting

    L = lifting(unit_dag(network(), torch.zeros(1, 3), "worked example"))
    assert len(L.order) == len(NAMES) and all(L.dag.node(n).meta["size"] == 1 for n in L.order)
    return L


def dag() -> Dag:
    """The library's unit-level graph of the example, its units named x1..x3, h1..h3, g1..g3, y."""
    L = _lifting()
    name = dict(zip(L.order, NAMES))
    nodes = [Node(name[n.id], "input" if n.id.startswith("x") else ("linear" if name[n.id] == "y" else "relu"),
                  shape=(1,), params=sum(1 for a in L.dag.arcs if a.dst == n.id)) for n in L.dag.nodes]
    arcs = [Arc(name[a.src], name[a.dst], label=f"×{a.weight:g}", weight=float(a.weight)) for a in L.dag.arcs]
    return Dag.build(nodes, arcs, "unit", name="worked example")


def transition(l: int) -> np.ndarray:
    """T_l of the library's lifting, node by node in the order of `NAMES`: (10, 10), unit lower-triangular."""
    return _lifting().node_matrix(l)[1]


def product(l: int) -> np.ndarray:
    """T_l ⋯ T_1 without the activations (each entry a sum over paths of products of arc weights): (10, 10)."""
    return _lifting().product(1, l).toarray()[1:, 1:]  # slot 0 is the bias constant (none here)


def output(x: dict[str, float]) -> float:
    """y = Φ_L T_L ⋯ Φ_1 T_1 z_0 by the library's composition."""
    import torch

    return float(_lifting().compose(torch.tensor([[x.get(n, 0.0) for n in NAMES[:3]]], dtype=torch.float64))[0, 0])


def direct(x: dict[str, float]) -> dict[str, float]:
    """The network evaluated node by node from `ARCS`, x_v = relu(Σ w_uv x_u) (no relu at y)."""
    val = dict(x)
    for v in NAMES[3:]:
        s = sum(w * val[a] for a, b, w in ARCS if b == v)
        val[v] = s if v == "y" else max(s, 0.0)
    return val
