"""The lifting diff of two graphs: which entries of `T_l` differ, per level, and by how much; and, for a
pruning at unit level, the exact change of the output at an input split by removed arc.

**Per-level entry diff** (`entry_diff(La, Lb)`): the two liftings' arc entries are matched by (row node,
column node) — slot names at unit level, node ids at op level — and grouped by the level of the row in
the first graph. Unit level compares values (`|ΔT|`, the Frobenius norm of each arc's block); op level
compares which operator entries exist (an op entry is a function, not a number).

**Output change by removed arc** (`removed_arc_terms(L, removed, x)`): at `x` a piecewise-linear net
with its activation pattern fixed is linear in its state: `z = M z + c` with `M` the levels'
`D_l(x) (A_l + P_l(x))`. Removing arcs takes `M` to `M' = M − ΔM`, and

    z' − z = −(I − M')⁻¹ ΔM z,   so   out' − out = − Σ_(u→v) removed  R'_v · f_uv(x_u),

where `f_uv(x_u)` is the arc's term at the dense state and `R'_v = ∂out/∂pre_v` in the *pruned*
network (backward partial products of the pruned steps). Each term is the path sum over the
input→…→u→v→…→out paths whose last removed arc is u→v (upstream dense, downstream pruned), so the
terms add up to the exact change with no path counted twice. (With the dense `R_v` instead, the terms
are the first-order change; they double count the paths through two removed arcs in series and agree
with these only when no path holds two removed arcs — `first_order=True` gives them.) The sum is
exact while the activation pattern holds: the units whose pattern flips in the pruned network at `x`
are listed and the result is flagged, with the residual against the pruned network's own forward.

    >>> import torch
    >>> from explorer.graph.unit import unit_dag
    >>> _ = torch.manual_seed(0)  # weights for which removing the arc keeps the ReLU pattern at x = (1, 1)
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)).double()
    >>> from explorer.lifting import NumericLifting
    >>> L = NumericLifting(unit_dag(net, torch.ones(1, 2, dtype=torch.float64), "tiny"))
    >>> t = removed_arc_terms(L, [("x[0]", "0[0]")], torch.ones(2, dtype=torch.float64))
    >>> t.exact, bool(abs(t.total() - (t.pruned_out - t.dense_out)).max() < 1e-12)
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from explorer.lifting.base import Lifting, LiftingError
from explorer.lifting.numeric import NumericLifting

TOL = 1e-9  # relative to the output's scale: the residual above which the sum is not the change


@dataclass(frozen=True)
class LevelDiff:
    """One level of the diff: entries (row, column) only in A, only in B, and changed in value (unit level)."""

    level: int
    only_a: tuple[tuple[str, str], ...]
    only_b: tuple[tuple[str, str], ...]
    changed: dict[tuple[str, str], float] = field(default_factory=dict)  # |Δ| of entries in both
    norm: float = 0.0  # Frobenius norm of ΔT_l (unit level; op level: the square root of the entries differing)

    @property
    def n(self) -> int:
        return len(self.only_a) + len(self.only_b) + len(self.changed)


def _entries(L: Lifting) -> dict[tuple[str, str], tuple[int, Any]]:
    """(row node or slot, column node or slot) -> (level of the row, value) of every arc entry (op level: the
    operator's label)."""
    out: dict[tuple[str, str], tuple[int, Any]] = {}
    if isinstance(L, NumericLifting):
        names = L.slot_names()
        A = L.A.tocoo()
        for r, c, v in zip(A.row, A.col, A.data):
            out[(names[r], names[c])] = (int(L.slot_level[r]), float(v))
        return out
    for l in range(1, L.L + 1):
        for e in L.T(l):
            out[(e.row, e.col)] = (l, e.label)
    return out


def entry_diff(a: Lifting, b: Lifting, tol: float = 0.0, rename_b: dict[str, str] | None = None) -> list[LevelDiff]:
    """Per level of `a` (levels 1..L), the entries of `T_l` that differ between `a` and `b` (see the module
    doc); an entry only in `b` is placed at its own level in `b`. Both at the same granularity. `rename_b`
    maps node ids of `b` to those of `a` (two models' matched nodes, `explorer.graph.match`)."""
    if a.granularity != b.granularity:
        raise LiftingError(f"cannot diff a {a.granularity}-level lifting with a {b.granularity}-level one: "
                           "build both graphs at the same granularity")
    ea, eb = _entries(a), _entries(b)
    if rename_b:
        eb = {(rename_b.get(r, r), rename_b.get(c, c)): v for (r, c), v in eb.items()}
    levels = max(a.L, b.L)
    only_a: list[list] = [[] for _ in range(levels + 1)]
    only_b: list[list] = [[] for _ in range(levels + 1)]
    changed: list[dict] = [{} for _ in range(levels + 1)]
    sq = np.zeros(levels + 1)
    num = isinstance(a, NumericLifting)
    size = (lambda v: v * v) if num else (lambda v: 1.0)  # noqa: E731 - op level: count the entries
    for k, (l, v) in ea.items():
        if k not in eb:
            only_a[l].append(k)
            sq[l] += size(v)
        elif (abs(eb[k][1] - v) > tol) if num else eb[k][1] != v:
            changed[l][k] = abs(eb[k][1] - v) if num else 1.0
            sq[l] += changed[l][k] ** 2
    for k, (l, v) in eb.items():
        if k not in ea:
            only_b[l].append(k)
            sq[l] += size(v)
    return [LevelDiff(l, tuple(only_a[l]), tuple(only_b[l]), changed[l], float(np.sqrt(sq[l])))
            for l in range(1, levels + 1)]


@dataclass(frozen=True)
class ArcTerms:
    """The output change at `x` split by removed arc (see the module doc)."""

    dense_out: np.ndarray  # (n_out,)
    pruned_out: np.ndarray  # (n_out,), the pruned network's own forward (the lifting with the arcs removed)
    terms: dict[str, np.ndarray]  # arc id -> (n_out,)
    flipped: tuple[str, ...]  # slots whose activation pattern differs in the pruned network at x
    piecewise_linear: bool
    residual: float  # max |pruned_out − dense_out − Σ terms|

    def total(self) -> np.ndarray:
        return np.sum(list(self.terms.values()), axis=0) if self.terms else np.zeros_like(self.dense_out)

    @property
    def exact(self) -> bool:
        """The sum of the terms is the output change: piecewise-linear activations and no pattern flip."""
        return self.piecewise_linear and not self.flipped

    def table(self) -> list[dict[str, Any]]:
        """One row per removed arc, largest |term| first: its id, the norm of its term, the term itself."""
        rows = [{"arc": k, "|Δout|": float(np.abs(v).sum()), "Δout": v.tolist()} for k, v in self.terms.items()]
        return sorted(rows, key=lambda r: -r["|Δout|"])


def _steps(L: NumericLifting, x: Any) -> tuple[list[sp.csr_matrix], list[np.ndarray]]:
    """Per level l: B_l (n_l, N) = the off-diagonal level-l rows of T_l(x) (arcs, biases, max-pool
    selections), and d_l (n_l,) the activation slopes at x."""
    B, d = [sp.csr_matrix((0, L.N))], [np.zeros(0)]
    for l in range(1, L.L + 1):
        rows = L.rows[l]
        T = L.T(l, x).tocsr()[rows]
        B.append((T - sp.identity(L.N, format="csr")[rows]).tocsr())
        d.append(L.D(l, x).diagonal()[rows])
    return B, d


def _slots(L: NumericLifting, node: str) -> np.ndarray:
    return np.arange(L.start[node], L.start[node] + L.size[node])


def _mask(L: NumericLifting, removed: list[tuple[str, str]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per level: the (local row, column) pairs (k, 2) of the entries the removed arcs own, and the index of
    the arc (k,) in `removed` each pair belongs to."""
    pairs: list[list] = [[] for _ in range(L.L + 1)]
    owner: list[list] = [[] for _ in range(L.L + 1)]
    local = np.zeros(L.N, dtype=np.int64)
    for l in range(1, L.L + 1):
        local[L.rows[l]] = np.arange(len(L.rows[l]))
    for k, (u, v) in enumerate(removed):
        l = L.dag.level[v]
        r, c = np.meshgrid(local[_slots(L, v)], _slots(L, u), indexing="ij")
        pairs[l].append(np.stack([r.ravel(), c.ravel()], 1))
        owner[l].append(np.full(r.size, k))
    return [(np.concatenate(p) if p else np.zeros((0, 2), dtype=np.int64),
             np.concatenate(o) if o else np.zeros(0, dtype=np.int64)) for p, o in zip(pairs, owner)]


def _without(B: sp.csr_matrix, pairs: np.ndarray) -> sp.csr_matrix:
    if not len(pairs):
        return B
    keep = sp.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=B.shape)
    return (B - B.multiply(keep)).tocsr()


def removed_arc_terms(L: NumericLifting, removed: Any, x: Any, *, first_order: bool = False) -> ArcTerms:
    """The change of the output at one input `x` when the arcs `removed` ('u->v' ids or (u, v) pairs) are
    pruned, split by arc (see the module doc). `first_order=True` uses the dense network's ∂out/∂pre_v
    (the linearisation, exact for a single arc)."""
    if not isinstance(L, NumericLifting):
        raise LiftingError("the output change by removed arc is computed at unit level (real matrices); "
                           "build the graph with granularity 'unit'")
    _, arcs = L._check_removed((), removed)
    arcs = sorted(arcs, key=lambda a: (L.dag.level[a[1]], a))
    xx = torch.as_tensor(x, dtype=torch.float64)
    z = L.state(xx)
    B, d = _steps(L, xx)
    masks = _mask(L, arcs)
    Bp = [B[0]] + [_without(B[l], masks[l][0]) for l in range(1, L.L + 1)]
    n_out = len(L.out_slots)
    Q = np.zeros((L.N, n_out))  # ∂out/∂z_s, through every later use
    Q[L.out_slots, np.arange(n_out)] = 1.0
    R = np.zeros((L.N, n_out))  # ∂out/∂pre_s
    steps = B if first_order else Bp
    for l in range(L.L, 0, -1):  # the level-l rows are final: only higher levels read them
        rows = L.rows[l]
        R[rows] = d[l][:, None] * Q[rows]
        Q += steps[l].T @ R[rows]
    per_arc = np.zeros((len(arcs), n_out))
    for l in range(1, L.L + 1):
        pairs, owner = masks[l]
        if not len(pairs):
            continue
        vals = np.asarray(B[l][pairs[:, 0], pairs[:, 1]]).ravel() * z[pairs[:, 1]]  # f_uv(x_u), entry by entry
        np.add.at(per_arc, owner, -R[L.rows[l][pairs[:, 0]]] * vals[:, None])  # − R'_v f_uv(x_u)
    terms = {f"{u}->{v}": per_arc[k] for k, (u, v) in enumerate(arcs)}
    dense_out = z[L.out_slots]
    names = L.slot_names()
    pruned_out = np.concatenate([L.function_at(o, xx, removed_arcs=arcs).numpy().reshape(-1)
                                 for o in dict.fromkeys(names[s].split(":")[0] for s in L.out_slots)])
    flipped = _flips(L, Bp, d, xx)
    pwl = all(g.phi.piecewise_linear for g in L.net.groups.values())
    total = np.sum(list(terms.values()), axis=0) if terms else np.zeros(n_out)
    residual = float(np.abs(pruned_out - dense_out - total).max()) if n_out else 0.0
    return ArcTerms(dense_out, pruned_out, terms, flipped, pwl, residual)


def _flips(L: NumericLifting, Bp: list[sp.csr_matrix], d: list[np.ndarray], x: torch.Tensor) -> tuple[str, ...]:
    """Slots whose activation slope at x differs between the pruned network (steps `Bp`, the dense max-pool
    selections) and the dense one."""
    z = np.zeros(L.N)
    z[0] = 1.0
    z[L.in_slots] = x.reshape(-1).numpy()
    z[L.const_slots] = L.state(x)[L.const_slots]
    names = L.slot_names()
    flips = []
    for l in range(1, L.L + 1):
        rows = L.rows[l]
        pre = torch.from_numpy(Bp[l] @ z)
        for k, s in enumerate(rows):
            phi = L.net.groups[L.dag.node(L.order[L.node_of_slot[s - 1]]).meta["group"]].phi
            z[s] = float(phi.fn(pre[k:k + 1]))
            if float(phi.slope(pre[k:k + 1])) != d[l][k]:
                flips.append(names[s])
    return tuple(flips)
