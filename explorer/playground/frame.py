"""One frame of a playground run: what the page draws at a training step.

`make_frame(model, cfg, data, step)` returns the JSON payload: the step; train and test loss and
accuracy; the regions (`explorer.regions.view` — exact polygons, or the labelled grid
approximation for smooth nets — compactly encoded by `explorer.regions.encoding`), their count
per level; and the weights (float32, base64) so a frame can be redrawn, pruned or continued
from. The job adds the partition distance and the early-bird step (docs/science.md §6).

    >>> from explorer.playground.config import PlaygroundConfig
    >>> from explorer.playground.data import make_data
    >>> from explorer.playground.net import build_net
    >>> cfg = PlaygroundConfig(hidden=(4,))
    >>> net = build_net(cfg)
    >>> f = make_frame(net, cfg, make_data(cfg), 0)
    >>> f["step"], f["exact"], f["count"] == f["per_level"][-1], sorted(f)[:4]
    (0, True, True, ['count', 'exact', 'per_level', 'pruned'])
    >>> net2 = build_net(cfg.replace(seed=1)); load_weights(net2, f["weights"])
    >>> bool(all((a == b).all() for a, b in zip(net.parameters(), net2.parameters())))
    True
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.graph.unit import unit_dag
from explorer.lifting.numeric import NumericLifting
from explorer.playground.config import PlaygroundConfig
from explorer.playground.data import PlaygroundData
from explorer.playground.features import feature_plane, features
from explorer.regions.encoding import encode
from explorer.regions.plane import Plane
from explorer.regions.probe import ProbeCodes, probe_codes
from explorer.regions.view import view

PROBE_RES = 100  # the probe grid of the partition distance (the spline early-bird's 100 x 100 canvas)


class FrameError(ValueError):
    """Weights that do not fit the network (a frame of another configuration)."""


def encode_weights(model: nn.Module) -> str:
    flat = torch.cat([p.detach().reshape(-1).float().cpu() for p in model.parameters()])
    return base64.b64encode(flat.numpy().astype("<f4").tobytes()).decode()


def load_weights(model: nn.Module, weights: str) -> None:
    """Load a frame's weights (in `model.parameters()` order) into `model`."""
    flat = torch.from_numpy(np.frombuffer(base64.b64decode(weights), dtype="<f4").copy())
    n = sum(p.numel() for p in model.parameters())
    if flat.numel() != n:
        raise FrameError(f"the frame holds {flat.numel()} weights but this network has {n}; it belongs to another "
                         "configuration (layers, features, skips)")
    with torch.no_grad():
        k = 0
        for p in model.parameters():
            p.copy_(flat[k:k + p.numel()].reshape(p.shape))
            k += p.numel()


def inputs(x: torch.Tensor, cfg: PlaygroundConfig) -> torch.Tensor:
    """The network's input (features) at points x (n, 2)."""
    return torch.from_numpy(features(x.double().numpy(), cfg.features).astype(np.float32))


@torch.no_grad()
def metrics(model: nn.Module, cfg: PlaygroundConfig, data: PlaygroundData) -> dict[str, float]:
    out = {}
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        logits = model(inputs(x, cfg))
        out[f"{split}_loss"] = round(float(F.cross_entropy(logits, y)), 6)
        out[f"{split}_acc"] = round(float((logits.argmax(1) == y).float().mean()), 6)
    return out


def lifting_of(model: nn.Module, cfg: PlaygroundConfig) -> NumericLifting:
    return NumericLifting(unit_dag(model, torch.zeros(1, len(cfg.features)), "playground"))


def plane_of(cfg: PlaygroundConfig, data: PlaygroundData) -> Plane:
    return feature_plane(cfg.features, data.box)


def make_frame(model: nn.Module, cfg: PlaygroundConfig, data: PlaygroundData, step: int,
               lift: NumericLifting | None = None) -> dict[str, Any]:
    """The frame payload at `step` (see the module doc)."""
    was = model.training
    model.eval()
    try:
        lift = lift or lifting_of(model, cfg)
        v = view(lift, plane_of(cfg, data))
        return {"step": int(step), **metrics(model, cfg, data), "exact": v.exact, "count": int(v.regions),
                "per_level": list(v.per_level) or [int(v.regions)], "regions": encode(v),
                "weights": encode_weights(model), "pruned": list(cfg.pruned)}
    finally:
        model.train(was)


def frame_codes(model: nn.Module, cfg: PlaygroundConfig, data: PlaygroundData,
                lift: NumericLifting | None = None) -> ProbeCodes:
    """The activation codes on the probe grid (for the partition distance)."""
    return probe_codes(lift or lifting_of(model, cfg), plane_of(cfg, data), PROBE_RES)
