"""Initialisation schemes applied to any model (docs/science.md §5): every Linear/Conv weight is
redrawn, seeded, biases set to zero (unless kept); other parameters (norms, embeddings) stay.

Every scheme draws the weight as a matrix `(c_out, fan_in)` — a conv kernel as `(c_out, -1)` —
with `fan_in = c_in/groups * prod(kernel)`, and uses the *gain* of the activation the layer
feeds (`explorer.models.activations`: sqrt 2 for ReLU, 5/3 for tanh, 1 for none):

- `orthogonal`: `gain * Q`, `Q` with orthonormal rows or columns (whichever are fewer);
- `delta-orthogonal`: convs get `gain * Q` at the kernel's centre tap and 0 elsewhere
  (Xiao et al. 2018), so a conv layer is an orthogonal map of channels; Linear as `orthogonal`;
- `kaiming-normal` / `kaiming-uniform`: std `gain / sqrt(fan_in)` (He et al. 2015);
- `xavier-normal` / `xavier-uniform`: std `sqrt(2 / (fan_in + fan_out))` (Glorot & Bengio 2010);
- `lecun-normal`: std `1 / sqrt(fan_in)` (plain normal, not truncated);
- `gaussian:SIGMA2`: `N(0, SIGMA2 / fan_in)`, the mean-field convention of the
  dynamical-isometry papers (`gaussian` alone means SIGMA2 = 1);
- `as-built`: the model's own initialisation, untouched.

Each layer's draw has its own generator, seeded by the seed and the layer's name, so a model
rebuilt another way (a pruned export, a rewritten graph) gets exactly the same weights.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(5, 5), torch.nn.Tanh(), torch.nn.Linear(5, 5))
    >>> report = apply_init(net, "orthogonal", seed=0)
    >>> [(r.layer, r.activation, round(r.gain, 3)) for r in report]
    [('0', 'tanh', 1.667), ('2', None, 1.0)]
    >>> W = net[2].weight.detach()
    >>> bool(torch.allclose(W @ W.T, torch.eye(5), atol=1e-6)), float(net[2].bias.detach().abs().max())
    (True, 0.0)
    >>> parse_scheme("gaussian:2.0").text, parse_scheme("Kaiming-Normal").text
    ('gaussian:2', 'kaiming-normal')
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from explorer.models.activations import WEIGHTED, layer_activations

CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


class InitSchemeError(ValueError):
    """An unknown scheme or a bad parameter; the message lists the accepted forms."""


Draw = Callable[[int, int, float, float, torch.Generator], torch.Tensor]  # (rows, cols, gain, sigma_w2, g)


def _orthogonal(rows: int, cols: int, gain: float, s2: float, g: torch.Generator) -> torch.Tensor:
    a = torch.randn(max(rows, cols), min(rows, cols), generator=g, dtype=torch.float64)
    q, r = torch.linalg.qr(a)  # (max, min), orthonormal columns
    q = q * torch.sign(torch.diagonal(r))  # the sign fix that makes Q Haar-distributed
    return gain * (q if rows >= cols else q.T)  # (rows, cols)


def _normal(std: Callable[[int, int, float, float], float]) -> Draw:
    return lambda r, c, gain, s2, g: std(r, c, gain, s2) * torch.randn(r, c, generator=g, dtype=torch.float64)


def _uniform(std: Callable[[int, int, float, float], float]) -> Draw:
    return lambda r, c, gain, s2, g: math.sqrt(3.0) * std(r, c, gain, s2) * (
        2 * torch.rand(r, c, generator=g, dtype=torch.float64) - 1)


def _kaiming(r: int, c: int, gain: float, s2: float) -> float:
    return gain / math.sqrt(c)


def _xavier(r: int, c: int, gain: float, s2: float) -> float:
    return math.sqrt(2.0 / (r + c))


@dataclass(frozen=True)
class Scheme:
    """One scheme: its name, a one-line explanation, how it draws a `(c_out, fan_in)` matrix."""

    name: str
    explanation: str
    draw: Draw | None  # None: leave the weights as built
    delta: bool = False  # convs: the matrix goes to the kernel's centre tap only
    takes_sigma: bool = False  # gaussian:SIGMA2


SCHEMES: dict[str, Scheme] = {s.name: s for s in (
    Scheme("as-built", "the model's own initialisation, untouched", None),
    Scheme("orthogonal", "gain × a random orthogonal matrix (convs as (c_out, -1))", _orthogonal),
    Scheme("delta-orthogonal", "convs: gain × orthogonal at the kernel's centre tap, zeros elsewhere", _orthogonal,
           delta=True),
    Scheme("kaiming-normal", "N(0, gain² / fan_in)", _normal(_kaiming)),
    Scheme("kaiming-uniform", "uniform with variance gain² / fan_in", _uniform(_kaiming)),
    Scheme("xavier-normal", "N(0, 2 / (fan_in + fan_out))", _normal(_xavier)),
    Scheme("xavier-uniform", "uniform with variance 2 / (fan_in + fan_out)", _uniform(_xavier)),
    Scheme("lecun-normal", "N(0, 1 / fan_in)", _normal(lambda r, c, gain, s2: 1 / math.sqrt(c))),
    Scheme("gaussian", "N(0, σ_w² / fan_in): write gaussian:SIGMA2", _normal(lambda r, c, gain, s2: math.sqrt(s2 / c)),
           takes_sigma=True),
)}


@dataclass(frozen=True)
class InitScheme:
    """A parsed scheme: the registry entry's name and, for `gaussian`, σ_w²."""

    name: str
    sigma_w2: float | None = None

    @property
    def text(self) -> str:
        """The canonical spelling (what run configs store): 'orthogonal', 'gaussian:1.5'."""
        return f"{self.name}:{self.sigma_w2:g}" if self.sigma_w2 is not None else self.name

    @property
    def scheme(self) -> Scheme:
        return SCHEMES[self.name]


def parse_scheme(text: str) -> InitScheme:
    """'orthogonal', 'kaiming_normal', 'gaussian:2' ... -> `InitScheme`; `InitSchemeError` otherwise."""
    name, _, arg = str(text).strip().lower().replace("_", "-").partition(":")
    forms = ", ".join(n + (":SIGMA2" if s.takes_sigma else "") for n, s in SCHEMES.items())
    if name not in SCHEMES:
        raise InitSchemeError(f"unknown init scheme {text!r}; choose one of {forms}")
    if not SCHEMES[name].takes_sigma:
        if arg:
            raise InitSchemeError(f"init scheme {name!r} takes no parameter (got {arg!r}); choose one of {forms}")
        return InitScheme(name)
    try:
        s2 = float(arg) if arg else 1.0
    except ValueError as e:
        raise InitSchemeError(f"σ_w² in {text!r} must be a number, e.g. gaussian:2") from e
    if not (s2 > 0 and math.isfinite(s2)):
        raise InitSchemeError(f"σ_w² in {text!r} must be positive, e.g. gaussian:1")
    return InitScheme(name, s2)


@dataclass(frozen=True)
class LayerInit:
    """What one layer got: its name, matrix shape `(c_out, fan_in)`, the activation it feeds and the gain."""

    layer: str
    shape: tuple[int, int]
    activation: str | None
    gain: float


def as_matrix(module: nn.Module, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The weight of a Linear/Conv as a `(c_out, fan_in)` matrix (a conv kernel as `(c_out, -1)`;
    a transposed conv's `(c_in, c_out/groups, k...)` weight has its first two axes swapped first).
    Differentiable: isometry penalties are taken on it."""
    w = module.weight if weight is None else weight
    if isinstance(module, CONV_T):
        w = w.transpose(0, 1)
    return w.reshape(w.shape[0], -1)


def _layer_seed(seed: int, name: str) -> int:
    return int(hashlib.sha256(f"{int(seed)}:{name}".encode()).hexdigest()[:15], 16)


@torch.no_grad()
def apply_init(model: nn.Module, scheme: str | InitScheme, seed: int = 0, *, keep_bias: bool = False) -> list[LayerInit]:
    """Redraw every Linear/Conv weight of `model` in place with `scheme` (see the module doc);
    biases become zero unless `keep_bias`. Returns one `LayerInit` per layer ([] for as-built)."""
    s = parse_scheme(scheme) if isinstance(scheme, str) else scheme
    entry = s.scheme
    if entry.draw is None:
        return []
    acts = layer_activations(model)
    report = []
    for name, m in model.named_modules():
        if not isinstance(m, WEIGHTED):
            continue
        W = as_matrix(m)  # (c_out, fan_in)
        rows, cols = W.shape
        g = torch.Generator().manual_seed(_layer_seed(seed, name))
        act, gain = acts.get(name, (None, 1.0))
        conv = not isinstance(m, nn.Linear)
        k = math.prod(m.weight.shape[2:]) if conv else 1
        if entry.delta and conv:
            centre = torch.zeros(rows, cols // k, k, dtype=torch.float64)
            centre[:, :, k // 2] = entry.draw(rows, cols // k, gain, 1.0, g)  # centre tap of the flat kernel
            M = centre.reshape(rows, cols)
        else:
            M = entry.draw(rows, cols, gain, s.sigma_w2 or 1.0, g)
        if isinstance(m, CONV_T):
            shape_t = (m.weight.shape[1], m.weight.shape[0], *m.weight.shape[2:])
            m.weight.copy_(M.reshape(shape_t).transpose(0, 1).to(m.weight.dtype))
        else:
            m.weight.copy_(M.reshape(m.weight.shape).to(m.weight.dtype))
        if m.bias is not None and not keep_bias:
            m.bias.zero_()
        report.append(LayerInit(name, (rows, cols), act, gain))
    return report

