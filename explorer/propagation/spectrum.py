"""Singular-value spectra of input–output Jacobians at K inputs (docs/science.md §5).

`jacobians(model, x)` stacks `J(x_k) = d model(x_k) / d x_k` for every sample of the batch
`x` with `torch.func`: `vmap` over the inputs of `jacrev` (or `jacfwd` when the output is
wider than the input), on a frozen copy of the model (float64 by default, eval mode).
`jacobian_spectrum` takes their singular values (`torch.linalg.svdvals`, batched);
`SpectrumStats` summarises them — mean, std, min, max, condition number, quantiles and a
histogram — the numbers the dynamical-isometry papers print.

    >>> import torch
    >>> net = torch.nn.Linear(4, 4, bias=False)
    >>> _ = torch.nn.init.orthogonal_(net.weight)
    >>> s = jacobian_spectrum(net, torch.randn(3, 4))
    >>> s.values.shape, round(s.stats().mean, 6), round(s.stats().std, 6)
    ((3, 4), 1.0, 0.0)
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import jacfwd, jacrev, vmap

QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
BIG_MODEL_PARAMS = 1_000_000  # above this, Jacobians are taken one input at a time, 100 outputs per pass
BATCH_ROWS = 3200  # inputs x Jacobian rows per vmapped pass: small enough to stay in cache (bench_spectrum: ~2.7x)


class SpectrumError(ValueError):
    """A model or input the Jacobian cannot be taken of; the message says what and the fix."""


@dataclass(frozen=True)
class SpectrumStats:
    """Summary of a set of singular values. `condition` = max / min (inf when some value is 0)."""

    n: int
    mean: float
    std: float
    min: float
    max: float
    condition: float
    quantiles: tuple[float, ...]  # at QUANTILES

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["condition"] = self.condition if math.isfinite(self.condition) else None
        d["quantiles"] = dict(zip((f"q{round(100 * q)}" for q in QUANTILES), self.quantiles))
        return d


def stats(values: np.ndarray | torch.Tensor) -> SpectrumStats:
    """Mean, std (population), min, max, condition number and quantiles of `values` (any shape).

    >>> stats(np.array([1.0, 2.0, 4.0])).condition
    4.0
    """
    v = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=np.float64).ravel()
    if v.size == 0:
        raise SpectrumError("no singular values to summarise (the map has no input or output)")
    lo, hi = float(v.min()), float(v.max())
    cond = hi / lo if lo > 0 else math.inf
    return SpectrumStats(int(v.size), float(v.mean()), float(v.std()), lo, hi, cond,
                         tuple(float(q) for q in np.quantile(v, QUANTILES)))


def histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of `values` in the bins `edges` (values outside go to the first/last bin)."""
    v = np.clip(np.asarray(values, dtype=np.float64).ravel(), edges[0], edges[-1])
    return np.histogram(v, bins=edges)[0]


def log_edges(values: list[np.ndarray], bins: int = 40, floor: float = 1e-6) -> np.ndarray:
    """Log-spaced bin edges covering every array of `values` (values below `floor` share the first bin)."""
    allv = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in values]) if values else np.ones(1)
    lo = max(float(allv.min()), floor)
    hi = max(float(allv.max()), lo * 1.0001)
    if hi / lo < 1.2:  # a spectrum at one value (isometry): a window around it
        lo, hi = lo / 1.1, hi * 1.1
    return np.logspace(math.log10(lo), math.log10(hi), bins + 1)


@dataclass(frozen=True)
class Spectrum:
    """Singular values per input: `values` (K, r), each row descending, r = min(n_out, n_in)."""

    values: np.ndarray
    shape: tuple[int, int]  # (n_out, n_in) of each Jacobian

    def stats(self) -> SpectrumStats:
        return stats(self.values)

    @property
    def flat(self) -> np.ndarray:
        return self.values.ravel()


def frozen_copy(model: nn.Module, dtype: torch.dtype = torch.float64) -> nn.Module:
    """A copy of `model` in eval mode, cast to `dtype`, whose parameters need no gradient
    (so a Jacobian tracks the input alone)."""
    work = copy.deepcopy(model).eval().to(dtype)
    for p in work.parameters():
        p.requires_grad_(False)
    return work


def batched_jacobian(f, x: torch.Tensor, n_out: int, *, extra: Any = None, big: bool = False) -> torch.Tensor:
    """`J[k] = d f(x[k]) / d x[k]`, (K, n_out, n_in): vmap over the samples of jacrev (jacfwd when
    the output is wider than the input). With `extra` (a pytree of per-sample tensors, batched on
    dim 0) `f(x[k], extra[k])` is differentiated in its first argument only. `big` takes one
    sample at a time, 100 output rows per backward pass, to bound memory."""
    n_in = x[0].numel()
    rev = n_out <= n_in
    jac = jacrev(f, chunk_size=100 if big else None) if rev else jacfwd(f)
    args = (x,) if extra is None else (x, extra)
    chunk = 1 if big else max(1, BATCH_ROWS // max(1, n_out if rev else n_in))
    J = vmap(jac, chunk_size=chunk)(*args)  # (K, n_out, *in_shape)
    return J.reshape(len(x), n_out, n_in)


def jacobians(model: nn.Module, x: torch.Tensor, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The input–output Jacobians (K, n_out, n_in) of `model` at every sample of `x` (K, *input_shape);
    the output is flattened per sample. The model is not modified."""
    work = frozen_copy(model, dtype)
    x = torch.as_tensor(x).detach().to(dtype)
    if x.dim() < 2:
        raise SpectrumError(f"give a batch of inputs (K, *input_shape); got shape {tuple(x.shape)}")

    def f(xi: torch.Tensor) -> torch.Tensor:
        y = work(xi.unsqueeze(0))
        if not isinstance(y, torch.Tensor):
            raise SpectrumError(f"{type(model).__name__} returns {type(y).__name__}, not a tensor; the spectrum "
                                "needs a model whose output is one tensor (wrap it to return the logits)")
        return y.reshape(-1)

    with torch.no_grad():
        n_out = f(x[0]).numel()
    big = sum(p.numel() for p in work.parameters()) >= BIG_MODEL_PARAMS
    return batched_jacobian(f, x, n_out, big=big)


def svdvals(J: torch.Tensor) -> np.ndarray:
    """Singular values of each matrix of the stack `J` (K, m, n), descending: (K, min(m, n))."""
    return torch.linalg.svdvals(J.detach()).cpu().numpy()


def jacobian_spectrum(model: nn.Module, x: torch.Tensor, *, dtype: torch.dtype = torch.float64) -> Spectrum:
    """Singular values of the input–output Jacobian at each sample of `x` (see the module doc)."""
    J = jacobians(model, x, dtype=dtype)
    return Spectrum(svdvals(J), (int(J.shape[1]), int(J.shape[2])))
