"""Validity of a selection, decided on the graph alone, before anything changes (docs/science.md §3).

Removing a node replaces its value by zeros of its shape; removing an arc replaces
that input of its head by zeros. What follows from that, node by node in level order:

- an *additive* head (add/sub, a `cat` slot, a unit-level sum: every head whose arcs
  are not "joint") may lose some inputs — the lost ones contribute zero;
- a node that loses *all* its inputs computes nothing from the input any more: it dies
  with them (reported as `disconnected`), and so do its arcs;
- a *joint* head (mul, matmul, attention) that loses some but not all inputs is refused:
  `x * 0` is not "the rest of the product";
- a node no output depends on any more (a dead end) is disconnected too;
- inputs and outputs cannot be removed, and every output must stay reachable from an input;
- at unit level the removal must be realisable by a mask (`unit_plan`): an arc whose
  weight entry is shared with a surviving arc, or that carries no weight (identity,
  pooling), goes only if its source is exactly zero;
- at op level, values that are not tensors (shapes, sizes: `shape is None`) cannot be
  zeroed; they keep being computed (from zeros, which have the same shape).

`check` returns a `Verdict`; when it refuses, `suggestion` is the nearest valid
selection found (the refused items dropped, or a joint head taken whole).

    >>> from explorer.graph.dag import Arc, Dag, Node
    >>> dag = Dag.build([Node("x", "input"), Node("a", "conv"), Node("add", "add"), Node("y", "linear")],
    ...                 [Arc("x", "a"), Arc("a", "add"), Arc("x", "add", kind="identity"), Arc("add", "y")],
    ...                 "op", name="toy")
    >>> check(dag, Selection("op", arcs=("a->add",))).disconnected   # the branch goes with its arc
    ('a',)
    >>> v = check(dag, Selection("op", arcs=("add->y",)))
    >>> v.ok, v.reasons[0]
    (False, 'cannot remove arc add->y: node y would have no input; keep at least one of its inputs')
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from explorer.graph.dag import Dag, Node
from explorer.graph.memo import PerGraph
from explorer.graph.ops import JOINT_OPS, SIZE_OPS
from explorer.pruning.selection import Selection

# Above this many selected items the greedy search for a suggestion would cost too much.
_GREEDY_LIMIT = 300


@dataclass(frozen=True)
class Verdict:
    """The outcome of `check`: `ok`, the `reasons` it is not (each names a node/arc and a fix),
    every node and arc the selection removes (`removed_*`, selected ones included), the
    nodes removed only as a consequence (`disconnected`), and a valid `suggestion` when refused."""

    ok: bool
    reasons: tuple[str, ...] = ()
    removed_nodes: tuple[str, ...] = ()
    removed_arcs: tuple[str, ...] = ()
    disconnected: tuple[str, ...] = ()
    suggestion: Selection | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        head = "valid" if self.ok else f"refused ({len(self.reasons)} reason{'s' * (len(self.reasons) != 1)})"
        return (f"Verdict({head}: removes {len(self.removed_nodes)} nodes, {len(self.removed_arcs)} arcs, "
                f"{len(self.disconnected)} disconnected)")

    def raise_if_invalid(self) -> None:
        if not self.ok:
            raise InvalidSelection(self)


class InvalidSelection(ValueError):
    """Raised by `apply` on a refused selection; carries the `Verdict`."""

    def __init__(self, verdict: Verdict):
        self.verdict = verdict
        super().__init__("; ".join(verdict.reasons))


def is_tensor(dag: Dag, node: Node) -> bool:
    """At op level some nodes are Python values (a size, a dim), not tensors: the tracer says
    so with `meta["tensor"] = False`, or the op is a size query."""
    if dag.granularity != "op":
        return True
    if "tensor" in node.meta:
        return bool(node.meta["tensor"])
    return node.op not in SIZE_OPS


def is_joint(dag: Dag, node_id: str) -> bool:
    n = dag.node(node_id)
    return n.op in JOINT_OPS or any(a.kind == "joint" for a in dag.in_arcs(node_id))


def check(dag: Dag, selection: Selection) -> Verdict:
    """Decide whether removing `selection` from `dag` leaves a working network; change nothing.

    A verdict is a function of the graph and the selection alone, and one selection is checked many times
    on its way (the Prune page's summary and counts, `apply`, the export, each training role), so the
    last verdicts per graph object are kept (`explorer.graph.memo`; `Verdict` is immutable)."""
    selection.check_ids(dag)
    return _VERDICTS.get(dag, selection, lambda: _verdict(dag, selection))


def _verdict(dag: Dag, selection: Selection) -> Verdict:
    verdict, bad = _check(dag, selection)
    if verdict.ok:
        return verdict
    return Verdict(False, verdict.reasons, verdict.removed_nodes, verdict.removed_arcs,
                   verdict.disconnected, _suggest(dag, selection, bad))


_VERDICTS = PerGraph(keep=64)  # a class of thirty students each checks a few selections on one graph


def _check(dag: Dag, sel: Selection) -> tuple[Verdict, dict[str, set[str]]]:
    """The verdict plus `bad`: items to drop (`"drop"`) and joint heads to take whole (`"extend"`)."""
    reasons: list[str] = []
    bad: dict[str, set[str]] = {"drop": set(), "extend": set()}
    ends_in, ends_out = set(dag.inputs), set(dag.outputs)
    sel_nodes, sel_arcs = set(sel.nodes), set(sel.arcs)

    for n in sel.nodes:
        if n in ends_in:
            reasons.append(f"cannot remove node {n}: it is an input of the network; select what it feeds instead")
            bad["drop"].add(n)
        elif n in ends_out:
            reasons.append(f"cannot remove node {n}: it is an output of the network; select what feeds it instead")
            bad["drop"].add(n)
        elif not is_tensor(dag, dag.node(n)):
            reasons.append(f"cannot remove node {n}: it computes a shape/size value ({dag.node(n).op}), "
                           "not a tensor; select the tensor it reads instead")
            bad["drop"].add(n)
    for a in sel.arcs:
        src, dst = a.split("->")
        if not (is_tensor(dag, dag.node(src)) and is_tensor(dag, dag.node(dst))):
            reasons.append(f"cannot remove arc {a}: it carries a shape/size value, not a tensor; "
                           "remove a tensor arc or node instead")
            bad["drop"].add(a)

    # forward, in level order: which nodes die, which arcs go
    dead: set[str] = set(sel_nodes)
    gone: set[str] = set(sel_arcs)
    disconnected: list[str] = []
    root: dict[str, tuple[str, str, set[str]]] = {}  # dead node -> (first node that died, cause, culprits)
    for node in dag.nodes:
        v = node.id
        ins = dag.in_arcs(v)
        if not ins or v in dead:
            continue
        lost = [a for a in ins if a.id in gone or a.src in dead]
        if not lost:
            continue
        if not is_tensor(dag, node):
            continue  # a size computed from zeros is the same size
        data_ins = [a for a in ins if is_tensor(dag, dag.node(a.src))]
        lost_data = [a for a in lost if is_tensor(dag, dag.node(a.src))]
        if data_ins and len(lost_data) == len(data_ins):
            dead.add(v)
            disconnected.append(v)
            inherited = [root[a.src] for a in lost_data if a.src in root]
            root[v] = inherited[0] if inherited and len(inherited) == len(lost_data) else \
                (v, _cause(lost_data, sel_arcs, sel_nodes), _culprits(lost_data, sel_arcs, sel_nodes))
            if v in ends_out:
                first, why, culprits = root[v]
                via = "" if first == v else f", so output {v} would no longer depend on the input"
                reasons.append(f"cannot remove {why}: node {first} would have no input{via}; "
                               "keep at least one of its inputs")
                bad["drop"].update(culprits or _culprits(lost_data, sel_arcs, sel_nodes))
        elif lost_data and is_joint(dag, v):
            why = _cause(lost_data, sel_arcs, sel_nodes)
            keep = ", ".join(a.src for a in data_ins if a not in lost_data)
            reasons.append(f"cannot remove {why}: node {v} ({node.op}) combines its inputs jointly and would "
                           f"keep only {keep}; remove node {v} as well, or keep all its inputs")
            bad["extend"].add(v)
            bad["drop"].update(_culprits(lost_data, sel_arcs, sel_nodes))
        for a in lost:
            gone.add(a.id)
    for v in dead:
        for a in dag.out_arcs(v):
            gone.add(a.id)
        for a in dag.in_arcs(v):
            gone.add(a.id)

    # every output must stay reachable from an input along surviving arcs
    reach = _reach(dag, dag.inputs, dead, gone, forward=True)
    for o in dag.outputs:
        if o not in dead and o not in reach:
            reasons.append(f"output {o} would no longer be reachable from the input "
                           f"{', '.join(dag.inputs)}; keep a path to it")
            bad["drop"].update(sel.ids)

    # backward: nodes no output needs any more are dead ends
    needed = _reach(dag, dag.outputs, dead, gone, forward=False)
    for node in dag.nodes:
        v = node.id
        if v in dead or v in needed or v in ends_in or not is_tensor(dag, node):
            continue
        dead.add(v)
        disconnected.append(v)
        for a in dag.in_arcs(v) + dag.out_arcs(v):
            gone.add(a.id)

    if dag.granularity == "unit" and not reasons:
        from explorer.pruning.unit_plan import unit_plan

        plan = unit_plan(dag, _Removal(tuple(dead), tuple(gone)))
        reasons.extend(plan.reasons)
        drop = {c for c in plan.culprits if c in sel_arcs or c in sel_nodes}
        bad["drop"].update(drop or sel.ids)

    order = {n.id: k for k, n in enumerate(dag.nodes)}
    arc_order = {a.id: k for k, a in enumerate(dag.arcs)}
    verdict = Verdict(
        ok=not reasons,
        reasons=tuple(dict.fromkeys(reasons)),
        removed_nodes=tuple(sorted(dead, key=order.__getitem__)),
        removed_arcs=tuple(sorted(gone, key=arc_order.__getitem__)),
        disconnected=tuple(sorted(set(disconnected) - sel_nodes, key=order.__getitem__)),
    )
    return verdict, bad


@dataclass(frozen=True)
class _Removal:
    removed_nodes: tuple[str, ...]
    removed_arcs: tuple[str, ...]


def _reach(dag: Dag, start, dead: set[str], gone: set[str], forward: bool) -> set[str]:
    seen = {s for s in start if s not in dead}
    todo = deque(seen)
    while todo:
        u = todo.popleft()
        for a in (dag.out_arcs(u) if forward else dag.in_arcs(u)):
            w = a.dst if forward else a.src
            if a.id in gone or w in dead or w in seen:
                continue
            seen.add(w)
            todo.append(w)
    return seen


def _cause(lost, sel_arcs: set[str], sel_nodes: set[str]) -> str:
    """Name what the user selected that cut these arcs: 'arc u->v', or 'node u' (selected or disconnected)."""
    parts = []
    for a in lost:
        if a.id in sel_arcs:
            parts.append(f"arc {a.id}")
        elif a.src in sel_nodes:
            parts.append(f"node {a.src}")
        else:
            parts.append(f"node {a.src} (disconnected)")
    return " and ".join(parts) if len(parts) <= 3 else ", ".join(parts[:3]) + f" and {len(parts) - 3} more"


def _culprits(lost, sel_arcs: set[str], sel_nodes: set[str]) -> set[str]:
    out = set()
    for a in lost:
        if a.id in sel_arcs:
            out.add(a.id)
        if a.src in sel_nodes:
            out.add(a.src)
    return out


def _suggest(dag: Dag, sel: Selection, bad: dict[str, set[str]]) -> Selection | None:
    """The nearest valid selection: first try taking refused joint heads whole, then dropping
    the offending items, then (for small selections) a greedy maximal valid subset."""
    note = (sel.note + " (suggested)").strip()
    candidates = []
    if bad["extend"]:
        candidates.append(sel.with_items(nodes=bad["extend"]))
    direct = bad["drop"]
    if direct and direct != set(sel.ids):
        candidates.append(sel.without(direct))
    for cand in candidates:
        for _ in range(4):  # a fix can expose the next problem; follow a few steps
            v, b = _check(dag, cand)
            if v.ok:
                return _with_note(cand, note) if not cand.is_empty() else None
            nxt = cand.with_items(nodes=b["extend"]) if b["extend"] else cand.without(b["drop"])
            if nxt == cand:
                break
            cand = nxt
    if len(sel) > _GREEDY_LIMIT:
        return None
    kept = Selection(sel.granularity, model=sel.model, fingerprint=sel.fingerprint)
    for item in sel.ids:
        trial = kept.with_items(arcs=[item]) if "->" in item else kept.with_items(nodes=[item])
        if _check(dag, trial)[0].ok:
            kept = trial
    return None if kept.is_empty() else _with_note(kept, note)


def _with_note(sel: Selection, note: str) -> Selection:
    return replace(sel, note=note)
