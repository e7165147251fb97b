"""Pruning at initialisation (docs/science.md §5): SNIP supervised and unsupervised, random and
magnitude — the criteria of `explorer.pruning.criteria`, scored on the freshly initialised
weights — with the fraction each layer keeps, and how much two criteria's masks agree.

    >>> from explorer import models
    >>> lm = models.load("deep_mlp:depth=3,width=20,act=tanh")
    >>> p = prune_at_init(lm, "snip_unsupervised", 0.9)
    >>> round(p.achieved, 6), sorted(p.kept)
    (0.9, ['fc1', 'fc2', 'fc3'])
    >>> agreement(p.mask, p.mask)
    1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from explorer.pruning.criteria import propose
from explorer.pruning.mask import Mask

CRITERIA = ("snip", "snip_unsupervised", "random", "magnitude")
TWIN = {"snip": "snip_unsupervised", "snip_unsupervised": "snip"}  # supervised <-> unsupervised


class PruneAtInitError(ValueError):
    """A criterion this lab does not prune with at init."""


@dataclass(frozen=True)
class InitPruning:
    """A mask over every Linear/Conv weight, the pruned fraction and each layer's kept fraction."""

    criterion: str
    sparsity: float
    mask: Mask
    achieved: float  # fraction of all weights pruned: round(sparsity * n) / n
    kept: dict[str, float]  # layer -> fraction of its weights kept
    notes: tuple[str, ...]


def prune_at_init(lm: Any, criterion: str, sparsity: float, *, seed: int = 0, scope: str = "global",
                  batch_size: int = 1000) -> InitPruning:
    """Score the `models.LoadedModel` `lm` (at its current weights) with `criterion` and prune exactly
    `round(sparsity * n)` of its n Linear/Conv weights, over all layers at once (`scope="global"`,
    as SNIP does) or at the same rate in each (`"layer"`). SNIP's batch has `batch_size` samples
    of the model's dataset (random inputs and labels when it has none)."""
    if criterion not in CRITERIA:
        raise PruneAtInitError(f"criterion {criterion!r} is not one of {', '.join(CRITERIA)} "
                               "(pruning at initialisation scores single weights)")
    p = propose(lm, criterion, float(sparsity), target="weights", scope=scope, seed=seed, batch_size=batch_size)
    return InitPruning(criterion, float(sparsity), p.mask, p.achieved, dict(p.kept), tuple(p.notes))


def agreement(a: Mask, b: Mask) -> float:
    """Fraction of the weights `a` keeps that `b` keeps too (1 for equal masks)."""
    kept = sum(float(a[k].sum()) for k in a)
    both = sum(float((a[k] * b[k]).sum()) for k in a if k in b)
    return both / kept if kept else 1.0
