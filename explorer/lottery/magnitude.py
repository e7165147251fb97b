"""Magnitude masks for iterative and one-shot pruning (docs/science.md §7).

One IMP step removes the `rate` fraction of the *surviving* entries with the smallest |w|:
per tensor (`scope="layer"`: each tensor loses exactly `round(rate * survivors)`) or over all
tensors at once (`scope="global"`: one ranking, `round(rate * all survivors)` in total). The
output layer's tensors are pruned on their own at `output_rate`. Entries pruned before stay
pruned, so IMP masks only shrink; after `r` steps a tensor of `n` entries keeps
`n (1 - rate)^r` up to the rounding of each step. Ties go by position (a stable sort), so
masks are deterministic.

    >>> import torch
    >>> w = {"a": torch.tensor([4., -1., 3., 2.]), "b": torch.tensor([0.5, -5.])}
    >>> m = imp_step(w, ones(w), 0.5)
    >>> {k: v.tolist() for k, v in m.items()}
    {'a': [1.0, 0.0, 1.0, 0.0], 'b': [0.0, 1.0]}
    >>> m2 = imp_step(w, m, 0.5)
    >>> m2["a"].tolist(), m2.is_subset_of(m), m2.sparsity
    ([1.0, 0.0, 0.0, 0.0], True, 0.8333333333333334)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from explorer.pruning.coupling import NORMS, find_layers
from explorer.pruning.criteria.allocate import n_pruned
from explorer.pruning.criteria.allocate import SCOPES
from explorer.pruning.mask import Mask, MaskError


def prunable(model: nn.Module, biases: bool = False, norms: bool = False) -> list[str]:
    """The tensors IMP prunes: every weight with >= 2 dims (Linear/Conv), plus biases and
    normalisation scales/shifts when asked (they are kept by default)."""
    norm_params = {f"{n}.{p}" if n else p for n, m in model.named_modules() if isinstance(m, NORMS)
                   for p, _ in m.named_parameters(recurse=False)}
    out = []
    for name, p in model.named_parameters():
        if name in norm_params:
            if norms:
                out.append(name)
        elif p.dim() >= 2 or biases:
            out.append(name)
    return out


def output_names(model: nn.Module, x: torch.Tensor, names: Sequence[str]) -> list[str]:
    """Of `names`, the tensors of the output layer (the last Linear/Conv a forward pass on `x` runs)."""
    out = next(l for l in find_layers(model, x) if l.is_output)
    return [n for n in names if n in (out.weight, out.bias)]


def ones(weights: Mapping[str, torch.Tensor]) -> Mask:
    """The dense mask over `weights`."""
    return Mask({k: torch.ones_like(v, dtype=torch.float32) for k, v in weights.items()})


def _lowest(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Flat indices of the k lowest entries of 1-D `scores` (stable: earlier index first on ties)."""
    return torch.sort(scores, stable=True).indices[:k]


def _prune_pool(weights: Mapping[str, torch.Tensor], mask: Mapping[str, torch.Tensor], names: Sequence[str],
                rate: float, scope: str) -> dict[str, torch.Tensor]:
    """New masks of `names`, pruning `rate` of their survivors by |w| (per tensor or pooled)."""
    out = {n: mask[n].clone() for n in names}
    if not names or rate <= 0:
        return out
    if scope == "layer":
        for n in names:
            alive = torch.nonzero(out[n].flatten() > 0).flatten()
            k = n_pruned(rate, len(alive))
            gone = alive[_lowest(weights[n].detach().flatten().abs().double().cpu()[alive], k)]
            out[n].view(-1)[gone] = 0.0
        return out
    alive = [torch.nonzero(out[n].flatten() > 0).flatten() for n in names]
    scores = torch.cat([weights[n].detach().flatten().abs().double().cpu()[a] for n, a in zip(names, alive)])
    owner = torch.cat([torch.full((len(a),), i, dtype=torch.long) for i, a in enumerate(alive)])
    pos = torch.cat(alive)
    gone = _lowest(scores, n_pruned(rate, len(scores)))
    for i, n in enumerate(names):
        out[n].view(-1)[pos[gone[owner[gone] == i]]] = 0.0
    return out


def imp_step(weights: Mapping[str, torch.Tensor], mask: Mask, rate: float, *, scope: str = "layer",
             output: Sequence[str] = (), output_rate: float | None = None) -> Mask:
    """One IMP pruning step: `mask` minus the `rate` fraction of its survivors with the smallest
    |w| (`weights`: tensor name -> trained values, for every tensor `mask` names). Tensors in
    `output` go at `output_rate` (default: `rate`), each on its own."""
    if scope not in SCOPES:
        raise MaskError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    for name, r in (("rate", rate), ("output_rate", rate if output_rate is None else output_rate)):
        if not 0.0 <= r < 1.0:
            raise MaskError(f"{name} {r} must lie in [0, 1): the fraction of surviving weights pruned per round")
    missing = [k for k in mask if k not in weights]
    if missing:
        raise MaskError(f"no trained values for masked tensors {missing[:3]}; give the state of the same model")
    body = [k for k in mask if k not in output]
    head = [k for k in mask if k in output]
    new = _prune_pool(weights, mask, body, rate, scope)
    new.update(_prune_pool(weights, mask, head, rate if output_rate is None else output_rate, "layer"))
    return Mask({k: new[k] for k in mask})


def output_sparsity(sparsity: float, rate: float, output_rate: float | None) -> float:
    """The output layer's sparsity when the others reach `sparsity`, as IMP with per-round rates
    `rate` / `output_rate` would leave it: kept fractions (1-rate)^r and (1-output_rate)^r.

    >>> round(output_sparsity(0.75, 0.5, 0.25), 4)  # two rounds: 0.5^2 kept vs 0.75^2 kept
    0.4375
    """
    if output_rate is None or output_rate == rate or sparsity <= 0:
        return sparsity
    if rate <= 0:
        return 0.0
    rounds = math.log(1.0 - sparsity) / math.log(1.0 - rate) if sparsity < 1 else math.inf
    return 1.0 - (1.0 - output_rate) ** rounds


def one_shot(weights: Mapping[str, torch.Tensor], names: Sequence[str], sparsity: float, *, scope: str = "layer",
             output: Sequence[str] = (), rate: float = 0.2, output_rate: float | None = None) -> Mask:
    """Prune the dense tensors `names` to `sparsity` in one step (the notebook's one-shot
    ticket); the output layer at the sparsity IMP with `rate`/`output_rate` would give it."""
    if not 0.0 <= sparsity < 1.0:
        raise MaskError(f"sparsity {sparsity} must lie in [0, 1)")
    dense = ones({n: weights[n] for n in names})
    return imp_step(weights, dense, sparsity, scope=scope, output=output,
                    output_rate=output_sparsity(sparsity, rate, output_rate))
