"""Applying a selection: the pruned network as a masked (and, at op level, rewritten) copy.

`apply(model, dag, selection, x)` first runs `validity.check`; a refused selection
raises `InvalidSelection` and nothing is touched (the model is never modified: the
result is a copy). Then:

- **unit level** -> a `Mask`: every removed arc zeroes its weight entry (one weight, or
  one k×k kernel); every removed node zeroes its biases and, where a BatchNorm is folded
  into it, that channel's BatchNorm scale and shift. A weight entry that also carries a
  surviving arc (a convolution read by two BatchNorms in a DenseNet) is not zeroed; the
  selection is then refused if the removal cannot be realised otherwise (the arc's
  source must be exactly zero instead). Identity and pooling arcs carry no weight: they
  can be cut only by zeroing their source.
- **op level** -> a `torch.fx` rewrite (`rewrite.zero_arcs`): each removed input of a
  surviving op becomes zeros of its shape; ops nothing reads any more disappear, and
  their parameters (kept under their names, so state dicts still line up) are masked to
  zero.

The `PrunedModel` carries the pruned model, its mask, the selection, the verdict and
the pruned network's DAG (`explorer.training.rewind` loads surviving weights into it from a
saved state, e.g. the dense init of a lottery ticket).

    >>> from explorer import models
    >>> from explorer.graph.unit import unit_dag
    >>> lm = models.load("moons_mlp")
    >>> dag = unit_dag(lm.model, lm.example_input, "moons_mlp")
    >>> p = apply(lm.model, dag, Selection.from_ids(dag, ["fc1[0]", "fc2[3]->out[1]"]), lm.example_input)
    >>> p
    PrunedModel(unit moons_mlp: removed 1 nodes, 19 arcs; Mask(4 tensors, 316/336 kept, sparsity 6.0%))
    >>> float(p.model.fc1.weight[0].abs().sum().detach()), float(p.model.out.weight[1, 3].detach())
    (0.0, 0.0)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from explorer.graph.dag import Dag
from explorer.models.state import load_state
from explorer.pruning.mask import Mask, prunable_names
from explorer.pruning.selection import Selection
from explorer.pruning.unit_plan import unit_plan
from explorer.pruning.validity import InvalidSelection, Verdict, check

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class ApplyError(ValueError):
    """A valid selection this model cannot realise (e.g. an op-level graph that was not traced by fx)."""


class UnitGraphLater:
    """The unit graph of a pruned network, traced when first asked for, of the weights it had when pruned (a
    copy: training the pruned model later does not change it)."""

    def __init__(self, pruned: nn.Module, x: torch.Tensor, name: str):
        self.model, self.x, self.name = copy.deepcopy(pruned), x, name
        self._dag: Dag | None = None  # copies of one PrunedModel (export's rebuilt one) trace it once

    def __call__(self) -> Dag:
        from explorer.graph.unit import unit_dag

        if self._dag is None:
            self._dag = unit_dag(self.model, self.x, self.name)
        return self._dag


@dataclass
class PrunedModel:
    """The pruned network: `model` (a copy, masked, rewritten at op level), `mask`, the
    `selection` and its `verdict`, and `dag`, the pruned network's graph (`graph`: the graph, or at unit
    level a `UnitGraphLater` that traces it on first use — a training run that only needs the masked model
    never pays for it)."""

    model: nn.Module
    mask: Mask
    selection: Selection
    verdict: Verdict
    graph: Dag | UnitGraphLater = field(repr=False)
    dense_dag: Dag = field(repr=False)
    rewrites: tuple[str, ...] = ()  # op level: arcs whose source was replaced by zeros

    @property
    def dag(self) -> Dag:
        """The pruned network's graph (traced now if it was left for later)."""
        if isinstance(self.graph, UnitGraphLater):
            self.graph = self.graph()
        return self.graph

    def reapply_mask(self) -> None:
        """Zero the pruned entries again (call after every optimiser step)."""
        self.mask.apply_(self.model)

    @property
    def granularity(self) -> str:
        return self.selection.granularity

    def weight_sparsity(self) -> float:
        """Fraction of the model's weights (tensors of >= 2 dims) that are exactly zero."""
        params = dict(self.model.named_parameters())
        names = prunable_names(self.model)
        total = sum(params[n].numel() for n in names)
        zero = sum(int((params[n] == 0).sum()) for n in names)
        return zero / total if total else 0.0

    def __repr__(self) -> str:
        v = self.verdict
        return (f"PrunedModel({self.granularity} {self.dense_dag.name or '?'}: removed "
                f"{len(v.removed_nodes)} nodes, {len(v.removed_arcs)} arcs; {self.mask!r})")


def apply(model: nn.Module, dag: Dag, selection: Selection, x: torch.Tensor | None = None) -> PrunedModel:
    """Prune `selection` from a copy of `model` (whose graph is `dag`); `x` is an example
    input (needed at op level for shapes; default `dag.meta["example_input"]`).

    Raises `InvalidSelection` (with the verdict's reasons) when the selection is refused;
    `model` is never modified.
    """
    verdict = check(dag, selection)
    verdict.raise_if_invalid()
    if dag.granularity == "unit":
        return _apply_unit(model, dag, selection, verdict, x)
    if dag.granularity == "op":
        return _apply_op(model, dag, selection, verdict, x)
    raise ApplyError("pruning applies at unit or op level; the block view is for browsing — "
                     "switch the granularity to 'op' to prune these ops")


def from_mask(model: nn.Module, dag: Dag, mask: Mask, x: torch.Tensor | None = None,
              selection: Selection | None = None) -> PrunedModel:
    """A `PrunedModel` from a mask alone (a criterion's weight proposal): a masked copy of
    `model`; `selection` (default empty) is recorded, not re-applied."""
    mask.check(model)
    pruned = copy.deepcopy(model)
    mask.apply_(pruned)
    sel = selection if selection is not None else Selection.empty(dag)
    verdict = Verdict(True)
    if not sel.is_empty() and sel.granularity == dag.granularity:
        v = check(dag, sel)  # for the counts of what the mask removes, where the ids describe it
        verdict = Verdict(True, (), v.removed_nodes, v.removed_arcs, v.disconnected) if v.ok else verdict
    return PrunedModel(pruned, Mask(mask), sel, verdict, dag, dag)


# ---- unit level -------------------------------------------------------------------------


def unit_mask(model: nn.Module, dag: Dag, verdict: Verdict) -> Mask:
    """The unit-level mask realising `verdict`: ones over every weight, zeros at the plan's entries."""
    plan = unit_plan(dag, verdict)
    if plan.reasons:
        raise InvalidSelection(Verdict(False, plan.reasons, verdict.removed_nodes, verdict.removed_arcs,
                                       verdict.disconnected))
    params = dict(model.named_parameters())
    mask = Mask({n: torch.ones_like(params[n], dtype=torch.float32, device="cpu") for n in prunable_names(model)})
    zeros: dict[str, torch.Tensor] = {}
    by_param: dict[str, list[tuple]] = {}
    for name, idx in plan.entries:
        if name not in params:
            raise ApplyError(f"the unit graph names parameter {name!r}, which {type(model).__name__} does not "
                             "have; rebuild the graph from this model")
        by_param.setdefault(name, []).append(idx)
    for name, idxs in by_param.items():
        z = zeros[name] = mask[name].clone() if name in mask else torch.ones_like(params[name], dtype=torch.float32,
                                                                                 device="cpu")
        _zero_entries(z, idxs)
    modules = dict(model.named_modules())
    for bias, ch in plan.norm_scales:  # a folded BatchNorm: zero its scale too, (0 - mean) * 0 + 0 = 0
        owner = modules.get(bias.rpartition(".")[0])
        if isinstance(owner, _NORMS) and owner.weight is not None:
            w = bias.rpartition(".")[0] + ".weight"
            zeros.setdefault(w, torch.ones_like(params[w], dtype=torch.float32, device="cpu"))[ch] = 0.0
    for name, t in zeros.items():
        mask[name] = t
    return mask


def _zero_entries(t: torch.Tensor, idxs: list[tuple]) -> None:
    """`t[idx] = 0` for every index: those of whole integers at once per length (one advanced-indexing write,
    not one per weight: a removed unit has thousands), the others (with lists) one by one."""
    whole: dict[int, list[tuple[int, ...]]] = {}
    for idx in idxs:
        if all(isinstance(k, int) for k in idx):
            whole.setdefault(len(idx), []).append(idx)
        else:
            t[idx] = 0.0
    for group in whole.values():
        t[tuple(torch.tensor(col, dtype=torch.long) for col in zip(*group))] = 0.0


def _apply_unit(model: nn.Module, dag: Dag, selection: Selection, verdict: Verdict,
                x: torch.Tensor | None) -> PrunedModel:
    mask = unit_mask(model, dag, verdict)
    pruned = copy.deepcopy(model)
    mask.apply_(pruned)
    x = x if x is not None else dag.meta.get("example_input")
    if x is None:
        raise ApplyError("unit-level pruning needs an example input to trace the pruned network; pass x=")
    # the pruned network's own unit graph (removed units keep their slot, with zero row and column), when asked
    return PrunedModel(pruned, mask, selection, verdict, UnitGraphLater(pruned, x, dag.name), dag)


# ---- op level ---------------------------------------------------------------------------


def _apply_op(model: nn.Module, dag: Dag, selection: Selection, verdict: Verdict,
              x: torch.Tensor | None) -> PrunedModel:
    from explorer.pruning.rewrite import dead_parameters, zero_arcs

    gm = dag.meta.get("graph_module")
    if gm is None:
        raise ApplyError(f"{dag.name or 'this model'} was traced without a torch.fx graph "
                         f"(tracer: {dag.meta.get('tracer', '?')}), so its ops cannot be rewritten; "
                         "prune at unit level, or make the model fx-traceable")
    x = x if x is not None else dag.meta.get("example_input")
    if x is None:
        raise ApplyError("op-level pruning needs an example input for the shapes of the zeros; pass x=")
    gone_nodes = set(verdict.removed_nodes)
    cut = [tuple(a.split("->")) for a in verdict.removed_arcs if a.split("->")[1] not in gone_nodes]
    base = copy.deepcopy(gm)
    _load_weights(base, model)
    pruned = zero_arcs(base, cut, x)
    pruned.eval() if not model.training else pruned.train()
    params = dict(pruned.named_parameters())
    mask = Mask({n: torch.ones_like(params[n], dtype=torch.float32, device="cpu") for n in prunable_names(pruned)})
    for name in dead_parameters(base, pruned):
        mask[name] = torch.zeros_like(params[name], dtype=torch.float32, device="cpu")
    mask.apply_(pruned)
    pdag = _op_dag(pruned, x, dag, verdict)
    return PrunedModel(pruned, mask, selection, verdict, pdag, dag, tuple(f"{s}->{d}" for s, d in cut))


def _load_weights(gm: nn.Module, model: nn.Module) -> None:
    """Copy `model`'s current parameters and buffers into the traced copy (same names)."""
    load_state(gm, model.state_dict(), f"{type(model).__name__} (the model the graph should be traced from)",
               error=ApplyError)


def _op_dag(pruned: nn.Module, x: torch.Tensor, dag: Dag, verdict: Verdict) -> Dag:
    """The pruned network's op-level DAG, traced from the rewritten graph itself (so it is
    exactly what runs); its nodes must be the surviving ones."""
    from explorer.graph.shapes import propagate
    from explorer.graph.fx_dag import dag_from_graph

    was = pruned.training
    pruned.eval()
    try:
        pdag = dag_from_graph(pruned, propagate(pruned, (x,)), dag.name, "fx-rewrite")
    finally:
        pruned.train(was)
    want = {n.id for n in dag.nodes} - set(verdict.removed_nodes)
    got = {n.id for n in pdag.nodes}
    if want != got:
        raise ApplyError(f"the rewritten graph does not have the surviving nodes: missing "
                         f"{sorted(want - got)[:5]}, extra {sorted(got - want)[:5]}")
    return pdag


def removal_counts(model: nn.Module, dag: Dag, verdict: Verdict, x: torch.Tensor | None = None) -> dict[str, int]:
    """What a (valid) verdict removes, before applying it: nodes, arcs, parameters zeroed and
    MACs saved. Unit level: counted on the masked copy (`cost`); op level: the removed ops'
    own parameters and MACs (as traced)."""
    out = {"nodes": len(verdict.removed_nodes), "arcs": len(verdict.removed_arcs), "params": 0, "macs": 0}
    if dag.granularity == "unit" and x is not None:
        from explorer.pruning.cost import cost

        mask = unit_mask(model, dag, verdict)
        masked = copy.deepcopy(model)
        mask.apply_(masked)
        from explorer.pruning.cost import dense_macs

        total = dense_macs(dag, model, x)  # the masked copy has the same architecture: one trace per graph
        before, after = cost(model, x, macs_total=total), cost(masked, x, macs_total=total)
        out["params"] = before.nonzero - after.nonzero
        out["macs"] = before.effective_macs - after.effective_macs
    else:
        for v in verdict.removed_nodes:
            n = dag.node(v)
            out["params"] += int(n.params)
            out["macs"] += int(n.macs)
    return out


def removes_nothing(pruned: PrunedModel) -> str:
    """Why `pruned` cannot be smaller or faster than the dense network — its mask keeps every entry and
    no removed op holds a parameter or does a multiply-add — or "" when the cut removes something.
    At op level an arc into an add or a concatenation is not a separable parameter group: cutting a skip
    connection replaces its input by zeros, and the layer that reads it keeps its whole kernel.

        >>> from explorer import models
        >>> from explorer.graph import build_dag
        >>> lm = models.load("mlp_skip")
        >>> dag = build_dag(lm, "op")
        >>> removes_nothing(apply(lm.model, dag, Selection.from_ids(dag, ["relu->add"]), lm.example_input))[:40]
        'this cut removes no parameters: arc relu'
        >>> removes_nothing(apply(lm.model, dag, Selection.from_ids(dag, ["fc3"]), lm.example_input))
        ''
    """
    if pruned.mask.kept < pruned.mask.total:
        return ""
    dag, v = pruned.dense_dag, pruned.verdict
    if any(dag.node(n).params or dag.node(n).macs for n in v.removed_nodes):
        return ""
    return no_gain_note(pruned.selection)


def no_gain_note(sel: Selection) -> str:
    """The words for a cut of `sel` that removes no parameter and no multiply-add (see `removes_nothing`)."""
    if sel.arcs and not sel.nodes:
        what = (f"arc{'s' * (len(sel.arcs) > 1)} {', '.join(sel.arcs[:3])}{' ...' if len(sel.arcs) > 3 else ''} "
                f"carr{'y' if len(sel.arcs) > 1 else 'ies'} no weight of its own — an arc into an add or a "
                "concatenation is not a separable parameter group: the input becomes zeros and the layer reading it "
                "keeps its whole kernel")
    else:
        what = "the ops it removes hold no parameters and do no multiply-adds"
    return f"this cut removes no parameters: {what}; so no speed-up is possible — it changes the function only"


# ---- compacted form ---------------------------------------------------------------------


def compacted(pruned: PrunedModel, x: torch.Tensor) -> nn.Module:
    """The physically smaller network: at op level the ops the rewrite removed take their
    submodules with them (`delete_all_unused_submodules`); then units/channels whose
    weights are all masked are removed by `compact.compact` (torch-pruning)."""
    import torch.fx as fx

    from explorer.pruning.compact import compact

    model = copy.deepcopy(pruned.model).eval()
    mask = pruned.mask
    if isinstance(model, fx.GraphModule):
        model.delete_all_unused_submodules()
        names = {n for n, _ in model.named_parameters()}
        mask = Mask({k: v for k, v in mask.items() if k in names})
    return compact(model, mask, x)
