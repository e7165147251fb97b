"""Exact allocation: which groups (weights, arcs or units) a criterion's scores prune.

A criterion gives every candidate group a score (higher = keep). `allocate` turns the
scores and a requested sparsity into a boolean "pruned" tensor per layer such that the
number pruned is *exactly* `round(sparsity * total)` — layerwise (every layer at the same
rate, remainders distributed by largest fraction) or globally (one ranking over all
layers). The output layer may be pruned at a lower rate (`output_scale`), the others then
take up the difference so the total stays exact. Ties are broken by position (stable sort),
so results are deterministic.

    >>> import torch
    >>> out = allocate({"a": torch.tensor([3., 1., 2., 4.]), "b": torch.tensor([0.5, 5.])}, 0.5, scope="global")
    >>> {k: v.tolist() for k, v in out.items()}
    {'a': [False, True, True, False], 'b': [True, False]}
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

SCOPES = ("layer", "global")


class AllocationError(ValueError):
    """A sparsity that cannot be met (out of range, or more than the layers can give up)."""


def n_pruned(sparsity: float, total: int) -> int:
    """`round(sparsity * total)`, rounding halves up (Python's `round` rounds halves to even)."""
    return int(math.floor(sparsity * total + 0.5))


def allocate(
    scores: Mapping[str, torch.Tensor],
    sparsity: float,
    *,
    scope: str = "layer",
    output: str | None = None,
    output_scale: float = 1.0,
    min_keep: int = 0,
) -> dict[str, torch.Tensor]:
    """Boolean pruned-tensors (1-D, like each score tensor), pruning exactly
    `round(sparsity * total)` of all groups.

    `scores`: layer key -> 1-D scores (higher = keep; `-inf` = already pruned, goes first).
    `scope`: "layer" (same rate in every layer) or "global" (one ranking).
    `output`: the key of the output layer; with `output_scale` < 1 it is pruned at
    `output_scale * sparsity` and the other layers make up the difference.
    `min_keep`: groups every layer keeps (1 for units, so no layer is cut off entirely).
    """
    if scope not in SCOPES:
        raise AllocationError(f"scope {scope!r} is not one of {SCOPES}")
    if not 0.0 <= sparsity <= 1.0:
        raise AllocationError(f"sparsity {sparsity} must lie in [0, 1] (the fraction to prune)")
    if not 0.0 <= output_scale <= 1.0:
        raise AllocationError(f"output_scale {output_scale} must lie in [0, 1] (1 = same rate as other layers)")
    if not scores:
        raise AllocationError("nothing to prune: the model has no candidate layers for this target")
    sizes = {k: int(v.numel()) for k, v in scores.items()}
    total = sum(sizes.values())
    cap = {k: max(0, n - min_keep) for k, n in sizes.items()}
    k_total = n_pruned(sparsity, total)
    if k_total > sum(cap.values()):
        most = sum(cap.values())
        raise AllocationError(
            f"sparsity {sparsity:.3f} asks to prune {k_total} of {total}, but at most {most} can go while "
            f"every layer keeps {min_keep}; ask for at most {most / total:.3f}")

    counts: dict[str, int] = {}
    rest = list(scores)
    k_rest = k_total
    if output is not None and output in scores and output_scale < 1.0 and len(scores) > 1:
        rest = [k for k in scores if k != output]
        cap_rest = sum(cap[k] for k in rest)
        k_out = min(cap[output], n_pruned(sparsity * output_scale, sizes[output]))
        k_out = max(k_out, k_total - cap_rest)  # the others cannot give more than their cap
        counts[output] = k_out
        k_rest = k_total - k_out

    if scope == "layer":
        counts.update(_proportional({k: sizes[k] for k in rest}, {k: cap[k] for k in rest}, k_rest))
        return {k: _lowest(scores[k], counts[k]) for k in scores}

    # global: one stable ranking over the remaining layers, skipping layers at their cap
    out = {k: torch.zeros(sizes[k], dtype=torch.bool) for k in scores}
    if output in counts:
        out[output] = _lowest(scores[output], counts[output])
    if k_rest == 0:
        return out
    flat = torch.cat([scores[k].detach().flatten().double() for k in rest])
    owner = torch.cat([torch.full((sizes[k],), i, dtype=torch.long) for i, k in enumerate(rest)])
    pos = torch.cat([torch.arange(sizes[k]) for k in rest])
    order = torch.sort(flat, stable=True).indices
    if all(cap[k] == sizes[k] for k in rest):  # no caps: the k lowest, vectorised
        chosen = order[:k_rest]
    else:
        taken = [0] * len(rest)
        chosen_l: list[int] = []
        own = owner[order].tolist()
        for j, o in zip(order.tolist(), own):
            if taken[o] < cap[rest[o]]:
                taken[o] += 1
                chosen_l.append(j)
                if len(chosen_l) == k_rest:
                    break
        chosen = torch.tensor(chosen_l, dtype=torch.long)
    for i, k in enumerate(rest):
        sel = chosen[owner[chosen] == i]
        out[k][pos[sel]] = True
    return out


def _lowest(s: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of the k lowest entries of the 1-D tensor `s` (stable: earlier index first on ties)."""
    out = torch.zeros(s.numel(), dtype=torch.bool)
    if k > 0:
        out[torch.sort(s.detach().flatten().double(), stable=True).indices[:k]] = True
    return out


def _proportional(sizes: dict[str, int], cap: dict[str, int], k: int) -> dict[str, int]:
    """Split k over layers in proportion to their sizes (largest remainder), respecting caps."""
    counts = {key: 0 for key in sizes}
    free = dict(sizes)
    left = k
    while left > 0 and free:
        n = sum(free.values())
        ideal = {key: left * s / n for key, s in free.items()}
        add = {key: min(int(math.floor(v)), cap[key] - counts[key]) for key, v in ideal.items()}
        rem = left - sum(add.values())
        # remainders: largest fractional part first, then by key order (deterministic)
        for key in sorted(free, key=lambda q: -(ideal[q] - math.floor(ideal[q]))):
            if rem == 0:
                break
            if counts[key] + add[key] < cap[key]:
                add[key] += 1
                rem -= 1
        for key, a in add.items():
            counts[key] += a
        left = k - sum(counts.values())
        free = {key: s for key, s in free.items() if counts[key] < cap[key]}
    return counts
