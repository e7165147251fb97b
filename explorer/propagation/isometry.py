"""Approximate isometry after pruning (Lee et al. 2020; docs/science.md §5): data-free, make every
masked layer as close to an isometry as its surviving entries allow, by SGD on

    P(W) = Σ_l ‖ G_l − g² I ‖_F,   G_l = the smaller Gram matrix of M_l = C_l ⊙ W_l,

with `M_l` the layer as a `(c_out, fan_in)` matrix (conv kernels as `(c_out, -1)`), `G_l = M_lᵀM_l`
when `fan_in ≤ c_out` and `M_l M_lᵀ` otherwise — so exactly the semi-orthogonal matrices
score 0, and a square layer gets the paper's `‖(C⊙W)ᵀ(C⊙W) − I‖_F`. The gradient of a pruned
entry is zero (it enters only through `C ⊙ W`), and the mask is re-applied after every step,
so pruned entries stay exactly zero. Biases and other parameters are not touched.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(6, 6), torch.nn.Linear(6, 6))
    >>> r = approximate_isometry(net, None, IsometryConfig(steps=300, lr=0.1, schedule="cosine"))
    >>> r.penalty[-1] < r.penalty[0] / 10
    True
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from explorer.config import Spec, SpecError, setting
from explorer.models.activations import WEIGHTED
from explorer.models.init_schemes import as_matrix
from explorer.training.optim import SCHEDULES


class IsometryError(SpecError):
    """A bad isometry setting or a model with no Linear/Conv layer."""


@dataclass(frozen=True)
class IsometryConfig(Spec):
    """The isometry step's settings (the spp reference: SGD 0.1 for 10k steps)."""

    error = IsometryError

    steps: int = setting(1000, "SGD steps on the isometry penalty (0 = none)")
    lr: float = setting(0.1, "SGD learning rate (no momentum)")
    gain: float = setting(1.0, "target each layer's Gram matrix at gain² · I")
    schedule: str = setting("constant", "learning rate: constant (the reference) or cosine (decays to 0, settles "
                            "below the bounce of a constant step on this non-smooth penalty)", choices=SCHEDULES)

    def check(self) -> None:
        if self.steps < 0:
            raise IsometryError(f"isometry steps must be >= 0; got {self.steps}")
        if not self.lr > 0:
            raise IsometryError(f"isometry lr must be positive; got {self.lr}")
        if not self.gain > 0:
            raise IsometryError(f"isometry gain must be positive; got {self.gain}")


def layer_penalty(module: nn.Module, weight: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """‖G − gain² I‖_F of one (masked) layer weight, G its smaller Gram matrix (differentiable)."""
    M = as_matrix(module, weight)  # (c_out, fan_in)
    G = M.T @ M if M.shape[1] <= M.shape[0] else M @ M.T  # (min, min)
    return torch.linalg.matrix_norm(G - gain ** 2 * torch.eye(G.shape[0], dtype=G.dtype, device=G.device))


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    out = [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHTED)]
    if not out:
        raise IsometryError(f"{type(model).__name__} has no Linear or Conv layer: nothing to make isometric")
    return out


def isometry_penalty(model: nn.Module, mask: Mapping[str, torch.Tensor] | None = None, gain: float = 1.0,
                     per_layer: bool = False) -> float | dict[str, float]:
    """P(W) of `model` under `mask` (None: dense), or each layer's term with `per_layer`."""
    mask = mask or {}
    terms = {}
    with torch.no_grad():
        for name, m in weighted_layers(model):
            c = mask.get(f"{name}.weight")
            w = m.weight if c is None else m.weight * c.to(m.weight)
            terms[name] = float(layer_penalty(m, w, gain))
    return terms if per_layer else sum(terms.values())


@dataclass
class IsometryResult:
    """The model after the isometry step (a copy), its penalty at every step (index 0: before)."""

    model: nn.Module
    penalty: list[float]
    stopped: bool = False

    @property
    def reduction(self) -> float:
        """penalty before / penalty after (inf when it reached 0)."""
        return self.penalty[0] / self.penalty[-1] if self.penalty[-1] > 0 else float("inf")


def approximate_isometry(model: nn.Module, mask: Mapping[str, torch.Tensor] | None, config: IsometryConfig,
                         on_step: Callable[[int, float], None] | None = None,
                         should_stop: Callable[[], bool] = lambda: False) -> IsometryResult:
    """Minimise P over the surviving weights of a copy of `model` (see the module doc).
    `on_step(step, penalty)` is called after every step; `should_stop()` ends early."""
    work = copy.deepcopy(model)
    layers = weighted_layers(work)
    mask = {k: v.to(dtype=work.state_dict()[k].dtype) for k, v in (mask or {}).items() if k.endswith("weight")}
    named = dict(work.named_parameters())
    for p in work.parameters():
        p.requires_grad_(False)
    ws = [named[f"{n}.weight"] for n, _ in layers]
    for w in ws:
        w.requires_grad_(True)
    cs = [mask.get(f"{n}.weight") for n, _ in layers]
    opt = torch.optim.SGD(ws, lr=config.lr)
    n = max(1, config.steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, (lambda k: 0.5 * (1 + math.cos(math.pi * k / n))) if config.schedule == "cosine" else (lambda k: 1.0))

    def total() -> torch.Tensor:
        return sum(layer_penalty(m, w if c is None else w * c, config.gain) for (_, m), w, c in zip(layers, ws, cs))

    with torch.no_grad():
        for w, c in zip(ws, cs):
            if c is not None:
                w.mul_(c)
    curve = [float(total().detach())]
    stopped = False
    for step in range(1, config.steps + 1):
        if should_stop():
            stopped = True
            break
        opt.zero_grad(set_to_none=True)
        loss = total()
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            for w, c in zip(ws, cs):
                if c is not None:
                    w.mul_(c)  # pruned entries stay exactly zero
            curve.append(float(total()))
        if on_step is not None:
            on_step(step, curve[-1])
    for w in ws:
        w.requires_grad_(False)
    return IsometryResult(work, curve, stopped)
