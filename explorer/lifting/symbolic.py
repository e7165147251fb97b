"""The symbolic lifting decomposition at op level: entries are operators, evaluated with the traced ops.

Each traced tensor is a node; `T(l)` lists the entries of the rows of level-`l` nodes as
`Entry(row, col, label, kind)` — a conv, an `add` input ("id"), a slot of a `cat`; a node that
combines its inputs non-additively (mul, matmul, attention) has *joint* entries spanning all
its input columns, marked `joint=True`. The diagonal is the implicit 1 of every lifting step.

`compose(x)` evaluates the graph level by level, each level's nodes computed only from
values of lower levels with the fx node's own op — the op-level form of
`z_L = Phi_L T_L ... Phi_1 T_1 z_0`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from torch import fx

from explorer.graph.dag import Dag
from explorer.graph.ops import ADDITIVE, SLOT_OPS
from explorer.lifting.base import Lifting, LiftingError



class Entry(NamedTuple):
    """One off-diagonal entry of T_l: the arc function from column node `col` into row node `row`."""

    row: str
    col: str
    label: str
    kind: str  # linear | identity | nonlinear | joint

    @property
    def joint(self) -> bool:
        return self.kind == "joint"


class SymbolicLifting(Lifting):
    """Operator-valued T_l of an op-level DAG, and its level-by-level evaluation."""

    kind = "symbolic"

    def __init__(self, dag: Dag):
        super().__init__(dag)
        self.gm: fx.GraphModule | None = dag.meta.get("graph_module")
        self._entries: list[list[Entry]] = [[] for _ in range(self.L + 1)]
        for a in dag.arcs:
            self._entries[dag.level[a.dst]].append(Entry(a.dst, a.src, a.label, a.kind))
        for es in self._entries:
            es.sort(key=lambda e: (self.pos[e.row], self.pos[e.col]))

    def with_dtype(self, dtype: torch.dtype) -> SymbolicLifting:
        """A copy evaluating with a copy of the graph module cast to `dtype` (e.g. float64 for verification)."""
        out = copy.copy(self)
        if self.gm is not None:
            out.gm = copy.deepcopy(self.gm).to(dtype)
        return out

    # ---- the matrices -----------------------------------------------------------------
    def T(self, l: int, x: Any = None) -> list[Entry]:
        """The off-diagonal entries of T_l (rows: level-l nodes; the unit diagonal is implicit)."""
        return list(self._entries[self._check_level(l)])

    def joint_rows(self, l: int) -> list[str]:
        """Level-l nodes whose entries are joint (their inputs combine non-additively)."""
        return sorted({e.row for e in self.T(l) if e.joint}, key=self.pos.get)

    def assert_lower_triangular(self) -> None:
        """Every entry lies below the diagonal in the (level, index) order; raise `LiftingError` otherwise."""
        for l in range(1, self.L + 1):
            for e in self._entries[l]:
                if self.pos[e.col] >= self.pos[e.row]:
                    raise LiftingError(f"T_{l} has the entry {e.col}->{e.row} on or above the diagonal; "
                                       "an arc points up the node order")
                if self.dag.level[e.col] >= l:
                    raise LiftingError(f"T_{l} reads {e.col}, of level {self.dag.level[e.col]} >= {l}: a lifting step "
                                       "may only read lower levels")

    def node_matrix(self, l: int) -> tuple[list[str], np.ndarray]:
        """(ids, M): M[i, j] = 1 where T_l has an entry (and on the diagonal), else 0; labels via `labels(l)`."""
        n = len(self.order)
        M = np.eye(n)
        for e in self.T(l):
            M[self.pos[e.row], self.pos[e.col]] = 1.0
        return list(self.order), M

    def labels(self, l: int) -> dict[tuple[str, str], str]:
        """(row id, col id) -> operator label of each entry of T_l (joint entries end with ' [joint]')."""
        return {(e.row, e.col): e.label + (" [joint]" if e.joint else "") for e in self.T(l)}

    def _pattern(self, l: int) -> sp.csr_matrix:
        n = len(self.order)
        r = [self.pos[e.row] for e in self._entries[l]]
        c = [self.pos[e.col] for e in self._entries[l]]
        return (sp.identity(n, dtype=np.int64, format="csr")
                + sp.csr_matrix((np.ones(len(r), dtype=np.int64), (r, c)), shape=(n, n))).tocsr()

    def product(self, lo: int = 1, hi: int | None = None, x: Any = None) -> sp.csr_matrix:
        """The pattern of T_hi ... T_lo: entry (v, u) = number of paths u -> v through levels lo..hi
        (diagonal 1), i.e. which inputs each node depends on between those levels."""
        lo, hi = self._check_range(lo, self.L if hi is None else hi)
        P = sp.identity(len(self.order), dtype=np.int64, format="csr")
        for l in range(lo, hi + 1):
            P = (self._pattern(l) @ P).tocsr()
        return P

    # ---- evaluation -------------------------------------------------------------------
    def _fx_nodes(self) -> dict[str, fx.Node]:
        if self.gm is None:
            raise LiftingError(f"{self.dag.name or 'this graph'} was traced without an fx graph (the recording "
                               f"fallback, tracer={self.dag.meta.get('tracer')!r}); its matrices can be shown but "
                               "not evaluated")
        return {n.name: n for n in self.gm.graph.nodes}

    def _evaluate(self, x: Any, upto: int | None = None,
                  cut: Callable[[str, str], bool] | None = None) -> dict[str, Any]:
        """Values of the DAG's nodes, level by level; `cut(src, dst)` says an input is replaced by zeros."""
        fxn = self._fx_nodes()
        args_in = tuple(x) if isinstance(x, (tuple, list)) else (x,)
        placeholders = [n for n in self.gm.graph.nodes if n.op == "placeholder"]
        in_dag = set(self.order)
        env: dict[str, Any] = {}
        folded: dict[str, Any] = {}

        def value(a: fx.Node, dst: str) -> Any:
            if a.name in in_dag:
                if a.name not in env:
                    raise LiftingError(f"node {dst} needs {a.name}, which is not of a lower level: the level order "
                                       "does not respect the data flow")
                v = env[a.name]
                if cut is not None and cut(a.name, dst):
                    if not isinstance(v, torch.Tensor):
                        raise LiftingError(f"cannot zero the input {a.name} of {dst}: it is not a tensor")
                    return torch.zeros_like(v)
                return v
            if a.name not in folded:  # a constant sub-graph (parameters, literals) folded into the arc
                folded[a.name] = run(a, a.name)
            return folded[a.name]

        def run(n: fx.Node, dst: str) -> Any:
            if n.op == "placeholder":
                k = placeholders.index(n)
                if k < len(args_in):
                    return args_in[k]
                return n.args[0] if n.args else None
            args = fx.node.map_arg(n.args, lambda a: value(a, dst))
            kwargs = fx.node.map_arg(n.kwargs, lambda a: value(a, dst))
            if n.op == "output":
                return args[0]
            if n.op == "get_attr":
                v: Any = self.gm
                for part in str(n.target).split("."):
                    v = getattr(v, part)
                return v
            if n.op == "call_function":
                return n.target(*args, **kwargs)
            if n.op == "call_method":
                return getattr(args[0], n.target)(*args[1:], **kwargs)
            return self.gm.get_submodule(str(n.target))(*args, **kwargs)

        last = self.L if upto is None else upto
        with torch.no_grad():
            for l, ids in enumerate(self.level_nodes[:last + 1]):
                for i in ids:
                    if i not in fxn:
                        raise LiftingError(f"node {i} is not in the traced graph module; the DAG and its "
                                           "graph_module disagree")
                    env[i] = run(fxn[i], i)
        return env

    def compose(self, x: Any) -> Any:
        """The network evaluated level by level through the lifting steps: the value of the output node."""
        env = self._evaluate(x)
        outs = self.dag.outputs
        return env[outs[0]] if len(outs) == 1 else tuple(env[o] for o in outs)

    def function_at(self, node_id: str, x: Any, removed_nodes: Any = (), removed_arcs: Any = ()) -> Any:
        """The value at `node_id` of the sub-architecture without `removed_nodes`/`removed_arcs`.

        A removed input of an additive node (add/sub) or a slot of a cat becomes zeros
        (`add(x, 0) = x`); removing any other input raises `LiftingError` naming the node that loses it.
        """
        self.dag.node(node_id)
        nodes, arcs = self._check_removed(removed_nodes, removed_arcs)
        cut_pairs = set(arcs) | {(a.src, a.dst) for a in self.dag.arcs if a.src in nodes}
        for u, v in sorted(cut_pairs):
            if v in nodes:
                continue
            op = self.dag.node(v).op
            if op not in ADDITIVE and op not in SLOT_OPS:
                raise LiftingError(f"removing {u}->{v} leaves node {v} ({op}) without its input {u}; only inputs of "
                                   f"add/sub or cat slots can be zeroed — remove {v} as well, or keep {u}->{v}")
        if node_id in nodes:
            raise LiftingError(f"node {node_id} is itself removed; ask for a node that remains")
        env = self._evaluate(x, upto=self.dag.level[node_id], cut=lambda u, v: (u, v) in cut_pairs)
        return env[node_id]

    def __repr__(self) -> str:
        n_joint = sum(e.joint for es in self._entries for e in es)
        n = sum(len(es) for es in self._entries)
        return (f"Lifting({self.dag.name or '?'}, op: {len(self.order)} nodes, T_1..T_{self.L}, {n} symbolic "
                f"entries, {n_joint} joint)")
