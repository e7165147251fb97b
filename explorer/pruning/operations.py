"""Structural operations, proposed from the graph (docs/science.md §3): the residual branches
of an additive head, the skip arcs, a range of levels, the units of a layer.

Each helper returns a `Selection` (or a list of them) for the page's shortcut buttons
and the CLI; nothing here decides validity (`validity.check`) or changes a model.

    >>> from explorer.graph.dag import Arc, Dag, Node
    >>> dag = Dag.build([Node("x", "input"), Node("c1", "conv"), Node("c2", "conv"),
    ...                  Node("add", "add"), Node("y", "linear")],
    ...                 [Arc("x", "c1"), Arc("c1", "c2"), Arc("c2", "add"),
    ...                  Arc("x", "add", kind="identity"), Arc("add", "y")], "op", name="toy")
    >>> [b.ids for b in branches_of(dag, "add")]
    [('c1', 'c2'), ('x->add',)]
    >>> [a.id for a in skip_arcs(dag)]
    ['x->add']
    >>> level_range(dag, 1, 2).nodes
    ('c1', 'c2')
"""

from __future__ import annotations

from dataclasses import replace

from explorer.graph.dag import Arc, Dag
from explorer.graph.memo import PerGraph
from explorer.pruning.selection import Selection, SelectionError, fingerprint

_PER_GRAPH = PerGraph(keep=4)  # a graph's merge heads and skip arcs


def merge_heads(dag: Dag) -> list[str]:
    """Nodes with two or more inputs that are not joint (add, cat, unit-level sums): the
    places where a branch or a skip can be removed and the rest still computes (found once per graph:
    the Prune page asks on every run, for every student of a class)."""
    from explorer.pruning.validity import is_joint, is_tensor

    def find() -> tuple[str, ...]:
        return tuple(n.id for n in dag.nodes
                     if len([a for a in dag.in_arcs(n.id) if is_tensor(dag, dag.node(a.src))]) >= 2
                     and not is_joint(dag, n.id))

    return list(_PER_GRAPH.get(dag, "merge_heads", find))


def branch(dag: Dag, arc: Arc | str) -> Selection:
    """The branch that ends with `arc` into its head: the nodes whose every consumer lies in
    the branch (walking back from the arc's source). When the source also feeds
    something else (an identity skip from `x`), the branch is just the arc."""
    if isinstance(arc, str):
        matches = [a for a in dag.arcs if a.id == arc]
        if not matches:
            raise SelectionError(f"{dag.name or 'the graph'} has no arc {arc}")
        arc = matches[0]
    members: set[str] = set()
    ends = set(dag.inputs) | set(dag.outputs)

    def exclusive(u: str) -> bool:
        return u not in ends and all(
            (a.dst in members) or (a.id == arc.id) for a in dag.out_arcs(u))

    if exclusive(arc.src):
        members.add(arc.src)
        frontier = [arc.src]
        while frontier:
            nxt = []
            for v in frontier:
                for p in dag.predecessors(v):
                    if p not in members and exclusive(p):
                        members.add(p)
                        nxt.append(p)
            frontier = nxt
    # a member with a predecessor added later may have been tested too early: repeat to a fixed point
    changed = True
    while changed and members:
        changed = False
        for v in list(members):
            for p in dag.predecessors(v):
                if p not in members and exclusive(p):
                    members.add(p)
                    changed = True
    order = {n.id: k for k, n in enumerate(dag.nodes)}
    nodes = tuple(sorted(members, key=order.__getitem__))
    note = f"branch {arc.id}"
    if nodes:
        return Selection(dag.granularity, nodes, (), dag.name, fingerprint(dag), note)
    return Selection(dag.granularity, (), (arc.id,), dag.name, fingerprint(dag), note)


def branches_of(dag: Dag, head: str) -> list[Selection]:
    """One selection per input of `head`: removing one leaves `head` fed by the others
    (a residual branch removed leaves `add(x, 0) = x`; the skip removed leaves the branch)."""
    dag.node(head)
    return [branch(dag, a) for a in dag.in_arcs(head)]


def skip_arcs(dag: Dag) -> list[Arc]:
    """Arcs that jump over at least one level (level(dst) - level(src) > 1): skips and shortcuts (found once
    per graph)."""
    return list(_PER_GRAPH.get(dag, "skip_arcs",
                               lambda: tuple(a for a in dag.arcs if dag.level[a.dst] - dag.level[a.src] > 1)))


def skip_selection(dag: Dag) -> Selection:
    """Every skip arc at once (the network without its shortcuts)."""
    return Selection(dag.granularity, (), tuple(a.id for a in skip_arcs(dag)), dag.name, fingerprint(dag),
                     "all skip arcs")


def level_range(dag: Dag, lo: int, hi: int) -> Selection:
    """Every node with `lo <= level <= hi` (inputs and outputs excluded). Valid only where
    skip arcs bypass the range into additive heads; `validity.check` says."""
    if lo > hi:
        raise SelectionError(f"level range ({lo}, {hi}) is empty; give lo <= hi")
    if lo < 1 or hi > dag.depth:
        raise SelectionError(f"levels {lo}..{hi} are outside 1..{dag.depth} (level 0 holds the inputs)")
    sel = Selection.from_filter(dag, levels=(lo, hi))
    return replace(sel, note=f"levels {lo}..{hi}")


def bypassable_ranges(dag: Dag, max_ranges: int = 50) -> list[tuple[int, int]]:
    """Level ranges `(lo, hi)` strictly inside a skip arc's span (`level(src) < lo <= hi <
    level(dst)`) whose removal is valid: the candidates for "remove a range of levels"."""
    from explorer.pruning.validity import check

    spans = sorted({(dag.level[a.src] + 1, dag.level[a.dst] - 1) for a in skip_arcs(dag)})
    out: list[tuple[int, int]] = []
    for lo, hi in spans:
        if lo <= hi and (lo, hi) not in out and check(dag, level_range(dag, lo, hi)).ok:
            out.append((lo, hi))
        if len(out) >= max_ranges:
            break
    return out


def units_of(dag: Dag, layer: str) -> Selection:
    """At unit level: every neuron/channel of `layer` (node meta "layer")."""
    if dag.granularity != "unit":
        raise SelectionError("units_of needs a unit-level graph; build it with granularity='unit'")
    nodes = tuple(n.id for n in dag.nodes if n.meta.get("layer") == layer)
    if not nodes:
        layers = sorted({str(n.meta.get("layer")) for n in dag.nodes if n.meta.get("layer")})
        raise SelectionError(f"no units in layer {layer!r}; layers are {', '.join(layers)}")
    return Selection("unit", nodes, (), dag.name, fingerprint(dag), f"units of {layer}")
