"""Two graphs' nodes matched for a side-by-side: by module path and op, in execution order.

A node's key is `(module, op, k)` where `k` counts the earlier nodes of the same module and op in
`(level, index)` order (an op-level `relu` with no module is the k-th module-less relu); unit-level
nodes match by id (the same layer's k-th unit). Matched nodes whose shape or parameter count differ
are `changed`; the rest of each side is unmatched.

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> a = Dag.build([Node("x", "input"), Node("fc", "linear", "fc", (4,), 20), Node("y", "relu")],
    ...               [Arc("x", "fc"), Arc("fc", "y")], "op")
    >>> b = Dag.build([Node("x", "input"), Node("fc", "linear", "fc", (8,), 40), Node("z", "tanh")],
    ...               [Arc("x", "fc"), Arc("fc", "z")], "op")
    >>> m = match_nodes(a, b)
    >>> m.pairs, m.changed, m.only_a, m.only_b
    ({'x': 'x', 'fc': 'fc'}, {'fc'}, ['y'], ['z'])
    >>> m.status_a()
    {'x': 'same', 'fc': 'changed', 'y': 'only here'}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from explorer.graph.dag import Dag

STATUSES = ("same", "changed", "only here")


def node_keys(dag: Dag) -> dict[tuple, str]:
    """(module, op, k) -> node id (unit level: (id,) -> id)."""
    if dag.granularity == "unit":
        return {(i,): i for i in dag.order()}
    seen: dict[tuple[str, str], int] = {}
    out = {}
    for i in dag.order():
        n = dag.node(i)
        base = (n.module, n.op)
        k = seen.get(base, 0)
        seen[base] = k + 1
        out[(*base, k)] = i
    return out


@dataclass(frozen=True)
class Match:
    """`pairs` maps a node of A to its node in B; `changed` holds A's matched nodes whose shape or params
    differ; `only_a`/`only_b` the unmatched nodes of each side."""

    pairs: dict[str, str]
    changed: set[str]
    only_a: list[str]
    only_b: list[str]
    back: dict[str, str] = field(default_factory=dict)  # B -> A

    def status_a(self) -> dict[str, str]:
        return {**{i: "changed" if i in self.changed else "same" for i in self.pairs},
                **{i: "only here" for i in self.only_a}}

    def status_b(self) -> dict[str, str]:
        return {**{j: "changed" if i in self.changed else "same" for i, j in self.pairs.items()},
                **{j: "only here" for j in self.only_b}}

    def counts(self) -> dict[str, int]:
        return {"matched": len(self.pairs), "changed": len(self.changed), "only in A": len(self.only_a),
                "only in B": len(self.only_b)}


def match_nodes(a: Dag, b: Dag) -> Match:
    """Match the nodes of `a` and `b` (see the module doc)."""
    ka, kb = node_keys(a), node_keys(b)
    pairs = {ka[k]: kb[k] for k in ka if k in kb}
    changed = {i for i, j in pairs.items()
               if a.node(i).shape != b.node(j).shape or a.node(i).params != b.node(j).params}
    matched_b = set(pairs.values())
    return Match(pairs, changed, [i for i in a.order() if i not in pairs],
                 [j for j in b.order() if j not in matched_b], {j: i for i, j in pairs.items()})
