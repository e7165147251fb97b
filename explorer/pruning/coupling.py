"""Coupled channels: which units must go together, read from torch-pruning's `DependencyGraph`.

In a ResNet the channels of a residual stream are one unit across every conv that writes
into it; in a DenseNet a channel reaches every later BatchNorm through the concatenations.
`coupled_groups(model, x, layers)` walks the dependency graph once and returns, for every
group of coupled channels, the parameter slices that belong to each unit: its own entries
(incoming weights, bias, BatchNorm scale and shift: role "out") and the entries that read
it (the next layers' columns: role "in"). The criteria mask these slices; compaction
removes them. Groups that cannot be pruned unit-wise come back with the reason.

    >>> from explorer import models
    >>> lm = models.load("resnet_tiny")
    >>> groups, skipped, _ = coupled_groups(lm.model, lm.example_input, find_layers(lm.model, lm.example_input))
    >>> [(g.name, g.size) for g in groups][:2], skipped
    ([('stem.0', 8), ('block1.conv1', 8)], {})
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d) + CONV_T
PRUNABLE = (nn.Linear,) + CONV
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class CouplingError(ValueError):
    """A model torch-pruning cannot trace for its coupled channels; the message says what to prune instead."""


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
        raise CouplingError(f"{type(model).__name__} has no Linear or Conv layer that runs in forward(); "
                            "there is nothing to prune")
    last = order[-1]
    # a tied weight (an LLM's lm_head reading its token embedding's) is one parameter, named once in
    # named_parameters() by its first owner: the layer names it so, or no mask or score could find it
    canon = {id(p): n for n, p in model.named_parameters()}
    out = []
    for i, m in enumerate(seen):
        kind = "convT" if isinstance(m, CONV_T) else "conv" if isinstance(m, CONV) else "linear"
        n = names[m]
        bias = getattr(m, "bias", None)
        out.append(Layer(n, canon.get(id(m.weight), f"{n}.weight" if n else "weight"),
                         canon.get(id(bias), f"{n}.bias" if n else "bias") if bias is not None else None,
                         i, m is last, kind))
    return out


def emptied_arcs(dag: Any, mask: Mapping[str, torch.Tensor]) -> list[str]:
    """The ids of the unit-level arcs of `dag` whose weight `mask` empties: a Linear entry, or a whole conv
    kernel, or all the entries a flattened channel feeds. An arc's `index` indexes its weight as the weight
    is laid out (a transposed conv's is (in, out, ...): the unit graph records (in, out) for it), so no
    layer needs a swap; one of its two entries may be a list (a channel flattened into several inputs)."""
    out = []
    for a in dag.arcs:
        param, index = a.meta.get("param"), a.meta.get("index")
        if param not in mask or index is None or len(index) != 2 or mask[param].dim() < 2:
            continue
        at = tuple(torch.as_tensor(i) if isinstance(i, list) else int(i) for i in index)
        if not bool(mask[param][at].any()):
            out.append(a.id)
    return out


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
    """`size` coupled units, named by the layer that roots the group (e.g. "block1.conv1").

    `norms` lists every BatchNorm on these channels as (module name, idx, root), affine or not
    (compaction must know what each maps 0 to); `handle` is torch-pruning's (root module, pruning
    function) for removing units of the group."""

    name: str
    size: int
    slices: tuple[Slice, ...]
    producers: tuple[str, ...]  # layers whose output channels these units are
    norms: tuple[tuple[str, torch.Tensor, torch.Tensor], ...] = ()
    handle: Any = field(default=None, compare=False, repr=False)

    def out_weight_slices(self, weights: set[str]) -> list[Slice]:
        return [s for s in self.slices if s.role == "out" and s.param in weights]


def rows_of(t: torch.Tensor, dim: int, idx: torch.Tensor) -> torch.Tensor:
    """(m, rest) view of `t` indexed by `idx` along `dim`: one row per indexed unit."""
    return t.movedim(dim, 0)[idx].reshape(len(idx), -1)


def dependency_graph(model: nn.Module, x: torch.Tensor) -> Any:
    """torch-pruning's `DependencyGraph` of `model` at input `x` (tracing failures become `CouplingError`)."""
    import torch_pruning as tp

    try:  # a trial model whose shapes break is expected during compaction: keep fx's printed traceback quiet
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            return tp.DependencyGraph().build_dependency(model, example_inputs=x)
    except Exception as e:  # noqa: BLE001 - tracing failures come in many types
        raise CouplingError(f"torch-pruning could not trace {type(model).__name__} to find coupled channels: "
                            f"{type(e).__name__}: {e}; prune weights or arcs instead of units") from e


def coupled_groups(model: nn.Module, x: torch.Tensor, layers: list[Layer], dg: Any = None
                   ) -> tuple[list[UnitGroup], dict[str, str], Any]:
    """`(groups, skipped, dg)`: the prunable unit groups of `model` (rooted at layers that run on `x`,
    in forward order), the groups that cannot be pruned unit-wise with the reason (e.g. a LayerNorm
    normalises over the channels, so removing one changes the others), and the dependency graph
    (built here unless given; the model is traced as it is, so pass a private copy).

    The output layer's units are never candidates (they are the model's outputs)."""
    dg = dg if dg is not None else dependency_graph(model, x)
    groups: list[UnitGroup] = []
    skipped: dict[str, str] = {}
    for name, g, reason in iter_groups(model, layers, dg):
        if reason:
            skipped[name] = reason
        elif g is not None:
            groups.append(g)
    rank = {l.name: l.order for l in layers}
    groups.sort(key=lambda u: rank[u.name])
    return groups, skipped, dg


def iter_groups(model: nn.Module, layers: list[Layer], dg: Any) -> Iterator[tuple[str, UnitGroup | None, str]]:
    """`(name, group or None, reason)` for each coupled group, read lazily from `dg`: a caller that
    prunes a group before asking for the next (compaction) sees the next one's indices as they
    are after that pruning."""
    names = {m: n for n, m in model.named_modules()}
    pnames = {id(p): n for n, p in model.named_parameters()}
    by_name = dict(model.named_modules())
    output = [by_name[l.name] for l in layers if l.is_output]
    ran = {l.name for l in layers}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = dg.get_all_groups(ignored_layers=output, root_module_types=PRUNABLE)
    for g in raw:
        root_mod = g[0].dep.target.module
        gname = names.get(root_mod, type(root_mod).__name__)
        if gname not in ran:
            continue
        slices: list[Slice] = []
        norms: list[tuple[str, torch.Tensor, torch.Tensor]] = []
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
                if isinstance(mod, NORMS):
                    norms.append((names.get(mod, "?"), idx, root))
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
                norms.append((mname, idx, root))
                if mod.affine:
                    slices.append(Slice(f"{mname}.weight", 0, idx, root, "out"))
                    slices.append(Slice(f"{mname}.bias", 0, idx, root, "out"))
            else:
                reason = (f"{mname} ({type(mod).__name__}) acts across these channels; removing one "
                          "would change the others")
                break
        if reason:
            yield gname, None, reason
        elif producers:
            yield gname, UnitGroup(gname, len(g[0].idxs), tuple(slices), tuple(producers), tuple(norms),
                                   (root_mod, g[0].dep.handler)), ""
