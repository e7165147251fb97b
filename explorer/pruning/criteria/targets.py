"""What a criterion can prune: weights, arcs (unit-level: one weight or one k×k kernel) and
units (neurons/channels), and how element scores become group scores and groups a `Mask`.

- `find_layers(model, x)`: the Linear/Conv layers in forward order, the last one marked
  as the output layer.
- `unit_groups(model, x, layers)`: the prunable units. A unit is a channel of a *coupled*
  group, found with torch-pruning's `DependencyGraph`: in a ResNet the channels of a
  residual stream are one unit across every conv that writes into it; in a DenseNet a
  channel reaches every later BatchNorm through the concatenations. Removing a unit zeros
  its rows (incoming weights, bias, BatchNorm scale and shift) in every producer and its
  columns in every consumer, so the masked network equals the compacted one.
- `unit_scores`, `arc_scores`: reduce element scores to group scores.
- `weights_mask`, `arcs_mask`, `units_mask`: pruned groups -> `Mask`.

    >>> from explorer import zoo
    >>> lm = zoo.load("mlp")
    >>> [(l.name, l.is_output) for l in find_layers(lm.model, lm.example_input)]
    [('hidden.0', False), ('hidden.1', False), ('out', True)]
    >>> groups, skipped = unit_groups(lm.model, lm.example_input)
    >>> [(g.name, g.size) for g in groups], skipped
    ([('hidden.0', 100), ('hidden.1', 100)], {})
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from explorer.mask import Mask

CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d) + CONV_T
PRUNABLE = (nn.Linear,) + CONV
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class TargetError(ValueError):
    """A model whose units or arcs cannot be enumerated; the message says which layer and why."""


@dataclass(frozen=True)
class Layer:
    """A Linear/Conv layer: its module name, weight/bias parameter names, forward order."""

    name: str
    weight: str
    bias: str | None
    order: int
    is_output: bool
    kind: str  # "linear" | "conv" | "convT"

    @property
    def out_dim(self) -> int:
        """Axis of the weight indexing output units (1 for transposed convs, else 0)."""
        return 1 if self.kind == "convT" else 0


def find_layers(model: nn.Module, x: torch.Tensor) -> list[Layer]:
    """Linear/Conv layers in the order a forward pass on `x` first runs them; the last run is the output layer.

    Layers never run on `x` are left out (they cannot affect the output)."""
    order: list[nn.Module] = []
    hooks = [m.register_forward_hook(lambda mod, i, o: order.append(mod))
             for m in model.modules() if isinstance(m, PRUNABLE)]
    was = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    names = {m: n for n, m in model.named_modules()}
    seen: list[nn.Module] = []
    for m in order:
        if m not in seen:
            seen.append(m)
    if not seen:
        raise TargetError(f"{type(model).__name__} has no Linear or Conv layer that runs in forward(); "
                          "there is nothing to prune")
    last = order[-1]
    out = []
    for i, m in enumerate(seen):
        kind = "convT" if isinstance(m, CONV_T) else "conv" if isinstance(m, CONV) else "linear"
        n = names[m]
        out.append(Layer(n, f"{n}.weight" if n else "weight",
                         (f"{n}.bias" if n else "bias") if getattr(m, "bias", None) is not None else None,
                         i, m is last, kind))
    return out


# ---------------------------------------------------------------------------------------
# Units: coupled channel groups (torch-pruning's dependency graph)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slice:
    """Positions `idx` along axis `dim` of parameter `param`, each belonging to unit `root[j]`.

    role "out": the unit's own entries (incoming weights, bias, BatchNorm scale/shift);
    role "in": a consumer's entries that read the unit (the next layer's columns)."""

    param: str
    dim: int
    idx: torch.Tensor  # (m,) long
    root: torch.Tensor  # (m,) long, unit index in [0, size)
    role: str


@dataclass(frozen=True)
class UnitGroup:
    """`size` coupled units, named by the layer that roots the group (e.g. "block1.conv1")."""

    name: str
    size: int
    slices: tuple[Slice, ...]
    producers: tuple[str, ...]  # layers whose output channels these units are

    def out_weight_slices(self, weights: set[str]) -> list[Slice]:
        return [s for s in self.slices if s.role == "out" and s.param in weights]


def unit_groups(model: nn.Module, x: torch.Tensor,
                layers: list[Layer] | None = None) -> tuple[list[UnitGroup], dict[str, str]]:
    """The prunable unit groups of `model` and, for groups that cannot be pruned unit-wise,
    the reason (e.g. a LayerNorm normalises over the channels, so removing one changes the others).

    The output layer's units are never candidates (they are the model's outputs)."""
    import torch_pruning as tp

    layers = layers if layers is not None else find_layers(model, x)
    work = copy.deepcopy(model).eval()
    names = {m: n for n, m in work.named_modules()}
    pnames = {id(p): n for n, p in work.named_parameters()}
    by_name = dict(work.named_modules())
    output = [by_name[l.name] for l in layers if l.is_output]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dg = tp.DependencyGraph().build_dependency(work, example_inputs=x)
            raw = list(dg.get_all_groups(ignored_layers=output, root_module_types=PRUNABLE))
    except Exception as e:  # tracing failures come in many types
        raise TargetError(f"torch-pruning could not trace {type(model).__name__} to find coupled channels: "
                          f"{type(e).__name__}: {e}; prune weights or arcs instead of units") from e
    ran = {l.name for l in layers}
    groups: list[UnitGroup] = []
    skipped: dict[str, str] = {}
    for g in raw:
        root_mod = g[0].dep.target.module
        gname = names.get(root_mod, type(root_mod).__name__)
        if gname not in ran:
            continue
        size = len(g[0].idxs)
        slices: list[Slice] = []
        producers: list[str] = []
        reason = ""
        for item in g.items:
            mod, fn = item.dep.target.module, item.dep.handler
            idx = torch.as_tensor(list(item.idxs), dtype=torch.long)
            root = torch.as_tensor(list(item.root_idxs), dtype=torch.long)
            if isinstance(mod, nn.Parameter):
                reason = f"parameter {pnames.get(id(mod), '?')} is coupled to these channels"
                break
            if not isinstance(mod, nn.Module) or not any(True for _ in mod.parameters(recurse=False)):
                continue  # element-wise ops, concat, reshape: no parameters of their own
            mname = names.get(mod, "?")
            if isinstance(mod, PRUNABLE):
                if getattr(mod, "groups", 1) != 1:
                    reason = f"{mname} is a grouped convolution (groups={mod.groups})"
                    break
                t_dim = 1 if isinstance(mod, CONV_T) else 0
                if dg.is_out_channel_pruning_fn(fn):
                    producers.append(mname)
                    slices.append(Slice(f"{mname}.weight", t_dim, idx, root, "out"))
                    if mod.bias is not None:
                        slices.append(Slice(f"{mname}.bias", 0, idx, root, "out"))
                elif dg.is_in_channel_pruning_fn(fn):
                    slices.append(Slice(f"{mname}.weight", 1 - t_dim, idx, root, "in"))
            elif isinstance(mod, NORMS):
                if mod.affine:
                    slices.append(Slice(f"{mname}.weight", 0, idx, root, "out"))
                    slices.append(Slice(f"{mname}.bias", 0, idx, root, "out"))
            else:
                reason = (f"{mname} ({type(mod).__name__}) acts across these channels; removing one "
                          "would change the others")
                break
        if reason:
            skipped[gname] = reason
        elif producers:
            groups.append(UnitGroup(gname, size, tuple(slices), tuple(producers)))
    rank = {l.name: l.order for l in layers}
    groups.sort(key=lambda g: rank[g.name])
    return groups, skipped


def _rows(t: torch.Tensor, dim: int, idx: torch.Tensor) -> torch.Tensor:
    """(m, rest) view of `t` indexed by `idx` along `dim`."""
    return t.movedim(dim, 0)[idx].reshape(len(idx), -1)


def unit_scores(groups: list[UnitGroup], scores: dict[str, torch.Tensor], reduce: str) -> dict[str, torch.Tensor]:
    """Per-unit score: the element scores of each unit's incoming weights (all producers), summed or averaged."""
    out = {}
    for g in groups:
        tot = torch.zeros(g.size, dtype=torch.float64)
        cnt = torch.zeros(g.size, dtype=torch.float64)
        for s in g.out_weight_slices(set(scores)):
            r = _rows(scores[s.param].double(), s.dim, s.idx)  # (m, fan_in)
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
