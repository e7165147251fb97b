"""`propose`: run a criterion at a target sparsity and return an editable `Proposal`.

The pipeline is one way: scores per weight (or per unit) -> scores per group of the
target (weight, arc, unit) -> exact allocation (`allocate`) -> `Mask` (+ `Selection` of
unit-level node/arc ids when a graph is given). The input model is never modified.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from explorer.config import Spec, setting
from explorer.graph.dag import Dag
from explorer.pruning.mask import Mask
from explorer.pruning import coupling as C
from explorer.pruning.criteria import targets as T
from explorer.pruning.criteria.allocate import SCOPES, AllocationError, allocate
from explorer.pruning.criteria.base import TARGETS, Context, Criterion, CriterionError
from explorer.data.sample import default_batch
from explorer.pruning.criteria.level import LEVEL, MODES
from explorer.pruning.criteria.magnitude import MAGNITUDE, RANDOM
from explorer.pruning.criteria.snip import SNIP, SNIP_UNSUPERVISED
from explorer.pruning.criteria.spline import SPLINE
from explorer.pruning.criteria.synflow import SYNFLOW

CRITERIA: dict[str, Criterion] = {c.name: c for c in
                                  (RANDOM, MAGNITUDE, SNIP, SNIP_UNSUPERVISED, SYNFLOW, SPLINE, LEVEL)}
OP_ARC_CRITERIA = ("random", "level")  # criteria defined on op-level arcs (structure only, no weights)


@dataclass(frozen=True)
class ProposeConfig(Spec):
    """Everything a proposal depends on besides the model; `help` feeds widgets and `--help`."""

    error = CriterionError

    criterion: str = setting("magnitude", "scoring rule: " + ", ".join(CRITERIA), choices=tuple(CRITERIA))
    sparsity: float = setting(0.5, "fraction of the target's groups to prune, in [0, 1]")
    target: str = setting("weights", "what is pruned: single weights, units (neurons/channels) or arcs (unit- or "
                          "op-level)", choices=TARGETS)
    scope: str = setting("layer", "layer: the same rate in every layer; global: one ranking over all layers",
                         choices=SCOPES)
    output_scale: float = setting(1.0, "prune the output layer at this fraction of the rate (e.g. 0.5); the others "
                                  "make up the difference")
    iterations: int = setting(20, "rounds of an iterative criterion (SynFlow)")
    level_mode: str = setting("deepest", "level criterion: 'deepest' levels first or 'span': longest arcs first",
                              choices=MODES)
    batch_size: int = setting(256, "samples in the batch a data-driven criterion (SNIP) uses")
    seed: int = setting(0, "seed for random scores and the data batch")

    def check(self) -> None:
        if self.target not in CRITERIA[self.criterion].targets:
            raise CriterionError(f"criterion {self.criterion!r} prunes {', '.join(CRITERIA[self.criterion].targets)}"
                                 f", not {self.target}; pick one of those targets or another criterion")
        if not 0.0 <= self.sparsity <= 1.0:
            raise CriterionError(f"sparsity {self.sparsity!r} must be a fraction in [0, 1], e.g. 0.5")
        if not 0.0 <= self.output_scale <= 1.0:
            raise CriterionError(f"output_scale {self.output_scale} must lie in [0, 1]")
        if self.iterations < 1:
            raise CriterionError(f"iterations must be >= 1; got {self.iterations}")


@dataclass(frozen=True)
class Proposal:
    """What a criterion proposes: a `Mask`, the unit/arc ids as a `Selection` (when a graph
    was given), and how much of each layer stays.

    `achieved` is the pruned fraction of the target's groups (weights, units or arcs);
    `kept` maps each layer (or unit group, or op-level head) to the fraction of its groups kept;
    `pruned` maps it to the indices pruned (units: unit indices; arcs: flat out*in indices;
    weights: flat indices)."""

    config: ProposeConfig
    mask: Mask
    achieved: float
    total: int
    kept: dict[str, float]
    pruned: dict[str, list[int]]
    selection: Any = None  # explorer.pruning.selection.Selection | None
    notes: tuple[str, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)  # groups per layer

    @property
    def weight_sparsity(self) -> float:
        return self.mask.sparsity

    def summary(self) -> dict[str, Any]:
        c = self.config
        return {"criterion": c.criterion, "target": c.target, "scope": c.scope, "requested": c.sparsity,
                "achieved": self.achieved, "groups": self.total, "weight_sparsity": self.weight_sparsity,
                "kept": self.kept, "sizes": self.sizes, "notes": list(self.notes),
                "selection": None if self.selection is None else {"nodes": len(self.selection.nodes),
                                                                   "arcs": len(self.selection.arcs)}}

    def __repr__(self) -> str:
        c = self.config
        return (f"Proposal({c.criterion} {c.target} {c.scope}: {100 * self.achieved:.1f}% of {self.total} pruned, "
                f"weight sparsity {100 * self.weight_sparsity:.1f}%)")


def propose(
    model: nn.Module | Any,
    criterion: str,
    sparsity: float,
    *,
    target: str = "weights",
    scope: str = "layer",
    dag: Dag | None = None,
    data: tuple[torch.Tensor, torch.Tensor] | None = None,
    seed: int = 0,
    example_input: torch.Tensor | None = None,
    dataset: str | None = None,
    num_classes: int | None = None,
    output_scale: float = 1.0,
    iterations: int = 20,
    level_mode: str = "deepest",
    batch_size: int = 256,
) -> Proposal:
    """Score `model` with `criterion` and prune exactly `round(sparsity * n)` of its n groups.

    `model` is an `nn.Module` (then give `example_input`, or `data`) or a `models.LoadedModel`
    (its example input, dataset and class count are used). `target="arcs"` with an op-level
    `dag` proposes op-level arcs (inputs of add/cat nodes: skips and branches). `data=(x, y)`
    overrides the default batch of data-driven criteria.

        >>> from explorer import models
        >>> p = propose(models.load("mlp"), "magnitude", 0.5, target="units")
        >>> p
        Proposal(magnitude units layer: 50.0% of 200 pruned, weight sparsity 66.4%)
        >>> p.kept
        {'hidden.0': 0.5, 'hidden.1': 0.5}
    """
    cfg = ProposeConfig(criterion, float(sparsity), target, scope, float(output_scale), int(iterations),
                        level_mode, int(batch_size), int(seed))
    crit = CRITERIA[criterion]
    if hasattr(model, "model") and hasattr(model, "example_input"):  # models.LoadedModel
        info = getattr(model, "info", None)
        example_input = model.example_input if example_input is None else example_input
        dataset = dataset or getattr(info, "dataset", None)
        num_classes = num_classes or getattr(info, "num_classes", None)
        model = model.model
    if not isinstance(model, nn.Module):
        raise CriterionError(f"propose needs an nn.Module or a models.LoadedModel, not {type(model).__name__}")
    if example_input is None:
        if data is None:
            raise CriterionError("pass example_input= (a batch the model accepts) or data=(x, y)")
        example_input = data[0][:1]
    x = example_input.detach()
    notes: list[str] = []

    if target == "arcs" and dag is not None and dag.granularity == "op":
        return _propose_op_arcs(cfg, dag)

    work = copy.deepcopy(model).eval()
    layers = C.find_layers(work, x)
    output = next(l for l in layers if l.is_output)
    groups: list[C.UnitGroup] = []
    if target == "units":
        groups, skipped = T.unit_groups(work, x, layers)
        for g, why in skipped.items():
            notes.append(f"units of {g} are not candidates: {why}")
        if not groups:
            raise CriterionError(f"{type(model).__name__} has no units that can be pruned on their own"
                                 + (f" ({'; '.join(notes)})" if notes else "") + "; prune weights or arcs instead")
    batch = None
    if crit.needs_data:
        if data is not None:
            batch, source = (data[0].detach(), data[1].detach()), "data given"
        else:
            bx, by, source = default_batch(dataset, tuple(x.shape[1:]), num_classes, batch_size, seed)
            batch = (bx, by)
        notes.append(f"{criterion} batch: {len(batch[0])} samples of {source}")

    def context(mask: Mask | None) -> Context:
        return Context(copy.deepcopy(work), x, layers, target, scope, seed, dag, groups, mask, batch,
                       options={"level_mode": level_mode})

    rounds = iterations if crit.iterative else 1
    mask: Mask | None = None
    pruned: dict[str, torch.Tensor] = {}
    for r in range(1, rounds + 1):
        s_r = sparsity if r == rounds else 1.0 - (1.0 - sparsity) ** (r / rounds)
        ctx = context(mask)
        scores = _group_scores(crit, ctx, target, mask)
        key_out = output.weight if target != "units" else None
        try:
            pruned = allocate(scores, s_r, scope=scope, output=key_out, output_scale=output_scale,
                              min_keep=1 if target == "units" else 0)
        except AllocationError as e:
            raise CriterionError(f"{criterion} on {target}: {e}") from e
        mask = _to_mask(work, target, layers, groups, pruned)

    assert mask is not None
    total = sum(int(v.numel()) for v in pruned.values())
    n_gone = sum(int(v.sum()) for v in pruned.values())
    kept = {_key_name(k, layers): 1.0 - float(v.float().mean()) for k, v in pruned.items()}
    idx = {_key_name(k, layers): torch.nonzero(v).flatten().tolist() for k, v in pruned.items()}
    sizes = {_key_name(k, layers): int(v.numel()) for k, v in pruned.items()}
    selection = _selection(dag, cfg, target, mask, groups, pruned, layers) if dag is not None else None
    return Proposal(cfg, mask, n_gone / total if total else 0.0, total, kept, idx, selection, tuple(notes), sizes)


def _key_name(key: str, layers: list[C.Layer]) -> str:
    """Weight names -> layer (module) names for display; unit-group names pass through."""
    for l in layers:
        if l.weight == key:
            return l.name
    return key


def _group_scores(crit: Criterion, ctx: Context, target: str, mask: Mask | None) -> dict[str, torch.Tensor]:
    if crit.unit_scores is not None:
        if target != "units":
            raise CriterionError(f"{crit.name} scores units only")
        scores = crit.unit_scores(ctx)
        if mask is not None:  # units pruned in an earlier round stay pruned
            scores = {k: _dead_units(g, mask, v) for g in ctx.groups for k, v in scores.items() if k == g.name}
        return scores
    assert crit.weight_scores is not None
    w = crit.weight_scores(ctx)
    w = {k: torch.nan_to_num(v.double(), nan=0.0) for k, v in w.items()}
    if mask is not None:
        w = {k: torch.where(mask[k].bool(), v, torch.tensor(float("-inf"), dtype=v.dtype)) if k in mask else v
             for k, v in w.items()}
    if target == "weights":
        return {k: v.flatten() for k, v in w.items()}
    if target == "arcs":
        return T.arc_scores(w, ctx.layers, crit.reduce)
    return T.unit_scores(ctx.groups, w, crit.reduce)


def _dead_units(g: C.UnitGroup, mask: Mask, scores: torch.Tensor) -> torch.Tensor:
    out = scores.clone()
    for s in g.slices:
        if s.role == "out" and s.param in mask and mask[s.param].dim() >= 2:
            rows = C.rows_of(mask[s.param], s.dim, s.idx)
            dead = rows.sum(1) == 0
            out[s.root[dead]] = float("-inf")
    return out


def _to_mask(model: nn.Module, target: str, layers: list[C.Layer], groups: list[C.UnitGroup],
             pruned: dict[str, torch.Tensor]) -> Mask:
    if target == "weights":
        return T.weights_mask(model, layers, pruned)
    if target == "arcs":
        return T.arcs_mask(model, layers, pruned)
    return T.units_mask(model, groups, pruned, [l.weight for l in layers])


def _selection(dag: Dag, cfg: ProposeConfig, target: str, mask: Mask, groups: list[C.UnitGroup],
               pruned: dict[str, torch.Tensor], layers: list[C.Layer]) -> Any:
    """The unit-level node/arc ids the proposal removes (ids of `explorer.graph.unit.unit_dag`)."""
    from explorer.pruning.selection import Selection, fingerprint

    note = f"{cfg.criterion} {cfg.target} {cfg.scope} {cfg.sparsity:g}"
    if dag.granularity != "unit":
        return None
    nodes: list[str] = []
    arcs: list[str] = []
    if target == "units":
        by_row = {(n.meta.get("weight"), int(n.meta["row"])): n.id for n in dag.nodes
                  if n.meta.get("weight") is not None and n.meta.get("row") is not None}
        weights = {l.weight for l in layers}
        for g in groups:
            gone = pruned[g.name]
            for s in g.out_weight_slices(weights):
                for i, r in zip(s.idx.tolist(), s.root.tolist()):
                    if gone[r] and (s.param, i) in by_row:
                        nodes.append(by_row[(s.param, i)])
    else:
        arcs = C.emptied_arcs(dag, mask)
    return Selection(dag.granularity, tuple(nodes), tuple(arcs), dag.name, fingerprint(dag), note)


def _propose_op_arcs(cfg: ProposeConfig, dag: Dag) -> Proposal:
    """Op-level arcs into additive combiners (add, cat: skips and branches), by span or at random.
    Each combiner keeps at least one input; the mask is empty (op arcs are removed by graph rewriting)."""
    from explorer.pruning.selection import Selection, fingerprint

    if cfg.criterion not in OP_ARC_CRITERIA:
        raise CriterionError(f"at op level, arcs are scored by {', '.join(OP_ARC_CRITERIA)} only "
                             f"({cfg.criterion!r} needs weights); use the unit-level graph or target='units'")
    g = torch.Generator().manual_seed(cfg.seed)
    heads: dict[str, list] = {}
    for a in dag.arcs:
        if a.kind in ("linear", "identity") and len(dag.in_arcs(a.dst)) >= 2:
            heads.setdefault(a.dst, []).append(a)
    if not heads:
        raise CriterionError(f"{dag.name or 'the graph'} has no node that sums or concatenates several inputs; "
                             "there is no skip or branch arc to propose")
    scores = {}
    for h, arcs in heads.items():
        if cfg.criterion == "random":
            scores[h] = torch.rand(len(arcs), generator=g, dtype=torch.float64)
        else:
            scores[h] = torch.tensor([-(dag.level[a.dst] - dag.level[a.src]) for a in arcs], dtype=torch.float64)
    try:
        pruned = allocate(scores, cfg.sparsity, scope=cfg.scope, min_keep=1)
    except AllocationError as e:
        raise CriterionError(f"{cfg.criterion} on op-level arcs: {e}") from e
    gone = [a.id for h, arcs in heads.items() for a, p in zip(arcs, pruned[h].tolist()) if p]
    total = sum(len(v) for v in heads.values())
    sel = Selection(dag.granularity, (), tuple(gone), dag.name, fingerprint(dag),
                    f"{cfg.criterion} op arcs {cfg.scope} {cfg.sparsity:g}")
    return Proposal(cfg, Mask(), len(gone) / total, total,
                    {h: 1.0 - float(v.float().mean()) for h, v in pruned.items()},
                    {h: torch.nonzero(v).flatten().tolist() for h, v in pruned.items()}, sel,
                    (f"{total} candidate arcs: the inputs of {len(heads)} add/cat nodes; each keeps one",),
                    {h: len(v) for h, v in heads.items()})

