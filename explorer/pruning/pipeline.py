"""The prune pipeline, once for every caller: realise a selection or a criterion's proposal on a
copy of the model, compact it, check the compacted form against the masked one, time the
three forms and export the result. The Prune page and `python -m explorer prune` both call
`run`; what they show is its `PruneResult` (the CLI prints `result.summary` as JSON).

A selection (node and arc ids, from the graph, filters or shortcuts) is applied with
`apply.apply`; a criterion's proposal is applied as its mask (`apply.from_mask`), its ids
recorded beside it — except op-level arc proposals, which carry no mask and are applied as
the selection they are.

    >>> import tempfile
    >>> from explorer import models
    >>> from explorer.graph import build_dag
    >>> from explorer.pruning.criteria import propose
    >>> lm = models.load("mlp")
    >>> dag = build_dag(lm, "unit")
    >>> p = propose(lm, "magnitude", 0.5, target="units", dag=dag)
    >>> r = run(lm, dag, proposal=p, out=tempfile.mkdtemp(), spec="mlp", seed=0, repeats=5, onnx=False)
    >>> r.summary["params"]["compacted"] < r.summary["params"]["dense"], r.diff < 1e-5
    (True, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer.graph.dag import Dag
from explorer.pruning.apply import PrunedModel, apply, compacted, from_mask, removes_nothing
from explorer.pruning.compact import probes
from explorer.pruning.cost import dense_macs
from explorer.pruning.export import export
from explorer.pruning.latency import NOTE, compare, untimed
from explorer.pruning.selection import Selection

Progress = Callable[[str, float], None]  # (what is happening, fraction done)


class PipelineError(ValueError):
    """A prune request that names nothing to prune, or both a selection and a proposal."""


@dataclass
class PruneResult:
    """What one prune produced: the pruned (masked) model, its compacted form, the dense/masked/
    compacted table, the compacted-vs-masked difference on probe inputs, the export directory and
    the summary document (the CLI's `--json`)."""

    pruned: PrunedModel
    compacted: nn.Module
    table: list[dict[str, Any]]
    diff: float
    out: Path
    summary: dict[str, Any]

    @property
    def nothing(self) -> str:
        """Why the cut cannot be smaller or faster (`apply.removes_nothing`; then nothing was timed), or ""."""
        return self.summary.get("removes_nothing", "")

    def __repr__(self) -> str:
        return f"PruneResult({self.pruned!r} -> {self.out})"


def realise(lm: Any, dag: Dag, selection: Selection | None = None, proposal: Any = None) -> PrunedModel:
    """The pruned model of a selection or a proposal (exactly one of them); the model is not changed.
    Raises `InvalidSelection` for a refused selection (nothing is touched)."""
    if (selection is None) == (proposal is None):
        raise PipelineError("give either a selection (node/arc ids) or a criterion's proposal, not both or neither")
    x = lm.example_input
    if proposal is not None:
        sel = proposal.selection
        if not len(proposal.mask) and sel is not None and not sel.is_empty():  # op-level arcs: a graph rewrite
            return apply(lm.model, dag, sel, x)
        keep = sel if sel is not None and sel.granularity == dag.granularity else None
        return from_mask(lm.model, dag, proposal.mask, x, selection=keep)
    if selection.is_empty():
        raise PipelineError("the selection is empty: select nodes or arcs, or propose with a criterion")
    return apply(lm.model, dag, selection, x)


def run(lm: Any, dag: Dag, *, out: str | Path, spec: str, seed: int, selection: Selection | None = None,
        proposal: Any = None, repeats: int = 20, onnx: bool = True, progress: Progress | None = None) -> PruneResult:
    """Realise, compact, check, time and export (see the module doc). `lm` is the dense
    `LoadedModel` the graph `dag` was built from; `spec`/`seed` name it in the export."""
    say = progress or (lambda what, frac: None)
    if Path(out).exists() and not Path(out).is_dir():
        from explorer.pruning.export import ExportError

        raise ExportError(f"--out {out} is a file; give a directory to export the pruned model into (it is created)")
    x = lm.example_input
    say("applying the selection", 0.0)
    pruned = realise(lm, dag, selection, proposal)
    nothing = removes_nothing(pruned)  # said before compaction, and nothing is timed: same size, no speed-up
    if nothing:
        say(nothing, 0.1)
    say("compacting (removing emptied units)", 0.2)
    comp = compacted(pruned, x)
    with torch.no_grad():
        xs = probes(x.detach(), n=3, seed=1)
        diff = float((comp.eval()(xs) - pruned.model.eval()(xs)).abs().max())
    dense = lm.model.eval()
    form = "rewritten" if pruned.rewrites else "masked"
    known = {"dense": dense_macs(dag, dense, x)}  # one trace per graph; a masked copy has the dense architecture
    if form == "masked":
        known["masked"] = known["dense"]
    if nothing:
        table = untimed(dense, pruned.model, comp, x, nothing, pruned_form=form, macs=known)
    else:
        say("timing dense, masked and compacted", 0.4)
        table = compare(dense, pruned.model, comp, x, repeats=repeats, pruned_form=form, macs=known)
    say("exporting", 0.8)
    extra: dict[str, Any] = {}
    if proposal is not None:
        extra["proposal"] = proposal.summary()
        if len(proposal.mask):
            extra["mask_only"] = True
    path = export(pruned, out, spec=spec, seed=seed, x=x, dense=dense, onnx=onnx, extra=extra)
    say("done", 1.0)
    summary = _summary(spec, dag, pruned, table, diff, path, proposal)
    if nothing:
        summary["removes_nothing"] = nothing
    return PruneResult(pruned, comp, table, diff, path, summary)


def _summary(spec: str, dag: Dag, pruned: PrunedModel, table: list[dict[str, Any]], diff: float, out: Path,
             proposal: Any) -> dict[str, Any]:
    by = {r["form"]: r for r in table}
    sparsity: dict[str, Any] = {"weights": pruned.weight_sparsity(), "mask": pruned.mask.sparsity}
    if proposal is not None:
        sparsity.update(requested=proposal.config.sparsity, achieved=proposal.achieved)
    return {
        "ok": True,
        "model": spec,
        "granularity": dag.granularity,
        "out": str(out),
        "removed": {"nodes": len(pruned.verdict.removed_nodes), "arcs": len(pruned.verdict.removed_arcs)},
        "params": {"dense": by["dense"]["params"], "pruned_nonzero": table[1]["nonzero_params"],
                   "compacted": by["compacted"]["params"]},
        "macs": {"dense": by["dense"]["macs"], table[1]["form"]: table[1]["macs"], "compacted": by["compacted"]["macs"]},
        "sparsity": sparsity,
        "compacted_vs_masked_max_abs_diff": diff,
        "latency_ms": {r["form"]: r["latency_ms"] for r in table},
        "noisy": [r["form"] for r in table if r["noisy"]],
        "table": table,
        "note": NOTE,
        **({"proposal": proposal.summary()} if proposal is not None else {}),
    }
