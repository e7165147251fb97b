"""What a criterion can prune: weights, arcs (unit-level: one weight or one k×k kernel) and
units (neurons/channels), and how element scores become group scores and groups a `Mask`.

- `find_layers(model, x)` (from `explorer.pruning.coupling`): the Linear/Conv layers in
  forward order, the last one marked as the output layer.
- `unit_groups(model, x, layers)`: the prunable units, channels of coupled groups
  (`explorer.pruning.coupling`). Removing a unit zeros its rows (incoming weights, bias,
  BatchNorm scale and shift) in every producer and its columns in every consumer, so the
  masked network equals the compacted one.
- `unit_scores`, `arc_scores`: reduce element scores to group scores.
- `weights_mask`, `arcs_mask`, `units_mask`: pruned groups -> `Mask`.

    >>> from explorer import models
    >>> lm = models.load("mlp")
    >>> [(l.name, l.is_output) for l in find_layers(lm.model, lm.example_input)]
    [('hidden.0', False), ('hidden.1', False), ('out', True)]
    >>> groups, skipped = unit_groups(lm.model, lm.example_input)
    >>> [(g.name, g.size) for g in groups], skipped
    ([('hidden.0', 100), ('hidden.1', 100)], {})
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from explorer.pruning.coupling import Layer, UnitGroup, coupled_groups, find_layers, rows_of
from explorer.pruning.mask import Mask

def unit_groups(model: nn.Module, x: torch.Tensor,
                layers: list[Layer] | None = None) -> tuple[list[UnitGroup], dict[str, str]]:
    """The prunable unit groups of `model` and, for groups that cannot be pruned unit-wise,
    the reason (see `explorer.pruning.coupling.coupled_groups`); `model` is not touched."""
    layers = layers if layers is not None else find_layers(model, x)
    groups, skipped, _ = coupled_groups(copy.deepcopy(model).eval(), x, layers)
    return groups, skipped


def unit_scores(groups: list[UnitGroup], scores: dict[str, torch.Tensor], reduce: str) -> dict[str, torch.Tensor]:
    """Per-unit score: the element scores of each unit's incoming weights (all producers), summed or averaged."""
    out = {}
    for g in groups:
        tot = torch.zeros(g.size, dtype=torch.float64)
        cnt = torch.zeros(g.size, dtype=torch.float64)
        for s in g.out_weight_slices(set(scores)):
            r = rows_of(scores[s.param].double(), s.dim, s.idx)  # (m, fan_in)
            finite = torch.where(torch.isfinite(r), r, torch.zeros_like(r))
            tot.index_add_(0, s.root, finite.sum(1))
            cnt.index_add_(0, s.root, torch.full((len(s.idx),), float(r.shape[1]), dtype=torch.float64))
            dead = (~torch.isfinite(r)).all(1)  # a row scored -inf everywhere was pruned before
            if dead.any():
                tot[s.root[dead]] = float("-inf")
        out[g.name] = tot / cnt.clamp_min(1) if reduce == "mean" else tot
    return out


def units_mask(model: nn.Module, groups: list[UnitGroup], pruned: dict[str, torch.Tensor],
               weights: list[str]) -> Mask:
    """Mask zeroing every pruned unit's rows (producers, biases, norms) and columns (consumers)."""
    params = dict(model.named_parameters())
    m = {n: torch.ones_like(params[n], dtype=torch.float32) for n in weights}
    for g in groups:
        gone = pruned[g.name]
        for s in g.slices:
            if s.param not in m:
                m[s.param] = torch.ones_like(params[s.param], dtype=torch.float32)
            sel = gone[s.root]
            if sel.any():
                m[s.param].movedim(s.dim, 0)[s.idx[sel]] = 0.0
    return Mask(m)


# ---------------------------------------------------------------------------------------
# Arcs (unit level) and weights
# ---------------------------------------------------------------------------------------


def arc_scores(scores: dict[str, torch.Tensor], layers: list[Layer], reduce: str) -> dict[str, torch.Tensor]:
    """Per-arc score: reduce each (out, in) kernel to one number; keys are weight names, values (out*in,)."""
    out = {}
    for l in layers:
        s = scores[l.weight].double()
        if l.kind == "convT":
            s = s.transpose(0, 1)  # (out, in, k...)
        s = s.reshape(s.shape[0], s.shape[1], -1)
        dead = (~torch.isfinite(s)).all(-1)
        s = torch.where(torch.isfinite(s), s, torch.zeros_like(s))
        r = s.mean(-1) if reduce == "mean" else s.sum(-1)
        r[dead] = float("-inf")
        out[l.weight] = r.flatten()
    return out


def arcs_mask(model: nn.Module, layers: list[Layer], pruned: dict[str, torch.Tensor]) -> Mask:
    params = dict(model.named_parameters())
    m = {}
    for l in layers:
        w = params[l.weight]
        shape = (w.shape[1], w.shape[0]) if l.kind == "convT" else (w.shape[0], w.shape[1])
        keep = (~pruned[l.weight]).float().reshape(shape)
        if l.kind == "convT":
            keep = keep.t()
        m[l.weight] = keep.reshape(*keep.shape, *([1] * (w.dim() - 2))).expand_as(w).clone()
    return Mask(m)


def weights_mask(model: nn.Module, layers: list[Layer], pruned: dict[str, torch.Tensor]) -> Mask:
    params = dict(model.named_parameters())
    return Mask({l.weight: (~pruned[l.weight]).float().reshape(params[l.weight].shape) for l in layers})
