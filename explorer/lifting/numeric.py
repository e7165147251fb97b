"""The numeric lifting decomposition at unit level: sparse unit lower-triangular `T_l`, masks `D_l(x)`.

Slots: 0 is the constant 1 (biases live in column 0); then every unit node's block (1 for a
neuron, H*W for a channel) in `dag.order()`. All arcs are gathered once into one strictly
lower-triangular sparse matrix `A` (N x N); `T_l = I + A[rows of level l]`. Max-pool arcs
add a selection `P_l(x)` to those rows (the max-pool linearised at `x`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from explorer.graph.dag import Dag
from explorer.lifting.base import Lifting, LiftingError
from explorer.lifting.views import aggregate_slots
from explorer.graph.unit.net import Group, UnitNet


class NumericLifting(Lifting):
    """Real matrices of a unit-level DAG. `N` slots; `T(l)` and `D(l, x)` are `scipy.sparse` CSR (N, N)."""

    kind = "numeric"

    def __init__(self, dag: Dag, x: torch.Tensor | None = None):
        super().__init__(dag)
        net: UnitNet | None = dag.meta.get("unit_net")
        if net is None:
            raise LiftingError("this unit-level DAG carries no numeric network (dag.meta['unit_net']); "
                               "build it with explorer.graph.unit.unit_dag")
        self.net = net
        sizes = np.array([dag.node(n).meta["size"] for n in self.order], dtype=np.int64)
        starts = 1 + np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.N = int(1 + sizes.sum())
        self.start = {n: int(s) for n, s in zip(self.order, starts)}
        self.size = {n: int(s) for n, s in zip(self.order, sizes)}
        self.node_of_slot = np.repeat(np.arange(len(self.order)), sizes)  # slot-1 -> node position
        self.slot_level = np.concatenate([[0], np.repeat([dag.level[n] for n in self.order], sizes)])
        self.gslots = {g.name: self._group_slots(g) for g in net.groups.values()}
        self.in_slots = self.gslots[net.input]
        self.out_slots = self.gslots[net.output]
        self.A = self._assemble()  # (N, N) strictly lower-triangular, bias in column 0
        self.rows = [np.nonzero(self.slot_level == l)[0] for l in range(self.L + 1)]
        self.A_rows = [self.A[r] for r in self.rows]  # (n_l, N) each
        self._segments = [self._phi_segments(l) for l in range(self.L + 1)]
        self._pools = [self._pool_segments(l) for l in range(self.L + 1)]
        self.const_slots = np.array([s for s in self.rows[0] if s != 0 and s not in set(self.in_slots)], dtype=int)
        self.x = self._one(x if x is not None else net.example_input)
        self._at: tuple[bytes, Any] | None = None

    # ---- layout -----------------------------------------------------------------------
    def _group_slots(self, g: Group) -> np.ndarray:
        return np.concatenate([self.start[g.node_id(k)] + np.arange(g.block) for k in range(g.units)])

    def _assemble(self) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for g in self.net.groups.values():
            gs = self.gslots[g.name]
            for s, t in g.terms.items():
                coo = t.W.tocoo()
                rows.append(gs[coo.row])
                cols.append(self.gslots[s][coo.col])
                vals.append(coo.data)
            if g.b is not None and g.role != "input":
                nz = np.nonzero(g.b)[0]
                rows.append(gs[nz])
                cols.append(np.zeros(len(nz), dtype=np.int64))
                vals.append(g.b[nz])
        A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(self.N, self.N))
        A.eliminate_zeros()
        coo = A.tocoo()
        up = coo.col >= coo.row
        if up.any():  # validate at construction: every entry must read a slot earlier in the node order
            k = int(np.nonzero(up)[0][0])
            raise LiftingError(f"the unit network writes slot {self.slot_name(coo.row[k])} from "
                               f"{self.slot_name(coo.col[k])}, which is not earlier in the (level, index) order; "
                               "its DAG is missing that arc — rebuild it with explorer.graph.unit.unit_dag")
        return A

    def _phi_segments(self, l: int) -> list[tuple[np.ndarray, Any]]:
        rows = self.rows[l]
        if l == 0:
            return []
        seg: dict[str, list[int]] = {}
        phis: dict[str, Any] = {}
        for k, s in enumerate(rows):
            g = self.dag.node(self.order[self.node_of_slot[s - 1]]).meta["group"]
            seg.setdefault(g, []).append(k)
            phis[g] = self.net.groups[g].phi
        return [(np.array(v), phis[g]) for g, v in seg.items()]

    def _pool_segments(self, l: int) -> list[tuple[Group, np.ndarray, np.ndarray]]:
        """Max-pool groups with units at level l: (group, flat rows of the group at l, their local row index)."""
        out = []
        local = {int(s): k for k, s in enumerate(self.rows[l])}
        for g in self.net.groups.values():
            if g.pool is None:
                continue
            flat = np.nonzero(self.slot_level[self.gslots[g.name]] == l)[0]
            if len(flat):
                out.append((g, flat, np.array([local[int(s)] for s in self.gslots[g.name][flat]])))
        return out

    def _one(self, x: Any) -> np.ndarray:
        t = torch.as_tensor(x).detach().to(torch.float64)
        shape = self.net.input_shape
        if tuple(t.shape) == shape:
            return t.reshape(-1).numpy().copy()
        if tuple(t.shape) == (1, *shape):
            return t.reshape(-1).numpy().copy()
        raise LiftingError(f"input of shape {tuple(t.shape)} does not fit the model's per-sample input {shape}: "
                           "give one sample (with or without the batch dimension)")

    def _batch(self, x: Any) -> np.ndarray:
        t = torch.as_tensor(x).detach().to(torch.float64)
        shape = self.net.input_shape
        if tuple(t.shape) == shape:
            t = t.unsqueeze(0)
        if tuple(t.shape[1:]) != shape:
            raise LiftingError(f"input of shape {tuple(t.shape)} does not fit the model's input (B, {shape})")
        return t.reshape(t.shape[0], -1).numpy()

    # ---- evaluation -------------------------------------------------------------------
    def _pool_rows(self, l: int, z: np.ndarray, keep: np.ndarray | None = None) -> sp.csr_matrix:
        """P_l(z): the max-pool selections of level-l rows, in global columns (n_l, N)."""
        n_l = len(self.rows[l])
        if not self._pools[l]:
            return sp.csr_matrix((n_l, self.N))
        rr, cc = [], []
        for g, flat, local in self._pools[l]:
            src = self.net.groups[g.pool_src]
            S = g.pool.selection(z[self.gslots[src.name]], src.shape)[flat].tocoo()
            rr.append(local[S.row])
            cc.append(self.gslots[src.name][S.col])
        r, c = np.concatenate(rr), np.concatenate(cc)
        P = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(n_l, self.N))
        if keep is not None:  # removed pool arcs: zero their rows
            P = sp.diags(keep.astype(float)) @ P
        return P.tocsr()

    def _run(self, x: np.ndarray, A_rows: list[sp.csr_matrix] | None = None, upto: int | None = None,
             pool_keep: list[np.ndarray] | None = None) -> tuple[np.ndarray, list[np.ndarray], list[sp.csr_matrix]]:
        """z_L for one sample, with each level's pre-activations and max-pool selections."""
        A_rows = A_rows or self.A_rows
        z = np.zeros(self.N)
        z[0] = 1.0
        z[self.in_slots] = x
        for s in self.const_slots:  # units with no in-arc: phi(bias)
            z[s] = self._phi_at(s)(torch.tensor([self.A[s, 0]], dtype=torch.float64)).item()
        pres: list[np.ndarray] = [np.zeros(0)]
        pools: list[sp.csr_matrix] = [sp.csr_matrix((0, self.N))]
        for l in range(1, (upto if upto is not None else self.L) + 1):
            P = self._pool_rows(l, z, None if pool_keep is None else pool_keep[l])
            pre = A_rows[l] @ z + P @ z  # (n_l,), the level-l rows of T_l(x) z (their slots were 0)
            z[self.rows[l]] = self._phi(l, pre)
            pres.append(pre)
            pools.append(P)
        return z, pres, pools

    def _phi_at(self, s: int) -> Any:
        return self.net.groups[self.dag.node(self.order[self.node_of_slot[s - 1]]).meta["group"]].phi

    def _phi(self, l: int, pre: np.ndarray, slope: bool = False) -> np.ndarray:
        out = np.empty_like(pre)
        t = torch.from_numpy(pre)
        for idx, phi in self._segments[l]:
            f = phi.slope if slope else phi.fn
            out[idx] = f(t[idx]).detach().numpy()
        return out

    def _state(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list[sp.csr_matrix]]:
        key = x.tobytes()
        if self._at is None or self._at[0] != key:
            self._at = (key, self._run(x))
        return self._at[1]

    # ---- the matrices -----------------------------------------------------------------
    def T(self, l: int, x: Any = None) -> sp.csr_matrix:
        """T_l (N, N), unit lower-triangular; with max-pool arcs, T_l(x) (at `x`, default the lifting's x)."""
        self._check_level(l)
        xx = self.x if x is None else self._one(x)
        _, _, pools = self._state(xx)
        B = (self.A_rows[l] + pools[l]).tocoo()
        off = sp.csr_matrix((B.data, (self.rows[l][B.row], B.col)), shape=(self.N, self.N))
        return (sp.identity(self.N, format="csr") + off).tocsr()

    def D(self, l: int, x: Any = None) -> sp.csr_matrix:
        """D_l(x) (N, N) diagonal: the activation slopes phi'(pre) on level-l slots, 1 elsewhere (ReLU: 0/1)."""
        self._check_level(l)
        xx = self.x if x is None else self._one(x)
        _, pres, _ = self._state(xx)
        d = np.ones(self.N)
        d[self.rows[l]] = self._phi(l, pres[l], slope=True)
        return sp.diags(d, format="csr")

    def assert_lower_triangular(self) -> None:
        """Check every T_l is unit lower-triangular; raise `LiftingError` naming the first bad entry."""
        for l in range(1, self.L + 1):
            T = self.T(l).tocoo()
            off = T.row != T.col
            bad = off & (T.col > T.row)
            if bad.any():
                k = np.nonzero(bad)[0][0]
                raise LiftingError(f"T_{l} has an entry above the diagonal at row {self.slot_name(T.row[k])}, column "
                                   f"{self.slot_name(T.col[k])}: an arc points up the node order")
            diag = np.zeros(self.N)
            np.add.at(diag, T.row[~off], T.data[~off])
            if not np.all(diag == 1):
                k = int(np.nonzero(diag != 1)[0][0])
                raise LiftingError(f"T_{l} has diagonal {diag[k]} at slot {self.slot_name(k)}; a lifting step "
                                   "must keep 1 on the diagonal (a node must not feed itself)")

    def slot_name(self, s: int) -> str:
        if s == 0:
            return "1"
        node = self.order[self.node_of_slot[s - 1]]
        return node if self.size[node] == 1 else f"{node}:{s - self.start[node]}"

    def slot_names(self) -> list[str]:
        return [self.slot_name(s) for s in range(self.N)]

    def node_matrix(self, l: int) -> tuple[list[str], np.ndarray]:
        """Node-by-node view of T_l for heatmaps: the real entry of scalar arcs, the Frobenius norm of
        blocks (kernels), 1 on the diagonal, exact zeros where there is no arc. (ids, (n, n) array)."""
        self._check_level(l)
        _, _, pools = self._state(self.x)
        B = (self.A_rows[l] + pools[l]).tocoo()
        S = sp.csr_matrix((B.data, (self.rows[l][B.row], B.col)), shape=(self.N, self.N))
        M = aggregate_slots(self, S)
        np.fill_diagonal(M, 1.0)
        return list(self.order), M

    def product(self, lo: int = 1, hi: int | None = None, x: Any = None) -> sp.csr_matrix:
        """T_hi ... T_lo (N, N); with `x` given, the masked product M_hi ... M_lo, M_l = D_l(x) T_l(x)."""
        lo, hi = self._check_range(lo, self.L if hi is None else hi)
        P = sp.identity(self.N, format="csr")
        for l in range(lo, hi + 1):
            M = self.T(l, x)
            if x is not None:
                M = self.D(l, x) @ M
            P = (M @ P).tocsr()
        return P

    def product_paths(self, lo: int = 1, hi: int | None = None) -> np.ndarray:
        """T_hi ... T_lo by path counting (teaching view): entry (v, u) = sum over paths u -> ... -> v
        whose nodes after u lie in levels lo..hi of the product of arc weights (u = slot 0: the bias).
        Needs scalar arcs (neurons); a dense (N, N) array."""
        lo, hi = self._check_range(lo, self.L if hi is None else hi)
        if any(self.size[n] != 1 for n in self.order):
            raise LiftingError("product_paths needs scalar arcs (neurons); this graph has channel blocks — "
                               "use product(lo, hi)")
        if any(a.kind == "nonlinear" for a in self.dag.arcs):
            raise LiftingError("product_paths is defined for linear arcs; this graph has max-pool arcs")
        P = np.eye(self.N)
        bias = self.A[:, 0].toarray().ravel()
        for v in self.order:  # in level order, so every predecessor row is final
            if not lo <= self.dag.level[v] <= hi:
                continue
            s = self.start[v]
            row = np.zeros(self.N)
            row[s] = 1.0
            row[0] += bias[s]
            for a in self.dag.in_arcs(v):
                row += a.weight * P[self.start[a.src]]
            P[s] = row
        return P

    def compose(self, x: Any) -> torch.Tensor:
        """Phi_L T_L ... Phi_1 T_1 z_0 for each sample of `x`: the output slots, shaped like the model's output."""
        X = self._batch(x)
        out = np.stack([self._run(xi)[0][self.out_slots] for xi in X])
        return torch.from_numpy(out).reshape(len(X), *self.net.output_shape)

    def state(self, x: Any) -> np.ndarray:
        """z_L (N,) for one sample: every node's value in its slots."""
        return self._run(self._one(x))[0].copy()

    def function_at(self, node_id: str, x: Any, removed_nodes: Any = (), removed_arcs: Any = ()) -> torch.Tensor:
        """The value at `node_id` (per sample, its block shape) of the sub-architecture without `removed_nodes`
        (rows and columns zeroed) and `removed_arcs` ('src->dst' or pairs; their entries zeroed)."""
        self.dag.node(node_id)
        nodes, arcs = self._check_removed(removed_nodes, removed_arcs)
        A = self.A.tocoo()
        pos = self.pos
        node_r = np.where(A.row > 0, self.node_of_slot[np.maximum(A.row - 1, 0)], -1)
        node_c = np.where(A.col > 0, self.node_of_slot[np.maximum(A.col - 1, 0)], -1)
        drop = np.zeros(A.nnz, dtype=bool)
        gone = np.array(sorted(pos[n] for n in nodes), dtype=np.int64)
        if len(gone):
            drop |= np.isin(node_r, gone) | np.isin(node_c, gone)
        if arcs:
            n = len(self.order)
            keys = np.array([pos[u] * n + pos[v] for u, v in arcs], dtype=np.int64)
            drop |= np.isin(node_c.astype(np.int64) * n + node_r, keys) & (node_c >= 0)
        Am = sp.csr_matrix((A.data[~drop], (A.row[~drop], A.col[~drop])), shape=A.shape)
        A_rows = [Am[r] for r in self.rows]
        pool_keep = []
        for l in range(self.L + 1):
            keep = np.ones(len(self.rows[l]), dtype=bool)
            for g, flat, local in self._pools[l]:  # a max-pool unit has one in-arc, from the same channel
                src = self.net.groups[g.pool_src]
                for f, k in zip(flat, local):
                    c = int(f) // g.block
                    u, v = src.node_id(c), g.node_id(c)
                    keep[k] = not (v in nodes or u in nodes or (u, v) in arcs)
            pool_keep.append(keep)
        out = []
        lvl = self.dag.level[node_id]
        s0, n0 = self.start[node_id], self.size[node_id]
        for xi in self._batch(x):
            z, _, _ = self._run(xi, A_rows, upto=lvl, pool_keep=pool_keep)
            out.append(z[s0:s0 + n0])
        shape = self.dag.node(node_id).shape or (1,)
        return torch.from_numpy(np.stack(out)).reshape(len(out), *shape)

    def local_map(self, x: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The local affine map at one sample x: P(x) = M_L ... M_1 (M_l = D_l(x) T_l(x)) on the columns of the
        bias and the inputs only. Returns (J, offset): J (n_out, n_in) is the input-output Jacobian at x, offset
        (n_out,) the bias column (the exact affine offset for piecewise-linear nets)."""
        xx = self.x if x is None else self._one(x)
        _, pres, pools = self._state(xx)
        n_in = len(self.in_slots)
        E = np.zeros((self.N, 1 + n_in))  # columns: bias, inputs
        E[0, 0] = 1.0
        E[self.in_slots, 1 + np.arange(n_in)] = 1.0
        for s in self.const_slots:
            E[s, 0] = self._phi_at(s)(torch.tensor([self.A[s, 0]], dtype=torch.float64)).item()
        for l in range(1, self.L + 1):
            d = self._phi(l, pres[l], slope=True)
            E[self.rows[l]] = d[:, None] * ((self.A_rows[l] + pools[l]) @ E)
        J = E[self.out_slots, 1:]
        return torch.from_numpy(J.copy()), torch.from_numpy(E[self.out_slots, 0].copy())

    def __repr__(self) -> str:
        n_nodes = len(self.order)
        arcs = self.A.nnz - int((self.A[:, 0] != 0).sum())
        pools = any(g.pool is not None for g in self.net.groups.values())
        return (f"Lifting({self.dag.name or '?'}, unit: {self.N} slots ({n_nodes} nodes + bias), T_1..T_{self.L}, "
                f"{arcs} arc entries{'; max-pools linearised at x' if pools else ''})")
