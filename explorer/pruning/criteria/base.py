"""The criterion type and the context a criterion scores in.

A `Criterion` is a name, a one-line explanation, a reference and the targets it
supports, plus one scoring function:

- `weight_scores(ctx) -> {weight name: scores}` — one score per weight (higher = keep);
  the proposal reduces them to arcs or units (`reduce`: "sum" for additive saliencies
  such as SNIP/SynFlow, "mean" for magnitudes), or
- `unit_scores(ctx) -> {group name: scores}` — one score per unit, for criteria that
  are defined on units only (spline redundancy).

`iterative` criteria (SynFlow) are re-scored with the mask so far over `ctx.iterations`
rounds of rising sparsity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from explorer.graph.dag import Dag
from explorer.pruning.mask import Mask
from explorer.pruning.coupling import Layer, UnitGroup

TARGETS = ("weights", "units", "arcs")


class CriterionError(ValueError):
    """A criterion asked for something it cannot do; the message names what and the alternative."""


@dataclass
class Context:
    """What a scoring function sees. `model` is a private copy: scoring may change it."""

    model: nn.Module
    x: torch.Tensor  # example input, (1, *input_shape)
    layers: list[Layer]
    target: str
    scope: str
    seed: int
    dag: Dag | None = None
    groups: list[UnitGroup] = field(default_factory=list)
    mask: Mask | None = None  # the mask so far (iterative criteria)
    data: tuple[torch.Tensor, torch.Tensor] | None = None
    data_source: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def weights(self) -> list[str]:
        return [l.weight for l in self.layers]

    def params(self) -> dict[str, torch.Tensor]:
        return dict(self.model.named_parameters())


@dataclass(frozen=True)
class Criterion:
    name: str
    explanation: str  # one line, shown beside the picker
    reference: str  # the paper
    targets: tuple[str, ...]
    weight_scores: Callable[[Context], dict[str, torch.Tensor]] | None = None
    unit_scores: Callable[[Context], dict[str, torch.Tensor]] | None = None
    reduce: str = "mean"
    iterative: bool = False
    needs_data: bool = False

    def __repr__(self) -> str:
        return f"Criterion({self.name}: {self.explanation} [{', '.join(self.targets)}])"
