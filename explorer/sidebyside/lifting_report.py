"""The lifting diff of a comparison, as rows a page or a notebook shows (`explorer.lifting.diff`):

- `level_rows(cmp)`: per level, the entries of `T_l` only in A, only in B, changed, and `|ΔT_l|`
  (IMP rounds: per layer, the weights each round's mask keeps and those pruned in between — the
  weights are the rewound init in both, so the entries of `T_l` differ exactly there);
- `arc_terms(cmp, seed)`: for a pruning at unit level, the exact change of the output at one input split
  by removed arc (`removed_arc_terms`), flagged where the activation pattern changes.
"""

from __future__ import annotations

from typing import Any

from explorer.lifting.base import LiftingError
from explorer.lifting.diff import ArcTerms, entry_diff, removed_arc_terms
from explorer.sidebyside.sides import Comparison


def _mask_rows(cmp: Comparison) -> list[dict[str, Any]]:
    ma, mb = cmp.a.mask, cmp.b.mask
    rows = []
    dag = cmp.a.dag
    names = list(mb if mb is not None else ma or [])
    for k in names:
        va = ma[k] if ma is not None and k in ma else None
        vb = mb[k] if mb is not None and k in mb else None
        ref = vb if vb is not None else va
        a_on = va.bool() if va is not None else ref.new_ones(ref.shape).bool()
        b_on = vb.bool() if vb is not None else ref.new_ones(ref.shape).bool()
        layer = k.rpartition(".")[0]
        node = next((n.id for n in dag.nodes if n.module == layer and n.params), layer)
        rows.append({"level": dag.level.get(node, -1), "node": node, "tensor": k, "kept in A": int(a_on.sum()),
                     "kept in B": int(b_on.sum()), "pruned A→B": int((a_on & ~b_on).sum()),
                     "restored A→B": int((~a_on & b_on).sum())})
    return sorted(rows, key=lambda r: (r["level"], r["tensor"]))


def _arc_rows(cmp: Comparison) -> list[dict[str, Any]]:
    """Structure only: the arcs (= off-diagonal entries) of each level in one graph and not the other."""
    a, b = cmp.a.dag, cmp.b.dag
    ea, eb = {x.id for x in a.arcs}, {x.id for x in b.arcs}
    rows = {}
    for ids, dag, col in ((ea - eb, a, "only in A"), (eb - ea, b, "only in B")):
        for i in ids:
            l = dag.level[i.split("->")[1]]
            rows.setdefault(l, {"level": l, "only in A": 0, "only in B": 0, "changed": 0, "|ΔT_l|": None})[col] += 1
    return [rows[l] for l in sorted(rows)]


def level_rows(cmp: Comparison) -> tuple[list[dict[str, Any]], str]:
    """(rows, how they were computed) of the per-level diff (see the module doc)."""
    if cmp.kind == "rounds":
        return _mask_rows(cmp), "masks of the two rounds, per weight tensor (a unit-level T_l entry per weight)"
    from explorer.lifting import lifting

    if cmp.a.dag.granularity == "block":
        return _arc_rows(cmp), "arcs of the block graphs (the lifting is defined at unit and op level)"
    try:
        diff = entry_diff(lifting(cmp.a.dag), lifting(cmp.b.dag), tol=1e-12,
                          rename_b=cmp.match.back if cmp.kind == "models" else None)
    except (LiftingError, KeyError) as e:
        return _arc_rows(cmp), f"arcs of the two graphs (their liftings could not be compared: {e})"
    rows = [{"level": d.level, "only in A": len(d.only_a), "only in B": len(d.only_b), "changed": len(d.changed),
             "|ΔT_l|": round(d.norm, 6)} for d in diff if d.n]
    how = ("T_l entries matched by (row, column) slot; |ΔT_l| the Frobenius norm of the difference"
           if cmp.a.dag.granularity == "unit" else "operator entries of T_l matched by (row, column) node — B's nodes "
           "renamed to their matches in A; an entry whose operator differs counts as changed")
    return rows, how


def arc_terms(cmp: Comparison, seed: int = 0) -> ArcTerms:
    """The output change at one input (`explorer.lifting.inputs.view_input(dag, seed)`) when B's removed arcs
    are pruned from A (A dense, unit level)."""
    from explorer.lifting import NumericLifting
    from explorer.lifting.inputs import view_input

    if cmp.a.dag.granularity != "unit":
        raise LiftingError("the output change by removed arc needs the unit level (real T_l); switch to unit")
    if cmp.a.removed_arcs or cmp.a.mask is not None:
        raise LiftingError("side A must be the dense network (round 0) for the output change by removed arc")
    if not cmp.b.removed_arcs:
        raise LiftingError("side B removes no arc of A")
    x = view_input(cmp.a.dag, seed)
    return removed_arc_terms(NumericLifting(cmp.a.dag, x), cmp.b.removed_arcs, x[0])
