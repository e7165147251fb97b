"""Affine expressions over materialised units: the algebra the unit-level tracer propagates.

Every traced value of one sample is written `value = sum_g W_g z_g + b`, where `z_g` is the
flat value of a *group* of unit nodes already made into nodes (the input features, the
channels of a ReLU'd conv, ...). Linear layers compose into the `W_g` (sparse); flatten
and cat only re-index rows (no new nodes); an activation turns the expression into a new
group of nodes whose in-arcs are the blocks of the `W_g`.

Each `Term` also remembers which parameter its entries come from (`param`, and the
index of each row and source unit along that parameter), so that every arc of the unit
DAG can name the weight entries that carry it (pruning zeroes exactly those).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from explorer.graph.unit.ops import UnitLevelError, prod


@dataclass
class Term:
    """The contribution `W @ z_src` of one source group to an expression.

    `param` is the weight whose entries make the blocks (None for identity/pooling paths);
    `layout` says how an arc indexes it: "oi" `[out, in]` (Linear, Conv), "io" `[in, out]`
    (ConvTranspose) or "c" `[channel]` (a BatchNorm scale on materialised values).
    `rows[k]` is the parameter's out index of expression channel k (-1: none), `cols[u]`
    the parameter's in indices that read source unit u. `composite` marks a term made of
    two weighted ops in a row (conv∘conv): its arcs name no single entry.
    """

    W: sp.csr_matrix  # (n_expr, n_src)
    param: str | None = None
    layout: str = ""
    rows: np.ndarray | None = None
    cols: dict[int, list[int]] | None = None
    params: tuple[str, ...] = ()
    ops: tuple[str, ...] = ()
    composite: bool = False

    def map(self, M: sp.spmatrix) -> Term:
        return dataclasses.replace(self, W=(M @ self.W).tocsr())


class Blocked:
    """Sizes derived from `shape` = (units or channels, *block shape)."""

    shape: tuple[int, ...]

    @property
    def n(self) -> int:
        return prod(self.shape)

    @property
    def block(self) -> int:
        return prod(self.shape[1:])


@dataclass
class Expr(Blocked):
    """`sum_src terms[src].W @ z_src + b`, a per-sample value of shape `shape` (channels first)."""

    shape: tuple[int, ...]
    terms: dict[str, Term]
    b: np.ndarray
    hint: str | None = None  # module path that names the units if this becomes nodes
    hint_op: str = ""
    biases: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (param, per-channel index)
    weighted: bool = False  # last op was a Linear/Conv (so a following BatchNorm fuses into it)

    @property
    def channels(self) -> int:
        return self.shape[0]

    @classmethod
    def group(cls, name: str, shape: tuple[int, ...], hint: str | None = None) -> Expr:
        """The pure reference to a group of nodes: `W = I`, `b = 0`."""
        n = prod(shape)
        return cls(shape, {name: Term(sp.identity(n, format="csr"))}, np.zeros(n), hint or name)

    def pure_group(self) -> str | None:
        """The group this expression merely is (identity map, no bias), else None."""
        if len(self.terms) != 1 or np.any(self.b):
            return None
        (src, t), = self.terms.items()
        if t.param is not None or t.ops or t.W.shape[0] != t.W.shape[1]:
            return None
        return src if (t.W - sp.identity(t.W.shape[0])).count_nonzero() == 0 else None

    # ---- linear maps ------------------------------------------------------------------
    def channelwise(self, M: sp.spmatrix, shape: tuple[int, ...], shift: np.ndarray | None, op: str) -> Expr:
        """A map that keeps channels (pooling, BatchNorm, scaling): parameter indices survive."""
        terms = {s: dataclasses.replace(t.map(M), ops=t.ops + ((op,) if op else ())) for s, t in self.terms.items()}
        b = M @ self.b + (0 if shift is None else shift)
        return dataclasses.replace(self, shape=shape, terms=terms, b=b, weighted=False)

    def reindex(self, M: sp.spmatrix, shape: tuple[int, ...]) -> Expr:
        """A pure re-indexing (view, flatten, slicing, padding): row indices follow the entries."""
        if prod(shape) != M.shape[0]:
            raise UnitLevelError(f"re-indexing to per-sample shape {shape} does not match its matrix {M.shape}")
        src = _source_of_rows(M)
        new_c, new_blk = shape[0], prod(shape[1:])

        def remap(rows: np.ndarray | None) -> np.ndarray | None:
            if rows is None:
                return None
            flat = np.repeat(rows, self.block)
            moved = np.where(src >= 0, flat[np.maximum(src, 0)], -1).reshape(new_c, new_blk)
            same = (moved == moved[:, :1]).all(axis=1)
            return np.where(same, moved[:, 0], -1)

        terms = {s: dataclasses.replace(t.map(M), rows=remap(t.rows)) for s, t in self.terms.items()}
        biases = [(p, remap(r)) for p, r in self.biases]
        return dataclasses.replace(self, shape=shape, terms=terms, b=M @ self.b, biases=biases)

    def generic(self, M: sp.spmatrix, shape: tuple[int, ...], op: str) -> Expr:
        """Any other linear map: parameter row indices are lost."""
        terms = {s: dataclasses.replace(t.map(M), rows=None, ops=t.ops + (op,)) for s, t in self.terms.items()}
        biases = [(p, np.full(shape[0], -1)) for p, _ in self.biases]
        return dataclasses.replace(self, shape=shape, terms=terms, b=M @ self.b, biases=biases, weighted=False)

    def weight_op(self, M: sp.spmatrix, b: np.ndarray, shape: tuple[int, ...], param: str, layout: str,
                  bias_param: str | None, module: str, op: str, src_shapes: dict[str, tuple[int, ...]],
                  groups: int = 1) -> Expr:
        """A Linear/Conv/ConvTranspose: `M` (out x in) applied, its own weight named on each new term.

        With `groups`, the weight's grouped dimension holds local indices (conv: in, transposed: out)."""
        in_mod = self.channels // groups if layout == "oi" else self.channels
        rows_idx = np.arange(shape[0]) % (shape[0] // groups if layout == "io" else shape[0])
        terms = {}
        c_in_blk = self.block
        for s, t in self.terms.items():
            W = (M @ t.W).tocsr()
            if t.param is None and not t.composite:
                # which op input channels k read which source unit u: from the sparsity of t.W
                coo = t.W.tocoo()
                blk_src = prod(src_shapes[s][1:])
                pairs = np.unique(np.stack([coo.col // blk_src, coo.row // c_in_blk]), axis=1)
                cols: dict[int, list[int]] = {}
                for u, k in pairs.T:
                    cols.setdefault(int(u), []).append(int(k) % in_mod)
                terms[s] = Term(W, param, layout, rows_idx, cols, (param,), t.ops, False)
            else:
                terms[s] = Term(W, param, layout, rows_idx, None, t.params + (param,), t.ops, True)
        biases = [(bias_param, np.arange(shape[0]))] if bias_param else []
        return Expr(shape, terms, M @ self.b + b, module, op, biases, weighted=True)

    def batchnorm(self, scale: np.ndarray, shift: np.ndarray, weight: str | None, bias: str | None,
                  module: str) -> Expr:
        """Eval BatchNorm: fused into a preceding Linear/Conv term, else an arc scale of its own."""
        D = sp.diags(scale, format="csr")
        terms = {}
        for s, t in self.terms.items():
            t2 = t.map(D)
            if t.param is None and weight is not None:
                t2 = dataclasses.replace(t2, param=weight, layout="c", rows=np.arange(self.channels), cols=None,
                                         params=(weight,), composite=bool(t.ops))
            elif weight is not None:
                t2 = dataclasses.replace(t2, params=t.params + (weight,))
            terms[s] = t2
        biases = list(self.biases) + ([(bias, np.arange(self.channels))] if bias else [])
        hint = self.hint if self.weighted else module
        return Expr(self.shape, terms, scale * self.b + shift, hint, self.hint_op if self.weighted else "BatchNorm",
                    biases, weighted=self.weighted)

    def scale(self, s: float) -> Expr:
        return self.channelwise(sp.identity(self.n, format="csr") * s, self.shape, None, f"×{s:g}" if s != 1 else "")

    def shift(self, c: np.ndarray) -> Expr:
        return dataclasses.replace(self, b=self.b + np.broadcast_to(c, self.shape).reshape(-1))


def add(a: Expr, b: Expr) -> Expr:
    """Sum of two expressions of one shape; a source in both gets the summed matrix."""
    if a.shape != b.shape:
        raise UnitLevelError(f"add of per-sample shapes {a.shape} and {b.shape} (broadcasting) is not supported "
                             "at unit level; use granularity 'op'")
    terms = dict(a.terms)
    for s, t in b.terms.items():
        if s in terms:
            u = terms[s]
            keep = u if u.param is not None else t
            both = u.param is not None and t.param is not None
            terms[s] = dataclasses.replace(keep, W=(u.W + t.W).tocsr(), params=u.params + t.params,
                                           ops=u.ops + t.ops + (("+id",) if not both else ()),
                                           composite=both or u.composite or t.composite,
                                           rows=None if both else keep.rows)
        else:
            terms[s] = t
    return Expr(a.shape, terms, a.b + b.b, a.hint or b.hint, a.hint_op or b.hint_op, a.biases + b.biases)


def cat(parts: list[Expr | np.ndarray], shapes: list[tuple[int, ...]]) -> Expr:
    """Concatenation along the channel dimension: stacks rows, adds no node."""
    for s in shapes[1:]:
        if tuple(s[1:]) != tuple(shapes[0][1:]):
            raise UnitLevelError(f"cat of per-sample shapes {shapes}: only the channel dimension may differ")
    exprs = [p for p in parts if isinstance(p, Expr)]
    srcs: dict[str, None] = {}
    for e in exprs:
        srcs.update(dict.fromkeys(e.terms))
    shape = (sum(s[0] for s in shapes), *shapes[0][1:])
    terms: dict[str, Term] = {}
    for src in srcs:
        owners = [e.terms[src] for e in exprs if src in e.terms]
        n_src = owners[0].W.shape[1]
        blocks, rows = [], []
        for p, s in zip(parts, shapes):
            t = p.terms.get(src) if isinstance(p, Expr) else None
            blocks.append(t.W if t is not None else sp.csr_matrix((prod(s), n_src)))
            rows.append(t.rows if t is not None and t.rows is not None else np.full(s[0], -1))
        first = owners[0]
        same = all(o.param == first.param for o in owners)
        cols = first.cols if len(owners) == 1 else None
        terms[src] = Term(sp.vstack(blocks, format="csr"), first.param if same else None, first.layout,
                          np.concatenate(rows), cols, tuple(p for o in owners for p in o.params),
                          tuple(op for o in owners for op in o.ops),
                          any(o.composite for o in owners) or len(owners) > 1)
    b = np.concatenate([p.b if isinstance(p, Expr) else np.asarray(p, dtype=np.float64).reshape(-1)
                        for p in parts])
    biases = []
    offset = 0
    for p, s in zip(parts, shapes):
        if isinstance(p, Expr):
            for name, r in p.biases:
                full = np.full(shape[0], -1)
                full[offset:offset + s[0]] = r
                biases.append((name, full))
        offset += s[0]
    hint = next((e.hint for e in reversed(exprs) if e.hint), None)
    return Expr(shape, terms, b, hint, "", biases)


def _source_of_rows(M: sp.spmatrix) -> np.ndarray:
    """For a 0/1 selection matrix: the input index each row reads (-1 for a zero row)."""
    M = M.tocsr()
    src = np.full(M.shape[0], -1)
    counts = np.diff(M.indptr)
    one = counts == 1
    src[one] = M.indices[M.indptr[:-1][one]]
    return src
