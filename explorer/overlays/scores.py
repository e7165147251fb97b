"""A pruning criterion's score per node (`explorer.pruning.criteria`: magnitude, SNIP, SynFlow, spline).

The criterion scores the model's weights (or, spline, its units) exactly as a proposal does; the
overlay aggregates them per node with the criterion's own reduction (`Criterion.reduce`: "sum" for
the additive saliencies SNIP and SynFlow, "mean" for magnitudes and spline ranks):

- unit level: a neuron/channel's incoming weights (its row of the layer's weight);
- op level: a layer node (same module as the layer) — all of the layer's weights;
- block level: every layer inside the block.

Nodes without weights get 0. Higher means "keep" (spline: removed later).
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from explorer.graph.dag import Dag
from explorer.overlays.base import Overlay, OverlayError
from explorer.pruning import coupling as C
from explorer.pruning.criteria import CRITERIA, Context, CriterionError
from explorer.pruning.criteria import targets as T
from explorer.data.sample import default_batch

CRITERION_OVERLAYS = ("magnitude", "snip", "synflow", "spline")


def _reduce(t: torch.Tensor, how: str) -> float:
    t = torch.nan_to_num(t.double(), nan=0.0, posinf=0.0, neginf=0.0)
    return float(t.sum() if how == "sum" else t.mean()) if t.numel() else 0.0


def layer_scores(name: str, model: Any, x: Any, *, seed: int = 0, dataset: str | None = None,
                 num_classes: int | None = None) -> tuple[dict[str, torch.Tensor], list[C.Layer], str]:
    """(scores by weight name (or unit group name for spline), the layers, the reduction) of criterion `name`
    on a private copy of `model` at input `x`."""
    crit = CRITERIA[name]
    if not isinstance(x, torch.Tensor):
        raise OverlayError(f"the {name} overlay needs a model of one tensor input")
    work = copy.deepcopy(model).eval()
    layers = C.find_layers(work, x)
    if not layers:
        raise OverlayError(f"{type(model).__name__} has no Linear/Conv layer for {name} to score")
    batch = None
    if crit.needs_data:
        bx, by, _ = default_batch(dataset, tuple(x.shape[1:]), num_classes, 256, seed)
        batch = (bx, by)
    target = "units" if crit.unit_scores is not None else "weights"
    groups = T.unit_groups(work, x, layers)[0] if target == "units" else []
    ctx = Context(copy.deepcopy(work), x, layers, target, "layer", seed, None, groups, None, batch)
    try:
        scores = crit.unit_scores(ctx) if crit.unit_scores is not None else crit.weight_scores(ctx)
    except CriterionError as e:
        raise OverlayError(f"{name}: {e}") from e
    except RuntimeError as e:  # e.g. SynFlow's all-ones input fed to an embedding of token ids
        raise OverlayError(f"{name} cannot score {type(model).__name__} on its example input ({str(e)[:160]}); "
                           "pick params, MACs, latency or |w| for this model") from e
    return scores, layers, crit.reduce


def criterion_overlay(name: str, dag: Dag, model: Any, x: Any, **kw: Any) -> Overlay:
    """The criterion `name`'s score aggregated per node of `dag` (see the module doc)."""
    x = dag.meta.get("example_input") if x is None and dag.granularity != "unit" else x
    if x is None and dag.granularity == "unit":
        x = dag.meta["unit_net"].example_input
    scores, layers, how = layer_scores(name, model, x, **kw)
    units = CRITERIA[name].unit_scores is not None
    key = {l.name: (l.name if units else l.weight) for l in layers}
    values: dict[str, float] = {}
    for n in dag.nodes:
        if dag.granularity == "unit":
            w, row = n.meta.get("weight"), n.meta.get("row")
            layer = (w or "").rpartition(".")[0]
            s = scores.get(key.get(layer, ""))
            values[n.id] = 0.0 if s is None or row is None else _reduce(s[row:row + 1] if units else s[row], how)
            continue
        if dag.granularity == "op":
            mine = [l for l in layers if n.module and l.name == n.module and n.params]
        else:
            mine = [l for l in layers if n.module and (l.name == n.module or l.name.startswith(n.module + "."))]
        ts = [scores[key[l.name]].flatten() for l in mine if key[l.name] in scores]
        values[n.id] = _reduce(torch.cat(ts), how) if ts else 0.0
    note = (f"{name} scores ({'per unit' if units else 'per weight'}), {'summed' if how == 'sum' else 'averaged'} "
            "per node; nodes without weights show 0")
    return Overlay(name, "score", values, (note,))
