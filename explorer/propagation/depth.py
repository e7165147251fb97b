"""The depth sweep (docs/science.md §5): square deep MLPs of one width and activation at several
depths, each initialised by each scheme; the spread of the input–output Jacobian's singular
values against depth. Orthogonal init keeps a deep linear net an exact isometry at any depth;
Gaussian and variance-scaling inits spread the spectrum more with every layer.

    >>> d = depth_sweep(DepthConfig(width=8, depths=(2, 6), schemes=("orthogonal", "gaussian:1"), inputs=2))
    >>> [(p["init"], p["depth"]) for p in d["points"]]
    [('orthogonal', 2), ('orthogonal', 6), ('gaussian:1', 2), ('gaussian:1', 6)]
    >>> all(abs(p["max"] - 1) < 1e-5 and abs(p["min"] - 1) < 1e-5 for p in d["points"] if p["init"] == "orthogonal")
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from explorer import models
from explorer.config import Spec, SpecError, setting
from explorer.models.generated import ACTIVATIONS, deep_mlp_spec
from explorer.models.init_schemes import apply_init, parse_scheme
from explorer.propagation.spectrum import jacobian_spectrum


class DepthError(SpecError):
    """A depth-sweep setting that cannot run."""


@dataclass(frozen=True)
class DepthConfig(Spec):
    """The sweep's settings; nets are square (width -> width), so each Jacobian has `width` singular values."""

    error = DepthError

    width: int = setting(100, "width of every layer (inputs and outputs too)")
    act: str = setting("linear", "activation between the layers: " + " | ".join(ACTIVATIONS), choices=tuple(ACTIVATIONS))
    depths: tuple[int, ...] = setting((3, 7, 15, 30), "depths (weight matrices) to generate")
    schemes: tuple[str, ...] = setting(("orthogonal", "kaiming-normal", "gaussian:1"), "init schemes to compare")
    inputs: int = setting(16, "K: Gaussian inputs the Jacobian is taken at")
    seed: int = setting(0, "seed of the weights and the inputs")
    float64: bool = setting(True, "take Jacobians in float64")

    def check(self) -> None:
        object.__setattr__(self, "schemes", tuple(parse_scheme(s).text for s in self.schemes))
        object.__setattr__(self, "depths", tuple(sorted({int(d) for d in self.depths})))
        if not self.depths or min(self.depths) < 1:
            raise DepthError(f"depths must be positive integers; got {self.depths}")
        if self.inputs < 1:
            raise DepthError(f"inputs must be >= 1; got {self.inputs}")


def depth_sweep(cfg: DepthConfig, emit: Callable[[str, dict[str, Any]], None] | None = None,
                should_stop: Callable[[], bool] = lambda: False,
                progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """{"config", "points": [{"init", "depth", mean, std, min, max, condition, quantiles}]}, one point
    per (scheme, depth); `emit("point", point)` as each is done."""
    g = torch.Generator().manual_seed(cfg.seed)
    x = torch.randn(cfg.inputs, cfg.width, generator=g)  # (K, width)
    dtype = torch.float64 if cfg.float64 else torch.float32
    points: list[dict[str, Any]] = []
    total = len(cfg.schemes) * len(cfg.depths)
    for scheme in cfg.schemes:
        for depth in cfg.depths:
            if should_stop():
                return {"config": cfg.to_dict(), "points": points, "stopped": True}
            if progress is not None:
                progress(len(points) / total, f"{scheme}, depth {depth}")
            lm = models.load(deep_mlp_spec(depth, cfg.width, cfg.act), cfg.seed)
            apply_init(lm.model, scheme, cfg.seed)
            st = jacobian_spectrum(lm.model, x, dtype=dtype).stats().to_json()
            point = {"init": scheme, "depth": depth, **st}
            points.append(point)
            if emit is not None:
                emit("point", point)
    return {"config": cfg.to_dict(), "points": points, "stopped": False}
