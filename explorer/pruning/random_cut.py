"""A random structural cut of the same size: the control a structural selection is compared with.

A random *mask* of equal per-layer sparsity is the control of a weight mask. A structural cut —
a residual branch, a skip arc, whole units — has none: permuting a layer's entries keeps a layer
that was cut entirely cut (the control becomes the ticket), and an arc that carries no weight
gives an all-ones mask (the control becomes the dense network). `random_cut` draws instead a
different valid selection *of the same kind* that removes about as many parameters:

- units (unit level): as many units of each layer as the selection removes there, drawn at random;
- op-level nodes (a branch): the valid branch into an additive head whose parameter count is closest,
  another than the selection's own;
- op-level arcs (skip connections): as many other arcs into additive heads.

It returns `(selection, why)`: the cut, or None and the reason no such control exists.

    >>> from explorer import models
    >>> from explorer.graph import build_dag
    >>> from explorer.pruning.selection import Selection
    >>> dag = build_dag("moons_mlp", "unit")
    >>> sel = Selection.from_ids(dag, ["fc1[0]", "fc1[1]", "fc2[5]"])
    >>> cut, why = random_cut(dag, sel, seed=0)
    >>> sorted({n.split("[")[0] for n in cut.nodes}), len(cut.nodes), cut == sel
    (['fc1', 'fc2'], 3, False)
"""

from __future__ import annotations

import random
from collections import Counter

from explorer.graph.dag import Dag
from explorer.pruning.operations import branches_of, merge_heads
from explorer.pruning.selection import Selection, fingerprint
from explorer.pruning.validity import check


def _params(dag: Dag, sel: Selection) -> int:
    v = check(dag, sel)
    return sum(dag.node(n).params for n in v.removed_nodes) if v.ok else -1


def random_cut(dag: Dag, selection: Selection, seed: int = 0) -> tuple[Selection | None, str]:
    """A random valid selection like `selection` (see the module doc), or (None, why not)."""
    rng = random.Random(seed)
    note = f"random cut like {selection.note or 'the selection'} (seed {seed})"
    if dag.granularity == "unit" and selection.nodes and not selection.arcs:
        per_layer = Counter(dag.node(n).meta.get("group") for n in selection.nodes)
        chosen: list[str] = []
        for group, k in per_layer.items():
            pool = [n.id for n in dag.nodes if n.meta.get("group") == group]
            chosen += rng.sample(pool, k)
        cut = Selection("unit", tuple(chosen), (), dag.name, fingerprint(dag), note)
        for _ in range(20):  # a draw that happens to be the selection itself, or invalid: draw again
            if cut != selection and check(dag, cut).ok:
                return cut, ""
            chosen = [n for g, k in per_layer.items()
                      for n in rng.sample([x.id for x in dag.nodes if x.meta.get("group") == g], k)]
            cut = Selection("unit", tuple(chosen), (), dag.name, fingerprint(dag), note)
        return None, "no other valid set of units of the same layers and counts was found"
    if selection.nodes:
        target = _params(dag, selection)
        options = []
        for head in merge_heads(dag):
            for b in branches_of(dag, head):
                if b.nodes and b.nodes != selection.nodes:
                    p = _params(dag, b)
                    if p >= 0:
                        options.append((abs(p - target), rng.random(), b))
        if not options:
            return None, ("this graph has no other branch into an add or cat node, so no random cut of the same "
                          "kind exists; the comparison runs without a random control")
        best = min(options, key=lambda t: (t[0], t[1]))[2]
        return Selection(dag.granularity, best.nodes, (), dag.name, fingerprint(dag), note), ""
    if selection.arcs:
        heads = set(merge_heads(dag))
        pool = [a.id for a in dag.arcs if a.dst in heads and a.id not in selection.arcs]
        rng.shuffle(pool)
        for start in range(len(pool)):
            picked = pool[start:start + len(selection.arcs)]
            if len(picked) < len(selection.arcs):
                break
            cut = Selection(dag.granularity, (), tuple(picked), dag.name, fingerprint(dag), note)
            if check(dag, cut).ok:
                return cut, ""
        return None, ("no other valid set of as many arcs into add or cat nodes exists; the comparison runs "
                      "without a random control")
    return None, "the selection is empty"
