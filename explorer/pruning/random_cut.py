"""A random structural cut of the same size: the random control a structural selection is compared with.

A random *mask* (the control of a weight mask) permutes each tensor's mask and so keeps every
layer's count exactly. A structural cut — whole units, a residual branch, a skip arc — needs a
control of the same kind: permuting a layer that was cut entirely keeps it cut (the control would
be the ticket), and an arc that carries no weight gives an all-ones mask. `random_cut` draws instead
a different valid selection *of the same kind and the same size*, where "the same size" is the rule
of `explorer.pruning.kept` for that kind:

- units (unit level, nodes only): as many units of each layer as the selection removes there, drawn
  at random; a draw is kept only if every parameter tensor then keeps exactly as many entries as
  under the selection (`kept.EXACT`), else drawn again;
- op-level nodes (a branch): another branch into an additive head whose removed layers have the same
  shapes (`kept.EXCHANGEABLE`: the same multiset of (shape, kept count));
- op-level arcs (skip connections): as many other arcs into additive heads, with the same rule.

A candidate that removes exactly what the selection removes is the ticket itself and never counts.
It returns `(selection, why)`: the cut, or None and the reason no such control exists (naming the
closest candidate). `roles.build` checks the built control's masks once more before it trains.

    >>> from explorer import models
    >>> from explorer.graph import build_dag
    >>> lm = models.load("moons_mlp")
    >>> dag = build_dag(lm, "unit")
    >>> sel = Selection.from_ids(dag, ["fc1[0]", "fc1[1]", "fc2[5]"])
    >>> cut, why = random_cut(dag, sel, lm.model, seed=0)
    >>> sorted({n.split("[")[0] for n in cut.nodes}), len(cut.nodes), cut == sel
    (['fc1', 'fc2'], 3, False)
    >>> sel_profile(dag, sel, lm.model).differences(sel_profile(dag, cut, lm.model))
    []
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter

from torch import nn

from explorer.graph.dag import Dag
from explorer.pruning.kept import EXACT, EXCHANGEABLE, KeptProfile, kept_profile
from explorer.pruning.operations import branches_of, merge_heads
from explorer.pruning.selection import Selection, fingerprint
from explorer.pruning.validity import Verdict, check

DRAWS = 40  # random draws of units or arcs before a control of the same size is declared not found
ARC_SETS = 400  # at most this many sets of arcs are tried (all of them when there are fewer)


def size_rule(granularity: str) -> str:
    """How a random structural cut's size is compared with its ticket's (`kept.EXACT` at unit level,
    `kept.EXCHANGEABLE` at op level, where a cut removes whole layers)."""
    return EXACT if granularity == "unit" else EXCHANGEABLE


def sel_profile(dag: Dag, sel: Selection | Verdict, model: nn.Module | None = None) -> KeptProfile:
    """The kept entries per parameter tensor once `sel` (or its verdict) is removed: at unit level the
    mask `apply` would build (needs `model`); at op level, every parameter no surviving op reads is gone
    (read from the traced graph, as the rewrite's dead-code elimination decides it)."""
    v = check(dag, sel) if isinstance(sel, Selection) else sel
    v.raise_if_invalid()
    if dag.granularity == "unit":
        from explorer.pruning.apply import unit_mask

        if model is None:
            raise ValueError("a unit-level cut's size needs the model its graph was built from; pass model=")
        return kept_profile(model, unit_mask(model, dag, v))
    gm = dag.meta.get("graph_module")
    if gm is None:
        raise ValueError(f"{dag.name or 'this model'} was traced without a torch.fx graph, so no op-level cut of it "
                         "can be rewritten or measured")
    dead = _dead_parameters(gm, set(v.removed_nodes))
    return KeptProfile(tuple((n, tuple(p.shape), 0 if n in dead else p.numel()) for n, p in gm.named_parameters()))


def _dead_parameters(gm: nn.Module, removed: set[str]) -> set[str]:
    """Parameters whose every reader is a removed node (or a helper node only removed nodes use)."""
    nodes = list(gm.graph.nodes)
    dead: set[str] = set()
    for node in reversed(nodes):  # users come after their inputs
        users = list(node.users)
        if node.name in removed or (node.op == "get_attr" and users and all(u.name in dead for u in users)):
            dead.add(node.name)
    names = [n for n, _ in gm.named_parameters()]
    readers: dict[str, list[str]] = {n: [] for n in names}
    for node in nodes:
        t = str(node.target)
        if node.op == "call_module":
            for n in names:
                if n.startswith(t + "."):
                    readers[n].append(node.name)
        elif node.op == "get_attr":
            for n in names:
                if n == t or n.startswith(t + "."):
                    readers[n].append(node.name)
    return {n for n, rs in readers.items() if rs and all(r in dead for r in rs)}


def random_cut(dag: Dag, selection: Selection, model: nn.Module | None = None,
               seed: int = 0) -> tuple[Selection | None, str]:
    """A random valid selection of `selection`'s kind and size (see the module doc), or (None, why not).
    `model` is the network `dag` was built from (needed at unit level)."""
    rng = random.Random(seed)
    note = f"random cut like {selection.note or 'the selection'} (seed {seed})"
    mine = check(dag, selection)
    mine.raise_if_invalid()
    target = sel_profile(dag, mine, model)
    rule = size_rule(dag.granularity)
    removed = (set(mine.removed_nodes), set(mine.removed_arcs))

    def fits(cand: Selection) -> tuple[bool, KeptProfile | None]:
        v = check(dag, cand)
        if not v.ok or (set(v.removed_nodes), set(v.removed_arcs)) == removed:
            return False, None
        p = sel_profile(dag, v, model)
        return not p.differences(target, rule), p

    def make(nodes=(), arcs=()) -> Selection:
        return Selection(dag.granularity, tuple(nodes), tuple(arcs), dag.name, fingerprint(dag), note)

    if selection.nodes and selection.arcs:
        return None, ("the selection removes both nodes and arcs; a random cut of the same kind is drawn for units, "
                      "a branch or a set of arcs alone, so no random control of the same size exists for it")
    if dag.granularity == "unit":
        if selection.arcs:
            return None, ("a unit-level arc is a single weight: its random control is a random mask of equal "
                          "per-layer counts, not a structural cut")
        per_layer = Counter(dag.node(n).meta.get("group") for n in selection.nodes)
        pools = {g: [x.id for x in dag.nodes if x.meta.get("group") == g] for g in per_layer}
        for _ in range(DRAWS):
            cut = make([n for g, k in per_layer.items() for n in rng.sample(pools[g], k)])
            if fits(cut)[0]:
                return cut, ""
        return None, (f"no other valid set of as many units per layer ({_counts(per_layer)}) keeps every layer at the "
                      f"ticket's count in {DRAWS} draws")
    if selection.nodes:
        options = [b for h in merge_heads(dag) for b in branches_of(dag, h) if b.nodes]
        return _pick(options, fits, target, rng, make, "branch into an add or cat node")
    heads = set(merge_heads(dag))
    pool = sorted(a.id for a in dag.arcs if a.dst in heads and a.id not in selection.arcs)
    k = len(selection.arcs)
    if len(pool) < k:
        return None, f"the graph has fewer than {k} other arcs into add or cat nodes, so no random cut of the same kind exists"
    if math.comb(len(pool), k) <= ARC_SETS:
        sets = [list(s) for s in itertools.combinations(pool, k)]
    else:
        sets = [rng.sample(pool, k) for _ in range(ARC_SETS)]
    return _pick([make(arcs=s) for s in sets], fits, target, rng, make,
                 f"set of {k} arc{'s' * (k != 1)} into add or cat nodes")


def _pick(options, fits, target: KeptProfile, rng: random.Random, make, kind: str) -> tuple[Selection | None, str]:
    """A random one of the `options` that fit; else None and the reason, naming the closest option."""
    good, near = [], []
    for o in options:
        ok, p = fits(o)
        if ok:
            good.append(o)
        elif p is not None:
            near.append((abs(p.kept - target.kept), o, p))
    if good:
        o = rng.choice(good)
        return make(o.nodes, o.arcs), ""
    removes = target.total - target.kept
    why = (f"no other {kind} removes layers of the same shapes as the ticket ({removes:,} parameters in "
           f"{_layers(target)}), so no random cut of the same size exists at op level")
    if near:
        _, o, p = min(near, key=lambda t: t[0])
        why += f"; the closest, {', '.join(o.ids[:3])}{' ...' if len(o.ids) > 3 else ''}, removes {p.total - p.kept:,}"
    return None, why + (". Compare the ticket with the reinit control, or cut units at unit level, whose random "
                        "control draws as many units per layer")


def _layers(p: KeptProfile) -> str:
    cut = [(s, k) for _, s, k in p.layers if k < math.prod(s)]
    c = Counter(s for s, _ in cut)
    return ", ".join(f"{n} tensor{'s' * (n != 1)} of {'×'.join(map(str, s)) or 'one entry'}"
                     for s, n in c.items()) or "no tensor"


def _counts(per_layer: Counter) -> str:
    return ", ".join(f"{k} of {g}" for g, k in per_layer.items())
