"""The lifting decomposition (docs/science.md §2): a DAG-DNN as a product of unit lower-triangular matrices.

Order the nodes by `(level, stable index)` and give every node a slot of the state `z`
(at unit level its whole block, plus slot 0 = the constant 1 that carries biases).
The transition `T_l` is the identity except on the rows of level-`l` nodes, which hold
the arc functions from their predecessors (and the bias in column 0); `Phi_l` applies
the activations of level `l`. Then

    z_L = Phi_L T_L ... Phi_1 T_1 z_0,    z_0 = [1, x, 0, ..., 0],

and the output slots of `z_L` are the network's output.

This module holds what both forms share: the `Lifting` base and `LiftingError`;
`explorer.lifting.lifting(dag, x)` picks the form for a DAG's granularity.
"""

from __future__ import annotations

from typing import Any

from explorer.graph.dag import Dag


class LiftingError(ValueError):
    """A lifting invariant that does not hold, or a request the decomposition cannot serve; the message says
    which entry or node, and what to do."""


class Lifting:
    """Common face of the numeric (unit) and symbolic (op) decompositions.

    Subclasses provide `T(l)`, `node_matrix(l)`, `product(lo, hi)`, `compose(x)`,
    `function_at(node_id, x, removed_nodes, removed_arcs)` and `assert_lower_triangular()`;
    the unit level also `D(l, x)`, `product_paths(lo, hi)` and `local_map(x)`.
    """

    kind = "?"

    def __init__(self, dag: Dag):
        self.dag = dag
        self.order = dag.order()
        self.pos = {n: k for k, n in enumerate(self.order)}
        self.level_nodes = dag.levels()

    @property
    def L(self) -> int:
        """The number of lifting steps (the highest level)."""
        return self.dag.depth

    @property
    def granularity(self) -> str:
        return self.dag.granularity

    def _check_level(self, l: int) -> int:
        if not 1 <= l <= self.L:
            raise LiftingError(f"level {l} has no transition matrix: T_l exists for l = 1..{self.L} "
                               f"({self.dag.name or 'this graph'} has levels 0..{self.L})")
        return l

    def _check_range(self, lo: int, hi: int) -> tuple[int, int]:
        if not 1 <= lo <= hi <= self.L:
            raise LiftingError(f"level range {lo}..{hi} is not within 1..{self.L} (need 1 <= lo <= hi <= L)")
        return lo, hi

    def _check_removed(self, removed_nodes: Any, removed_arcs: Any) -> tuple[set[str], set[tuple[str, str]]]:
        nodes = set(removed_nodes)
        for n in nodes:
            self.dag.node(n)  # raises KeyError naming it
        arcs: set[tuple[str, str]] = set()
        known = {(a.src, a.dst) for a in self.dag.arcs}
        for a in removed_arcs:
            pair = tuple(a.split("->")) if isinstance(a, str) else tuple(a)
            if pair not in known:
                raise LiftingError(f"arc {pair[0]}->{pair[1]} is not an arc of {self.dag.name or 'the graph'}; "
                                   "give arcs as 'src->dst' or (src, dst) pairs from dag.arcs")
            arcs.add(pair)  # type: ignore[arg-type]
        return nodes, arcs
