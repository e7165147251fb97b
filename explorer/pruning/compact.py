"""Compaction: physically remove the units/channels a mask has emptied (docs/science.md §3).

A masked network still runs dense kernels that multiply zeros. `compact` finds every
unit whose value is identically zero — all incoming weights zero in every layer that
writes into it (for coupled channels: every conv feeding a residual add or a concat),
its bias zero, and every BatchNorm on it mapping 0 to 0 — and removes it with
torch-pruning's `DependencyGraph`, which also removes the matching input channels of
the next layers, BatchNorm entries, the slices of concatenations and flattened features.
Weights pruned without emptying a whole unit stay in the smaller model as zeros.

The result must compute the same function as the masked model. `compact` checks this on
probe inputs (the example input plus seeded random ones); a group whose removal would
change the output (e.g. a channel that a sigmoid maps to 0.5, or a split torch-pruning
mis-traces) is left masked instead, and the report says so.

    >>> from explorer import models
    >>> from explorer.pruning.criteria import propose
    >>> lm = models.load("mlp")
    >>> p = propose(lm, "magnitude", 0.5, target="units")
    >>> small = compact(lm.model, p.mask, lm.example_input)
    >>> [m.out_features for m in small.hidden], small.out.in_features
    ([50, 50], 50)
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from explorer.pruning.mask import Mask
from explorer.pruning.coupling import UnitGroup, dependency_graph, find_layers, iter_groups, rows_of


class CompactError(ValueError):
    """A model that cannot be traced for compaction; the message names the cause and the fix."""


@dataclass
class CompactReport:
    """What `compact` removed: units per group (named by its root layer), and groups left masked with why."""

    removed: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    max_abs_diff: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"removed": self.removed, "sizes": self.sizes, "refused": self.refused,
                "max_abs_diff": self.max_abs_diff}


def masked_copy(model: nn.Module, mask: Mask | None) -> nn.Module:
    """A deep copy of `model` in eval mode with `mask` applied (the model itself is untouched)."""
    m = copy.deepcopy(model).eval()
    if mask is not None:
        mask.apply_(m)
    return m


def probes(x: torch.Tensor, n: int = 3, seed: int = 0) -> torch.Tensor:
    """The example input followed by `n` seeded random inputs of the same shape (for float inputs)."""
    if not torch.is_floating_point(x):
        return x
    g = torch.Generator().manual_seed(seed)
    return torch.cat([x, torch.randn((n, *x.shape[1:]), generator=g, dtype=x.dtype)])


def compact(model: nn.Module, mask: Mask | None, example_input: torch.Tensor, *,
            atol: float = 1e-5, rtol: float = 1e-4) -> nn.Module:
    """A smaller dense model computing what `mask` applied to `model` computes (see the module doc)."""
    return compact_with_report(model, mask, example_input, atol=atol, rtol=rtol)[0]


def compact_with_report(model: nn.Module, mask: Mask | None, example_input: torch.Tensor, *,
                        atol: float = 1e-5, rtol: float = 1e-4) -> tuple[nn.Module, CompactReport]:
    """`compact`, plus a `CompactReport` of what was removed and what was left masked."""
    masked = masked_copy(model, mask)
    xs = probes(example_input.detach())
    with torch.no_grad():
        ref = masked(xs)
    tol = atol + rtol * float(ref.abs().max())

    work, report, plan = _prune(masked, example_input, accept=None)
    diff = _diff(work, xs, ref)
    if diff > tol:  # some group changed the function: redo group by group, keeping the ones that verify
        accepted: list[tuple[str, list[int]]] = []
        refused = dict(report.refused)
        for name, idxs in plan:
            trial, _, _ = _prune(masked, example_input, accept=accepted + [(name, idxs)])
            d = _diff(trial, xs, ref)
            if d <= tol:
                accepted.append((name, idxs))
            else:
                refused[name] = (f"removing {len(idxs)} empty unit(s) would change the output by {d:.2e} "
                                 "(a non-linearity or coupling that does not map 0 to 0); left masked")
        work, report, _ = _prune(masked, example_input, accept=accepted)
        report.refused.update(refused)
        diff = _diff(work, xs, ref)
    report.max_abs_diff = diff
    return work, report


def _diff(model: nn.Module, xs: torch.Tensor, ref: torch.Tensor) -> float:
    try:  # a trial that breaks the shapes is expected here; fx would print its traceback: keep it quiet
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            y = model(xs)
    except Exception:  # a mis-pruned shape: as wrong as it gets
        return float("inf")
    if y.shape != ref.shape:
        return float("inf")
    return float((y - ref).abs().max())


def _prune(masked: nn.Module, x: torch.Tensor, accept: list[tuple[str, list[int]]] | None
           ) -> tuple[nn.Module, CompactReport, list[tuple[str, list[int]]]]:
    """Remove the empty units of a copy of `masked`. With `accept` given, remove only those
    (root layer, unit indices) pairs; else every empty unit found. Returns the model, a
    report and the plan [(root layer, indices)] that was carried out."""
    work = copy.deepcopy(masked).eval()
    report = CompactReport()
    plan: list[tuple[str, list[int]]] = []
    try:
        dg = dependency_graph(work, x)
        wanted = dict(accept) if accept is not None else None
        for name, g, why in iter_groups(work, find_layers(work, x), dg):  # lazily: each after the last prune
            if g is None:
                report.refused[name] = why
                continue
            report.sizes[g.name] = g.size
            if wanted is not None:
                if g.name not in wanted:
                    continue
                dead = wanted[g.name]
            else:
                dead = _empty_units(work, g)
                if len(dead) == g.size:  # keep one (zero) channel: a layer needs an output
                    dead = dead[:-1]
            if not dead:
                continue
            root, handler = g.handle
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pg = dg.get_pruning_group(root, handler, dead)
                if not dg.check_pruning_group(pg):
                    report.refused[g.name] = f"torch-pruning refuses to remove {len(dead)} of {g.size} units"
                    continue
                pg.prune()
            report.removed[g.name] = len(dead)
            plan.append((g.name, list(dead)))
    except Exception as e:
        raise CompactError(f"torch-pruning could not trace or prune {type(masked).__name__}: "
                           f"{type(e).__name__}: {e}; use the masked model instead") from e
    return work, report, plan


@torch.no_grad()
def _empty_units(model: nn.Module, g: UnitGroup) -> list[int]:
    """Units of a coupled group whose value is identically zero: every producer's row and bias
    entry is zero, and every BatchNorm on the channel maps 0 to 0."""
    params = dict(model.named_parameters())
    modules = dict(model.named_modules())
    alive = torch.zeros(g.size, dtype=torch.bool)
    for s in g.slices:
        if s.role != "out" or s.param.rpartition(".")[0] not in g.producers:
            continue
        alive[s.root[rows_of(params[s.param], s.dim, s.idx).abs().sum(1) != 0]] = True
    for name, idx, root in g.norms:
        alive[root[_norm_shift(modules[name])[idx] != 0]] = True
    return torch.nonzero(~alive).flatten().tolist()


def _norm_shift(bn: nn.Module) -> torch.Tensor:
    """What an eval-mode BatchNorm outputs for a channel that is identically 0."""
    c = bn.num_features
    w = bn.weight if bn.affine else torch.ones(c)
    b = bn.bias if bn.affine else torch.zeros(c)
    if bn.running_mean is None:  # batch statistics even in eval: a constant channel normalises to 0
        return b.detach().clone()
    return (b - bn.running_mean * w / torch.sqrt(bn.running_var + bn.eps)).detach()


# ---------------------------------------------------------------------------------------
# Summary: params, non-zero params, MACs
# ---------------------------------------------------------------------------------------


def count(model: nn.Module, x: torch.Tensor, macs: int | None = None) -> dict[str, int]:
    """Parameters, non-zero parameters and MACs per example (`explorer.graph.macs.count_macs`: the
    same count as the graph pages and `levels`) at input `x`; `macs` when the caller knows them (a trace
    saved: `cost.dense_macs` of the dense graph is also the masked copy's)."""
    from explorer.pruning.cost import count_macs

    nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    return {"params": int(sum(p.numel() for p in model.parameters())), "nonzero_params": nonzero,
            "macs": count_macs(model, x) if macs is None else int(macs)}


def compact_summary(dense: nn.Module, masked: nn.Module, compacted: nn.Module, x: torch.Tensor) -> dict[str, Any]:
    """Counts for the three forms and how far the compacted output is from the masked one.

    Masked MACs equal dense MACs: dense kernels multiply the zeros too."""
    with torch.no_grad():
        diff = float((compacted.eval()(x) - masked.eval()(x)).abs().max())
    out: dict[str, Any] = {f: count(m, x) for f, m in (("dense", dense), ("masked", masked), ("compacted", compacted))}
    out["max_abs_diff"] = diff
    out["mac_reduction"] = out["dense"]["macs"] / max(1, out["compacted"]["macs"])
    out["param_reduction"] = out["dense"]["params"] / max(1, out["compacted"]["params"])
    return out
