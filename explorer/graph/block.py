"""Block level: op nodes collapsed by module hierarchy (docs/science.md §1, granularities).

`block_dag(op_dag, depth)` puts every op whose module path starts with the same
`depth` components into one node: at depth 2 on a ResNet-50, `layer1.0`, `layer1.1`,
... are one node each, while `conv1` or `fc` (shallower paths) stay as they are.
Ops with no module (functions called in the top-level `forward`) stay single nodes.

An arc between two blocks bundles the op arcs between them; those that skip levels at op
level (a ResNet block's identity shortcut lands on the next block's `add`) are listed in
its `meta["op_skips"]`, so a figure can keep the shortcut visible; a block's own
`meta["inner_skips"]` counts the skip arcs inside it.

Repeated blocks are recognisable: `meta["signature"]` hashes the member op sequence,
their shapes and their internal wiring, so identical blocks share it, and
`meta["repeat"]` says how many blocks do. Collapsing must never create a cycle (a
group whose output feeds an outside op that feeds back into it); the groups on such a
cycle are split one module level deeper, down to single ops if need be.

    >>> from explorer.graph.trace import trace
    >>> from explorer import models
    >>> lm = models.load("resnet_tiny")
    >>> b = block_dag(trace(lm.model, lm.example_input), depth=1)
    >>> [(n.id, n.op, b.level[n.id]) for n in b.nodes]
    [('x', 'input', 0), ('stem', 'Sequential', 1), ('block1', 'BasicBlock', 2), ('block2', 'BasicBlock', 3), ('pool', 'adaptiveavgpool2d', 4), ('flatten', 'flatten', 5), ('fc', 'linear', 6), ('output', 'output', 7)]
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from typing import Any

import networkx as nx

from explorer.graph.dag import Arc, Dag, Node


class BlockError(ValueError):
    """A block collapse that cannot be done; the message says why and what to pass instead."""


def _prefix(module: str, depth: int) -> str:
    return ".".join(module.split(".")[:depth])


def _groups(op_dag: Dag, depth: int) -> dict[str, str]:
    """op id -> group key, split wherever a collapse would close a cycle.

    A group on a cycle is first split into its internally connected parts (a module
    called twice, with other ops in between, becomes two blocks); if that is not
    enough, one module level deeper, down to single ops.
    """
    fixed = set(op_dag.inputs) | set(op_dag.outputs)
    want = {n.id: depth for n in op_dag.nodes}  # per-op depth; 0 means "keep the op alone"
    part = {n.id: 0 for n in op_dag.nodes}  # which connected part of its group (after a split)
    fresh = itertools.count(1)

    def key(n: Node) -> str:
        d = want[n.id]
        if n.id in fixed or not n.module or d == 0:
            return "\0" + n.id  # a singleton
        return _prefix(n.module, d) + (f"#{part[n.id]}" if part[n.id] else "")

    nodes = {n.id: n for n in op_dag.nodes}
    while True:
        group = {i: key(n) for i, n in nodes.items()}
        q = nx.DiGraph()
        q.add_nodes_from(set(group.values()))
        q.add_edges_from((group[a.src], group[a.dst]) for a in op_dag.arcs if group[a.src] != group[a.dst])
        cyclic = [c for c in nx.strongly_connected_components(q) if len(c) > 1]
        if not cyclic:
            return group
        bad = {g for c in cyclic for g in c if not g.startswith("\0")}
        for g in bad:
            members = [i for i in nodes if group[i] == g]
            inner = nx.Graph()
            inner.add_nodes_from(members)
            inner.add_edges_from((a.src, a.dst) for a in op_dag.arcs if group[a.src] == g and group[a.dst] == g)
            comps = sorted(nx.connected_components(inner), key=lambda c: min(op_dag.order().index(i) for i in c))
            if len(comps) > 1:
                for comp in comps[1:]:  # the first part keeps the group's key
                    tag = next(fresh)
                    for i in comp:
                        part[i] = tag
                continue
            for i in members:
                deeper = want[i] + 1
                # deeper than the module path itself: the op stands alone
                want[i] = deeper if deeper <= len(nodes[i].module.split(".")) else 0


def _module_class(op_dag: Dag, path: str) -> str | None:
    types = op_dag.meta.get("module_types") or {}
    if path in types:
        return types[path]
    if types:  # every module path of the model is in there: this is not a module
        return None
    gm = op_dag.meta.get("graph_module")
    try:
        cls = type(gm.get_submodule(path)).__name__ if gm is not None and path else None
    except AttributeError:
        return None
    return None if cls in (None, "Module") else cls


def signature(members: list[Node], arcs: list[Arc]) -> str:
    """A hash of `members` (op, shape, params, in order) and their wiring by `arcs`: identical blocks share it."""
    index = {n.id: k for k, n in enumerate(members)}
    wiring = sorted((index[a.src], index[a.dst], a.kind) for a in arcs if a.src in index and a.dst in index)
    text = repr(([(n.op, n.shape, n.params) for n in members], wiring))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _merge_kind(kinds: set[str]) -> str:
    for k in ("joint", "nonlinear", "linear"):
        if k in kinds:
            return k
    return "identity"


def block_dag(op_dag: Dag, depth: int) -> Dag:
    """Collapse `op_dag` by module path prefix of `depth` components (see the module doc).

    Node ids are the prefixes (`layer1.0`); ops left alone keep their op id. Each block's
    `meta` holds `members` (op ids), `signature`, `repeat`; params and MACs are summed.
    `dag.meta["group_of"]` maps every op id to its block id, `dag.meta["op_dag"]` is the input.
    """
    if op_dag.granularity != "op":
        raise BlockError(f"block_dag collapses an op-level graph, got granularity {op_dag.granularity!r}; "
                         "trace the model at granularity 'op' first")
    if depth < 1:
        raise BlockError(f"block depth must be >= 1 module path components, got {depth}")
    group = _groups(op_dag, depth)
    # block ids: the prefix, or the op id for singletons; never two blocks with one id
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for n in op_dag.nodes:
        g = group[n.id]
        if g in ids:
            continue
        base = g[1:] if g.startswith("\0") else g.split("#")[0]
        bid, k = base, 1
        while bid in taken:
            bid, k = f"{base}~{k}", k + 1
        ids[g] = bid
        taken.add(bid)
    of = {i: ids[g] for i, g in group.items()}
    members: dict[str, list[Node]] = {}
    for n in op_dag.nodes:  # (level, index) order: members in execution order
        members.setdefault(of[n.id], []).append(n)
    internal: dict[str, list[Arc]] = {}
    cross: dict[tuple[str, str], list[Arc]] = {}
    for a in op_dag.arcs:
        s, d = of[a.src], of[a.dst]
        if s == d:
            internal.setdefault(s, []).append(a)
        else:
            cross.setdefault((s, d), []).append(a)
    exits: dict[str, list[str]] = {}
    for (s, _), arcs in cross.items():
        exits.setdefault(s, []).extend(a.src for a in arcs)
    sigs = {b: signature(ms, internal.get(b, [])) for b, ms in members.items()}
    counts = Counter(sigs[b] for b, ms in members.items() if len(ms) > 1)
    nodes: list[Node] = []
    for b, ms in members.items():
        single = len(ms) == 1 and (ms[0].id in op_dag.inputs or ms[0].id in op_dag.outputs
                                   or group[ms[0].id].startswith("\0"))
        if single:
            n = ms[0]
            nodes.append(Node(b, n.op, n.module, n.shape, n.params, n.macs,
                              {**n.meta, "members": [n.id], "signature": sigs[b], "repeat": 1}))
            continue
        path = group[ms[0].id].split("#")[0]
        cls = _module_class(op_dag, path)
        op = cls if cls is not None and len(ms) > 1 else (ms[0].op if len(ms) == 1 else "block")
        out_ids = exits.get(b) or [ms[-1].id]
        last = max(out_ids, key=lambda i: op_dag.order().index(i)) if len(out_ids) > 1 else out_ids[0]
        inner_skips = sum(1 for a in internal.get(b, []) if op_dag.level[a.dst] - op_dag.level[a.src] > 1)
        meta: dict[str, Any] = {"members": [m.id for m in ms], "signature": sigs[b],
                                "repeat": counts.get(sigs[b], 1), "exits": sorted(set(out_ids)),
                                "inner_skips": inner_skips}
        nodes.append(Node(b, op, path, op_dag.node(last).shape, sum(m.params for m in ms),
                          sum(m.macs for m in ms), meta))
    arcs = []
    for (s, d), group_arcs in cross.items():
        # op arcs that skip levels (a residual shortcut into a block's add): collapsing would hide them
        skips = [[a.src, a.dst] for a in group_arcs if op_dag.level[a.dst] - op_dag.level[a.src] > 1]
        label = group_arcs[0].label if len(group_arcs) == 1 else f"{len(group_arcs)} arcs"
        if skips:
            label += f" ({len(skips)} skip{'s' if len(skips) > 1 else ''} at op level)"
        arcs.append(Arc(s, d, label, _merge_kind({a.kind for a in group_arcs}), None,
                        {"op_arcs": [[a.src, a.dst] for a in group_arcs], "op_skips": skips}))
    meta = {"op_dag": op_dag, "depth": depth, "group_of": of, "tracer": op_dag.meta.get("tracer"),
            "module_types": op_dag.meta.get("module_types"),
            "warnings": list(op_dag.meta.get("warnings", [])), "unused_params": op_dag.meta.get("unused_params", 0)}
    if hasattr(op_dag.meta, "derive"):  # read from the trace cache: the traced module comes when asked for
        meta = op_dag.meta.derive(meta)
    else:
        meta.update(graph_module=op_dag.meta.get("graph_module"), example_input=op_dag.meta.get("example_input"))
    dag = Dag.build(nodes, arcs, "block", inputs=[of[i] for i in op_dag.inputs],
                    outputs=[of[o] for o in op_dag.outputs], name=op_dag.name, meta=meta)
    return dag.replace(meta=meta) if hasattr(meta, "derive") else dag  # keep the lazy meta itself


def shortcut_arcs(dag: Dag) -> list[Arc]:
    """Block arcs that join adjacent levels yet bundle an op-level skip arc (`meta["op_skips"]`: a
    ResNet block's identity shortcut lands on the next block's `add`). Figures draw them as skip arcs,
    so a count of the skip arcs on show adds them to the arcs spanning two or more levels.

    >>> from explorer.graph import build_dag
    >>> d = build_dag("densenet_tiny", granularity="block")
    >>> d.summary()["skip_arcs"], len(shortcut_arcs(d))  # three dense-block concatenations, one level apart
    (0, 3)
    """
    return [a for a in dag.arcs if a.meta.get("op_skips") and dag.level[a.dst] - dag.level[a.src] <= 1]
