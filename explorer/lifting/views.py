"""Node-by-node views of the lifting matrices, for heatmaps and tables.

At unit level a node owns a block of slots (one for a neuron, H*W for a channel); a view
aggregates each (row node, column node) block of a slot matrix to one number: the real
entry for scalar arcs, the Frobenius norm for blocks (kernels). At op level the entries are
operators: 1 where an entry exists, with its label beside.

    >>> import torch
    >>> from explorer.graph.unit import unit_dag
    >>> from explorer.lifting import lifting
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    >>> L = lifting(unit_dag(net, torch.randn(1, 2), "tiny"))
    >>> ids, P, caption = product_view(L, 2)
    >>> ids[0], P.shape
    ('1', (6, 6))
"""

from __future__ import annotations

from typing import Any

import numpy as np


def aggregate_slots(L: Any, S: Any, with_bias: bool = False) -> np.ndarray:
    """A slot matrix `S` (N, N; scipy sparse) of a numeric lifting as a node matrix: the sum of
    each block for scalar nodes, its Frobenius norm where either node is a block. With
    `with_bias` the constant-1 slot is node 0 (rows/columns shift by one); else it is dropped."""
    B = S.tocoo()
    node = np.concatenate([[0], np.asarray(L.node_of_slot) + 1])  # slot -> 0 (bias) or 1 + node index
    r, c, v = node[B.row], node[B.col], B.data
    sizes = np.array([L.size[i] for i in L.order])
    if with_bias:
        sizes = np.concatenate([[1], sizes])
    else:
        keep = (r > 0) & (c > 0)
        r, c, v = r[keep] - 1, c[keep] - 1, v[keep]
    n = len(sizes)
    M = np.zeros((n, n))
    sq = np.zeros((n, n))
    np.add.at(M, (r, c), v)
    np.add.at(sq, (r, c), v ** 2)
    block = (sizes[:, None] > 1) | (sizes[None, :] > 1)
    return np.where(block, np.sqrt(sq), M)


def dense(M: Any) -> np.ndarray:
    """A scipy-sparse, torch or array-like matrix as a float numpy array."""
    if hasattr(M, "toarray"):
        return np.asarray(M.toarray(), dtype=float)
    if hasattr(M, "to_dense"):
        M = M.to_dense()
    if hasattr(M, "detach"):
        M = M.detach().cpu().numpy()
    return np.asarray(M, dtype=float)


def label_grid(ids: list[str], labels: Any) -> np.ndarray | None:
    """`{(row id, col id): label}` (or an array) as an object array aligned with `ids`."""
    if labels is None:
        return None
    if isinstance(labels, dict):
        pos = {i: k for k, i in enumerate(ids)}
        out = np.full((len(ids), len(ids)), "", dtype=object)
        for (r, c), s in labels.items():
            if r in pos and c in pos:
                out[pos[r], pos[c]] = str(s)
        return out
    return np.asarray(labels, dtype=object)


def node_matrix(L: Any, l: int) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """`(ids, M, labels)` of T_l node by node (labels: operator names at op level, else None)."""
    ids, M = L.node_matrix(l)
    ids = list(ids)
    return ids, dense(M), label_grid(ids, L.labels(l) if hasattr(L, "labels") else None)


WINDOW_MAX = 40  # nodes a level window aims at (the sources of the level-l rows are always kept)


def level_window(ids: list[str], M: Any, level: dict[str, int], l: int, w: int,
                 max_nodes: int = WINDOW_MAX) -> list[int]:
    """Positions (into `ids`) of a readable window of T_l: the nodes of levels l-w+1..l, and every
    column the level-l rows read from, however far back (a skip arc's source), in (level, index)
    order. Past `max_nodes`, the window's lowest levels give way first; the level-l rows and
    their sources always stay, so the window shows every entry of T_l off the identity.

    >>> import numpy as np
    >>> ids = ["x", "a", "b", "c", "y"]          # a chain x→a→b→c→y plus a skip arc x→y
    >>> T = np.eye(5); T[4, 3] = T[4, 0] = 1.0   # T_4: row y reads c and x
    >>> [ids[k] for k in level_window(ids, T, dict(zip(ids, range(5))), 4, 2)]
    ['x', 'c', 'y']
    """
    A = dense(M)
    lv = np.array([level[i] for i in ids])
    band = np.flatnonzero(lv == l)
    must = set(band.tolist()) | set(np.flatnonzero((A[band] != 0).any(axis=0)).tolist())
    window = [k for k in np.flatnonzero((lv >= l - w + 1) & (lv <= l)).tolist() if k not in must]
    room = max(0, max_nodes - len(must))
    window = sorted(window, key=lambda k: -lv[k])[:room]  # the highest levels of the window first
    return sorted(must | set(window))


def is_numeric(L: Any) -> bool:
    return getattr(L, "kind", "") == "numeric"


def product_view(L: Any, l: int, x: Any = None) -> tuple[list[str], np.ndarray, str]:
    """`(ids, P, caption)`: the partial product T_l ⋯ T_1 node by node.

    Unit level: the slot product `L.product(1, l[, x])` (with x: the masked product M_l ⋯ M_1,
    M_k = D_k(x) T_k) aggregated per node, the bias slot "1" as the first row/column. Op level:
    the product of the 0/1 node matrices, i.e. path counts."""
    dag = L.dag
    if is_numeric(L):
        S = L.product(1, l, x) if x is not None else L.product(1, l)
        P = aggregate_slots(L, S, with_bias=True)
        np.fill_diagonal(P, 1.0)  # a product of unit lower-triangular steps has identity diagonal blocks
        kind = "M_l ⋯ M_1 at x (activation masks D_k(x) applied)" if x is not None else \
            "the linear part T_l ⋯ T_1 (activations left out)"
        how = (f"Unit level: {kind}. Column \"1\" is the bias slot. "
               + ("Each entry is a sum over paths of products of weights." if scalar_arcs(dag) and x is None else
                  "Kernel blocks are shown as their Frobenius norm."))
        return ["1", *L.order], P, how
    how = ("Op level: with 1 for every operator entry, the product counts the paths from each column node to "
           "each row node through levels 1..l.")
    return dag.order(), dense(L.product(1, l)), how


def scalar_arcs(dag: Any) -> bool:
    return all(a.weight is not None for a in dag.arcs)


def entry_caption(dag: Any) -> str:
    """One sentence saying what a cell of T_l holds at this granularity."""
    if dag.granularity == "op":
        return ("Op level: an entry is an operator (hover or read it in the cell); 1 marks that it exists. "
                "Joint entries (mul/matmul) span all their input columns.")
    if scalar_arcs(dag):
        return "Unit level: the real weights; the bias lives in the constant-1 slot (not drawn)."
    return "Unit level: scalar weights as numbers, k×k kernels as their Frobenius norm."
