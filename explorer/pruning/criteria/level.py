"""Level-based pruning through the DAG-DNN structure (docs/science.md §1, §3).

Two modes (`level_mode` option):
- "deepest": prune the weights/arcs/units of the highest levels first;
- "span": prune the arcs spanning the most levels first (long skip arcs first).
Within a level (or span) the smaller |w| goes first.

Levels come from a unit-level `Dag` (`explorer.graph.unit.unit_dag`: unit nodes carry
`meta={"weight", "row"}`, arcs `meta={"param", "index"}`: the weight's own index, [out, in], or
[in, out] for a transposed conv). Without one, the
"deepest" mode uses each layer's position in the forward pass as its level — exact for
chains, a proxy where branches run side by side; "span" needs the graph.
"""

from __future__ import annotations

import torch

from explorer.pruning.criteria.base import Context, Criterion, CriterionError

MODES = ("deepest", "span")


def _levels_from_dag(ctx: Context) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """weight name -> (out, in) head level and span, from the unit DAG's arcs (NaN where unknown)."""
    p = ctx.params()
    dag = ctx.dag
    assert dag is not None
    head: dict[str, torch.Tensor] = {}
    span: dict[str, torch.Tensor] = {}
    for l in ctx.layers:
        w = p[l.weight]
        shape = (w.shape[1], w.shape[0]) if l.kind == "convT" else (w.shape[0], w.shape[1])
        head[l.weight] = torch.full(shape, float("nan"), dtype=torch.float64)
        span[l.weight] = torch.full(shape, float("nan"), dtype=torch.float64)
    kinds = {l.weight: l.kind for l in ctx.layers}
    for a in dag.arcs:
        param, index = a.meta.get("param"), a.meta.get("index")
        if param in head and index is not None and len(index) == 2:
            # the arc indexes its weight as laid out: (in, out) for a transposed conv; an entry may be a list
            # (a channel flattened into several inputs of a Linear)
            o, i = (index[1], index[0]) if kinds[param] == "convT" else (index[0], index[1])
            at = tuple(torch.as_tensor(x) if isinstance(x, list) else int(x) for x in (o, i))
            if all(int(torch.as_tensor(x).max()) < n for x, n in zip(at, head[param].shape)):
                head[param][at] = dag.level[a.dst]
                span[param][at] = dag.level[a.dst] - dag.level[a.src]
    return head, span


def level_scores(ctx: Context) -> dict[str, torch.Tensor]:
    mode = ctx.options.get("level_mode", "deepest")
    if mode not in MODES:
        raise CriterionError(f"level_mode {mode!r} is not one of {MODES}")
    p = ctx.params()
    unit_dag = ctx.dag is not None and ctx.dag.granularity == "unit"
    if mode == "span" and not unit_dag:
        raise CriterionError("level_mode='span' needs the unit-level graph (pass dag=explorer.graph.unit.unit_dag(...)); "
                             "without it use level_mode='deepest'")
    head, span = _levels_from_dag(ctx) if unit_dag else ({}, {})
    out = {}
    for l in ctx.layers:
        w = p[l.weight].detach().double().abs()
        wt = w.transpose(0, 1) if l.kind == "convT" else w  # (out, in, k...)
        mag = wt / wt.max().clamp_min(1e-30) * 0.5  # in [0, 0.5]: the tie-break within a level
        extra = [1] * (wt.dim() - 2)
        proxy = float(l.order + 1)
        if mode == "deepest":
            lv = head.get(l.weight)
            lv = torch.full(wt.shape[:2], proxy, dtype=torch.float64) if lv is None else torch.nan_to_num(lv, nan=proxy)
        else:
            lv = torch.nan_to_num(span[l.weight], nan=1.0)
        s = -lv.reshape(*lv.shape, *extra) + mag
        out[l.weight] = s.transpose(0, 1).contiguous() if l.kind == "convT" else s
    return out


LEVEL = Criterion(
    "level", "prune by position in the DAG: the deepest levels first, or (level_mode='span') the arcs that "
    "span the most levels (long skips) first",
    "Hwang, Representation and decomposition of functions in DAG-DNNs and structural network pruning, "
    "arXiv 2306.09707 (2023)",
    ("weights", "units", "arcs"), weight_scores=level_scores, reduce="mean")
