"""The two baselines: random scores, and weight magnitude |w| (Han et al. 2015; the
criterion of iterative magnitude pruning, Frankle & Carbin 2019)."""

from __future__ import annotations

import torch

from explorer.pruning.criteria.base import Context, Criterion


def random_scores(ctx: Context) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(ctx.seed)
    p = ctx.params()
    return {w: torch.rand(p[w].shape, generator=g, dtype=torch.float64) for w in ctx.weights}


def magnitude_scores(ctx: Context) -> dict[str, torch.Tensor]:
    p = ctx.params()
    return {w: p[w].detach().abs().double() for w in ctx.weights}


RANDOM = Criterion(
    "random", "prune uniformly at random (the control every criterion must beat)",
    "Frankle & Carbin, The Lottery Ticket Hypothesis, ICLR 2019 (random-pruning control)",
    ("weights", "units", "arcs"), weight_scores=random_scores, reduce="mean")

MAGNITUDE = Criterion(
    "magnitude", "prune the smallest |w| (units/arcs: smallest mean |w| of their incoming weights, i.e. L1)",
    "Han et al., Learning both Weights and Connections, NeurIPS 2015; Li et al., Pruning Filters, ICLR 2017",
    ("weights", "units", "arcs"), weight_scores=magnitude_scores, reduce="mean")
