"""Which parameter entries a unit-level removal zeroes, and whether a mask can realise it.

At unit level an arc is one weight or one k×k kernel (`arc.meta = {"param", "index"}`)
and a node's biases are `node.meta["bias"/"biases"]` (BatchNorm shifts where BN is
folded into the unit). A mask can remove an arc only by zeroing its entry, which is
possible when no *surviving* arc reads the same entry (in a DenseNet two BatchNorms read
one convolution weight; a 1-channel Conv1d reads one kernel for all 40 input positions).
Identity and pooling arcs carry no weight: they disappear only when their source is
exactly zero (a removed unit whose inputs and biases are all zeroed and whose
activation maps 0 to 0).

`unit_plan(dag, verdict)` decides all of this from the graph alone, so
`validity.check` can refuse before anything changes and `apply` builds the mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from explorer.graph.dag import Dag, Node
from explorer.graph.memo import PerGraph

# activations with phi(0) = 0
ZERO_AT_ZERO = frozenset({"identity", "relu", "relu6", "gelu", "tanh", "silu", "elu"})


@dataclass(frozen=True)
class UnitPlan:
    entries: tuple[tuple[str, tuple], ...]  # (param, index) to zero
    norm_scales: tuple[tuple[str, int], ...]  # (bias param, channel): also zero the scale if it is a norm's
    reasons: tuple[str, ...]
    culprits: frozenset[str]  # selected/removed items to drop for a valid selection


def _key(param: str, index: Any) -> tuple[str, str]:
    return param, repr(index)


def _index(index: list) -> tuple:
    return tuple(i if isinstance(i, int) else list(i) for i in index)


def biases(node: Node) -> list[tuple[str, int]]:
    meta = node.meta
    if meta.get("biases"):
        return [(str(p), int(i)) for p, i in meta["biases"]]
    if meta.get("bias") and meta.get("row") is not None:
        return [(str(meta["bias"]), int(meta["row"]))]
    return []


_USERS = PerGraph(keep=1)  # the arc and bias users of a graph's entries
_PLANS = PerGraph(keep=64)  # a plan per removal: the Prune page's counts, `apply`, the export and the roles ask


def _users(dag: Dag) -> tuple[dict[tuple[str, str], list[str]], dict[tuple[str, int], list[str]]]:
    """Which arcs read each weight entry and which nodes each bias, per graph: a function of the (frozen)
    graph alone, computed once per graph object (a unit graph's tens of thousands of arcs made it most of
    a check's or an apply's time). Forgotten with the graph."""
    return _USERS.get(dag, None, lambda: _index_users(dag))


def _index_users(dag: Dag) -> tuple[dict[tuple[str, str], list[str]], dict[tuple[str, int], list[str]]]:
    arc_users: dict[tuple[str, str], list[str]] = {}
    for a in dag.arcs:
        if a.meta.get("param") and a.meta.get("index") is not None:
            arc_users.setdefault(_key(a.meta["param"], a.meta["index"]), []).append(a.id)
    bias_users: dict[tuple[str, int], list[str]] = {}
    for n in dag.nodes:
        for b in biases(n):
            bias_users.setdefault(b, []).append(n.id)
    return arc_users, bias_users


def unit_plan(dag: Dag, verdict, selected: frozenset[str] = frozenset()) -> UnitPlan:
    """The entries to zero for `verdict`'s removals, and the reasons it cannot be done by a mask (kept per
    graph and removal: `UnitPlan` is immutable)."""
    key = (tuple(verdict.removed_nodes), tuple(verdict.removed_arcs), frozenset(selected))
    return _PLANS.get(dag, key, lambda: _plan(dag, verdict, selected))


def _plan(dag: Dag, verdict, selected: frozenset[str]) -> UnitPlan:
    gone_nodes, gone_arcs = set(verdict.removed_nodes), set(verdict.removed_arcs)
    arc_users, bias_users = _users(dag)

    entries: dict[tuple[str, str], tuple[str, tuple]] = {}
    masked: set[str] = set()
    for a in dag.arcs:
        if a.id not in gone_arcs:
            continue
        p, idx = a.meta.get("param"), a.meta.get("index")
        if p and idx is not None and all(u in gone_arcs for u in arc_users[_key(p, idx)]):
            entries[_key(p, idx)] = (p, _index(idx))
            masked.add(a.id)
    scales: list[tuple[str, int]] = []
    zero_bias: set[str] = set()
    for v in verdict.removed_nodes:
        ok = True
        for p, i in biases(dag.node(v)):
            if all(u in gone_nodes for u in bias_users[(p, i)]):
                entries[_key(p, [i])] = (p, (i,))
                scales.append((p, i))
            else:
                ok = False
        if ok:
            zero_bias.add(v)

    zero_value: set[str] = set()
    for node in dag.nodes:
        v = node.id
        if v not in gone_nodes or v in dag.inputs:
            continue
        if (v in zero_bias and node.meta.get("phi", "identity") in ZERO_AT_ZERO
                and all(a.id in masked or a.src in zero_value for a in dag.in_arcs(v))):
            zero_value.add(v)

    reasons: list[str] = []
    culprits: set[str] = set()
    for a in dag.arcs:
        if a.id not in gone_arcs or a.dst in gone_nodes or a.id in masked or a.src in zero_value:
            continue
        p = a.meta.get("param")
        if not p:
            why = (f"it is a {a.kind} arc ({a.label or 'no weight'}) with no weight to zero; "
                   f"remove node {a.src} instead, or prune at op level")
        elif a.meta.get("index") is None:
            why = (f"its entry is a product of {', '.join(a.meta.get('params', [p]))}, not one weight; "
                   f"remove node {a.src} or {a.dst} instead, or prune at op level")
        else:
            others = [u for u in arc_users[_key(p, a.meta["index"])] if u not in gone_arcs]
            why = (f"its weight {p}{a.meta['index']} also carries arc{'s' * (len(others) > 1)} "
                   f"{', '.join(others[:3])}{' ...' if len(others) > 3 else ''}; remove those too, "
                   "or prune at op level")
        reasons.append(f"cannot remove arc {a.id} with a mask: {why}")
        culprits.add(a.id)
        culprits.add(a.src)
    return UnitPlan(tuple(entries.values()), tuple(scales), tuple(reasons), frozenset(culprits))
