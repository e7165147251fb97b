"""What each unit computes over the input square: TensorFlow Playground's small heatmap per neuron.

`unit_maps(model, cfg, box, res)` evaluates every layer of the network on a res x res grid of
the box and returns, per unit node id of the unit DAG (`x[k]` the k-th feature, `h2[3]`, `out[1]`),
its value there (rows = x2, from the bottom). The network is evaluated as it is, so a pruned unit
shows as a constant.

    >>> from explorer.playground.config import PlaygroundConfig
    >>> from explorer.playground.net import build_net
    >>> cfg = PlaygroundConfig(hidden=(3,))
    >>> m = unit_maps(build_net(cfg), cfg, (-6, 6, -6, 6), 8)
    >>> sorted(m)[:3], m["h1[0]"].shape
    (['h1[0]', 'h1[1]', 'h1[2]'], (8, 8))
"""

from __future__ import annotations

import numpy as np
import torch

from explorer.playground.config import PlaygroundConfig
from explorer.playground.frame import inputs
from explorer.playground.net import PlaygroundNet


def unit_maps(model: PlaygroundNet, cfg: PlaygroundConfig, box: tuple[float, float, float, float],
              res: int = 24) -> dict[str, np.ndarray]:
    a, b, c, d = box
    us = a + (np.arange(res) + 0.5) * (b - a) / res
    vs = c + (np.arange(res) + 0.5) * (d - c) / res
    U, V = np.meshgrid(us, vs)
    x = torch.from_numpy(np.stack([U.ravel(), V.ravel()], 1))
    layers = model.layers(inputs(x, cfg))
    out = {}
    for j, h in enumerate(layers):
        name = "x" if j == 0 else model.layer_name(j)
        for k, row in enumerate(h.numpy()):
            out[f"{name}[{k}]"] = row.reshape(res, res).astype(np.float32)
    return out
