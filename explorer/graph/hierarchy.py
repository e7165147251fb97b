"""The module tree of an op graph, browsed in place: blocks open and close, repeats roll up.

`ModuleTree(op_dag)` groups the ops by module path: a tree node is a module holding more than one op
(a module with one op is that op); its items are its sub-modules and the ops it runs itself, in execution
order. Consecutive sibling modules of the same class whose op sub-graphs are identical (ops, shapes,
parameter counts and internal wiring: `block.signature`) form a *run*, drawn rolled up as one node
("LlamaDecoderLayer × 32").

`tree.view(opened)` is what is on show: `opened` holds the module paths that are open and the runs that are
un-rolled (by their id, `model.layers.0-31`). The root is always open. Every op belongs to exactly one visible
node (itself, or the closed module or rolled run holding it); the visible arcs bundle the op arcs between
visible nodes (`ops` arcs each, `skips` of them spanning more than one op level), so a residual shortcut
across closed blocks stays visible. A module or run whose collapse would close a cycle among its siblings
is shown open.

The layout is composed per opened block: each open module lays out its own items by longest path among
them (a closed item is 1 column wide, an open one as wide as its own layout), so opening a block widens
it in place and shifts only what comes after it; each module's layout is computed once per state of its
subtree. Levels keep meaning longest path in the op graph: each visible node carries its ops' level range.

    >>> from explorer.graph import build_dag
    >>> t = ModuleTree(build_dag("resnet_tiny"))
    >>> v = t.view(set())  # every module closed
    >>> [(n.id, n.kind, n.label) for n in v.nodes][:4]
    [('x', 'op', 'input'), ('stem', 'module', 'Sequential'), ('block1', 'module', 'BasicBlock'), ('block2', 'module', 'BasicBlock')]
    >>> len(t.view({"block1"}).nodes) > len(v.nodes)
    True
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

import networkx as nx

from explorer.graph.block import signature
from explorer.graph.dag import Dag


@dataclass(frozen=True)
class Run:
    """Consecutive identical sibling modules, rolled up."""

    id: str  # "model.layers.0-31"
    parent: str
    members: tuple[str, ...]  # module paths, in order
    cls: str


@dataclass(frozen=True)
class VisibleNode:
    id: str
    kind: str  # "op", "module" or "run"
    label: str  # the op, the module's class, "LlamaDecoderLayer × 32"
    path: str  # module path (run: its parent's path) ; op: its module
    ops: int  # how many op nodes it stands for
    params: int
    shape: tuple[int, ...] | None
    levels: tuple[int, int]  # lowest and highest op level of its ops
    x: int
    y: int
    depth: int  # how many open modules hold it
    repeat: int = 1


@dataclass(frozen=True)
class VisibleArc:
    src: str
    dst: str
    ops: int  # op arcs bundled
    skips: int  # of them, spanning more than one op level


@dataclass
class View:
    nodes: list[VisibleNode]
    arcs: list[VisibleArc]
    opened: frozenset[str]  # what is open, forced opens included
    boxes: list[tuple[str, int, int, int, int]] = field(default_factory=list)  # open module: x0, y0, w, h

    def node(self, node_id: str) -> VisibleNode:
        return next(n for n in self.nodes if n.id == node_id)


class HierarchyError(ValueError):
    """A module path, run or node that is not in the tree; the message says what is."""


class ModuleTree:
    """The module tree of `op_dag` (see the module doc)."""

    def __init__(self, op_dag: Dag) -> None:
        if op_dag.granularity != "op":
            raise HierarchyError(f"the module tree is built over an op graph, got granularity {op_dag.granularity!r}")
        self.dag = op_dag
        self.pos = {n.id: k for k, n in enumerate(op_dag.nodes)}
        fixed = set(op_dag.inputs) | set(op_dag.outputs)
        raw_ops: dict[str, list[str]] = defaultdict(list)  # module path -> ops in its subtree
        for n in op_dag.nodes:
            if n.id in fixed or not n.module:
                continue
            parts = n.module.split(".")
            for d in range(1, len(parts) + 1):
                raw_ops[".".join(parts[:d])].append(n.id)
        # tree nodes: the root "" and modules of 2+ ops (a module of one op is that op)
        self.ops: dict[str, list[str]] = {p: v for p, v in raw_ops.items() if len(v) > 1}
        self.ops[""] = [n.id for n in op_dag.nodes]
        self.chain: dict[str, list[str]] = {}  # op -> the tree nodes holding it, root first
        for n in op_dag.nodes:
            parts = n.module.split(".") if n.module and n.id not in fixed else []
            self.chain[n.id] = [""] + [p for p in (".".join(parts[:d]) for d in range(1, len(parts) + 1))
                                       if p in self.ops]
        children: dict[str, set[str]] = defaultdict(set)
        for op, ch in self.chain.items():
            for a, b in zip(ch, ch[1:]):
                children[a].add(b)
        first = {p: self.pos[v[0]] for p, v in self.ops.items()}
        self.items: dict[str, list[str]] = {}  # tree node -> its items (sub-modules, direct ops), in order
        for p in self.ops:
            direct = [op for op in self.ops[p] if self.chain[op][-1] == p]
            its = [(first[c], c) for c in children[p]] + [(self.pos[o], o) for o in direct]
            self.items[p] = [i for _, i in sorted(its)]
        self.parent = {c: p for p, cs in children.items() for c in cs}
        self.runs: dict[str, Run] = {}
        self.run_of: dict[str, str] = {}  # member module -> run id
        sig = {p: self._signature(p) for p in self.ops if p}
        for p, its in self.items.items():
            k = 0
            while k < len(its):
                m = its[k]
                j = k + 1
                if m in self.ops:
                    while (j < len(its) and its[j] in self.ops and sig[its[j]] == sig[m]
                           and self.cls(its[j]) == self.cls(m)):
                        j += 1
                if j - k > 1:
                    run = Run(_run_id(its[k:j]), p, tuple(its[k:j]), self.cls(m))
                    self.runs[run.id] = run
                    for q in run.members:
                        self.run_of[q] = run.id
                k = j
        self._layouts: dict[tuple, tuple] = {}

    # ---- facts ----------------------------------------------------------------------------------
    def cls(self, path: str) -> str:
        types = self.dag.meta.get("module_types") or {}
        return types.get(path) or ("model" if path == "" else "block")

    def _signature(self, path: str) -> str:
        members = [self.dag.node(i) for i in self.ops[path]]
        inside = set(self.ops[path])
        arcs = [a for i in self.ops[path] for a in self.dag.out_arcs(i) if a.dst in inside]
        return signature(members, arcs)

    @cached_property
    def _levels(self) -> dict[str, tuple[int, int]]:
        lv = self.dag.level
        return {p: (min(lv[i] for i in v), max(lv[i] for i in v)) for p, v in self.ops.items()}

    def summary(self, what: str) -> dict[str, Any]:
        """Ops, params, level range, output shape and class of a module path or run id."""
        if what in self.runs:
            run = self.runs[what]
            ops = [i for m in run.members for i in self.ops[m]]
            cls = f"{run.cls} × {len(run.members)}"
        elif what in self.ops:
            ops, cls = self.ops[what], self.cls(what)
        else:
            raise HierarchyError(f"{what!r} is neither a module of more than one op nor a run of this graph")
        lv = [self.dag.level[i] for i in ops]
        last = max(ops, key=lambda i: self.pos[i])
        return {"class": cls, "ops": len(ops), "params": sum(self.dag.node(i).params for i in ops),
                "levels": (min(lv), max(lv)), "shape": self.dag.node(last).shape}

    # ---- search ---------------------------------------------------------------------------------
    def find(self, query: str) -> str | None:
        """The module path or op id `query` names: `model.layers.17.self_attn`, the node-id spelling
        `model_layers_17_self_attn` (or a trailing part of either, `layers_17_self_attn`), or an op id;
        None when nothing does."""
        q = query.strip()
        if not q:
            return None
        if q in self.ops or q in self.chain:
            return q
        if q in self.runs:
            return q
        flat = re.sub(r"[^0-9A-Za-z]+", "_", q).strip("_")
        for p in sorted(self.ops, key=len):
            under = p.replace(".", "_")
            if p and (under == flat or under.endswith("_" + flat)):
                return p
        for n in self.dag.nodes:  # a module of one op: that op
            if n.module and (n.module == q or n.module.replace(".", "_").endswith(flat)):
                return n.id
        return None

    def reveal(self, target: str) -> set[str]:
        """What must be open for `target` (a module path, run id or op id) to be on show: its
        ancestors, and the runs holding them (or it)."""
        if target in self.runs:
            path = self.runs[target].parent
            chain = [""] + [p for p in self._prefixes(path) if p in self.ops]
            return self._with_runs(chain)
        if target in self.chain:  # an op
            return self._with_runs(self.chain[target])
        if target in self.ops:
            chain = [p for p in [""] + self._prefixes(target) if p in self.ops and p != target]
            return self._with_runs(chain) | ({self.run_of[target]} if target in self.run_of else set())
        raise HierarchyError(f"{target!r} is not a module, run or op of this graph")

    def _with_runs(self, chain: Iterable[str]) -> set[str]:
        out = set(chain) - {""}
        out |= {self.run_of[p] for p in out if p in self.run_of}
        return out

    @staticmethod
    def _prefixes(path: str) -> list[str]:
        parts = path.split(".") if path else []
        return [".".join(parts[:d]) for d in range(1, len(parts) + 1)]

    def default_open(self, budget: int = 30) -> set[str]:
        """Open modules breadth-first while the view stays within `budget` nodes (a rolled run counts one);
        only modules holding sub-modules open by themselves (a block of bare ops stays closed)."""
        opened: set[str] = set()
        frontier = [""]
        shown = 1
        while frontier:
            p = frontier.pop(0)
            its = self._folded_items(p, opened)
            if p and (shown - 1 + len(its) > budget or not any(i in self.ops or i in self.runs for i in its)):
                continue
            if p:
                opened.add(p)
                shown += len(its) - 1
            frontier += [i for i in its if i in self.ops]
        return opened

    # ---- the view -------------------------------------------------------------------------------
    def _folded_items(self, p: str, opened: set[str] | frozenset[str]) -> list[str]:
        """The items of open module `p` with rolled runs as one item (the run id)."""
        out: list[str] = []
        for i in self.items[p]:
            r = self.run_of.get(i)
            if r is not None and r not in opened:
                if not out or out[-1] != r:
                    out.append(r)
            else:
                out.append(i)
        return out

    def _item_graph(self, p: str, opened: frozenset[str], flat: frozenset[str]
                    ) -> tuple[list[str], dict[str, str], nx.DiGraph]:
        """The items of open module `p` (rolled runs as one, `flat` modules dissolved into their parent),
        which item holds each of its ops, and the arcs between items."""
        key = ("items", p, _under(opened, p), _under(flat, p))
        if key in self._layouts:
            return self._layouts[key]
        d0 = self.chain[self.ops[p][0]].index(p) + 1
        of: dict[str, str] = {}
        for op in self.ops[p]:
            ch = self.chain[op]
            d = d0
            while d < len(ch) and ch[d] in flat:
                d += 1
            item = ch[d] if d < len(ch) else op
            r = self.run_of.get(item)
            of[op] = r if r is not None and r not in opened else item
        its = list(dict.fromkeys(of[op] for op in sorted(self.ops[p], key=self.pos.__getitem__)))
        g = nx.DiGraph()
        g.add_nodes_from(its)
        for op in self.ops[p]:
            for a in self.dag.out_arcs(op):
                t = of.get(a.dst)
                if t is not None and t != of[op]:
                    g.add_edge(of[op], t)
        self._layouts[key] = (its, of, g)
        return its, of, g

    def _forced(self, opened: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
        """(`opened` plus the runs that must un-roll, the modules that must dissolve into their parent) so
        that no open module's items form a cycle (a module called twice with other ops in between)."""
        opened_s, flat = set(opened) | {""}, set()
        stack = [""]
        while stack:
            p = stack.pop()
            while True:
                its, _, g = self._item_graph(p, frozenset(opened_s), frozenset(flat))
                bad = [c for c in nx.strongly_connected_components(g) if len(c) > 1]
                if not bad:
                    break
                before = (len(opened_s), len(flat))
                for i in (i for c in bad for i in c):
                    if i in self.runs:
                        opened_s.add(i)
                    elif i in self.ops:
                        flat.add(i)
                        if i in self.run_of:
                            opened_s.add(self.run_of[i])
                if (len(opened_s), len(flat)) == before:  # cannot happen on a DAG: say so rather than loop
                    raise HierarchyError(f"the items of {p or 'the model'} form a cycle that opening cannot break")
            stack += [i for i in its if i in self.ops and i in opened_s]
        return frozenset(opened_s - {""}), frozenset(flat)

    def _layout(self, p: str, opened: frozenset[str], flat: frozenset[str]
                ) -> tuple[int, int, list[tuple[str, int, int, int]], list[tuple[str, int, int, int, int]]]:
        """(width, height, [(item id, x, y, depth)], [(open module, x, y, w, h)]) of open module `p`."""
        state = ("layout", p, _under(opened, p), _under(flat, p))
        if state in self._layouts:
            return self._layouts[state]
        its, _, g = self._item_graph(p, opened, flat)
        size: dict[str, tuple[int, int]] = {}
        inner: dict[str, tuple] = {}
        for i in its:
            if i in self.ops and i in opened:
                inner[i] = self._layout(i, opened, flat)
                size[i] = (inner[i][0], inner[i][1])
            else:
                size[i] = (1, 1)
        x: dict[str, int] = {}
        for i in nx.topological_sort(g):
            x[i] = max((x[u] + size[u][0] for u in g.predecessors(i)), default=0)
        taken: dict[int, set[int]] = defaultdict(set)
        placed: list[tuple[str, int, int, int]] = []
        boxes: list[tuple[str, int, int, int, int]] = []
        width = height = 0
        rank = {i: k for k, i in enumerate(its)}
        for i in sorted(its, key=lambda i: (x[i], rank[i])):
            w, h = size[i]
            y = 0
            while any(yy in taken[xx] for xx in range(x[i], x[i] + w) for yy in range(y, y + h)):
                y += 1
            for xx in range(x[i], x[i] + w):
                taken[xx].update(range(y, y + h))
            width, height = max(width, x[i] + w), max(height, y + h)
            if i in inner:
                boxes.append((i, x[i], y, w, h))
                placed += [(j, x[i] + jx, y + jy, d + 1) for j, jx, jy, d in inner[i][2]]
                boxes += [(b, x[i] + bx, y + by, bw, bh) for b, bx, by, bw, bh in inner[i][3]]
            else:
                placed.append((i, x[i], y, 0))
        out = (width, height, placed, boxes)
        self._layouts[state] = out
        return out

    def view(self, opened: Iterable[str] | None = None) -> View:
        """The visible graph with `opened` modules and un-rolled runs (default: `default_open()`)."""
        want = set(self.default_open() if opened is None else opened)
        unknown = sorted(w for w in want if w not in self.ops and w not in self.runs)
        if unknown:
            raise HierarchyError(f"not a module (of 2+ ops) or run of this graph: {', '.join(unknown[:5])}")
        # a module is on show only if its ancestors are open and the runs holding it un-rolled
        opened, flat = self._forced(frozenset(want))
        _, _, placed, boxes = self._layout("", opened, flat)
        where = {i: (x, y, d) for i, x, y, d in placed}
        rep: dict[str, str] = {}
        for i in where:
            for op in (self._run_ops(i) if i in self.runs else self.ops.get(i, [i])):
                rep[op] = i
        nodes = [self._node(i, x, y, d) for i, (x, y, d) in where.items()]
        nodes.sort(key=lambda n: (n.x, n.y))
        bundle: dict[tuple[str, str], list[int]] = {}
        lv = self.dag.level
        for a in self.dag.arcs:
            s, t = rep[a.src], rep[a.dst]
            if s != t:
                b = bundle.setdefault((s, t), [0, 0])
                b[0] += 1
                b[1] += lv[a.dst] - lv[a.src] > 1
        arcs = [VisibleArc(s, t, c, k) for (s, t), (c, k) in bundle.items()]
        return View(nodes, arcs, opened, boxes)

    def _run_ops(self, run_id: str) -> list[str]:
        return [i for m in self.runs[run_id].members for i in self.ops[m]]

    def _node(self, i: str, x: int, y: int, d: int) -> VisibleNode:
        if i in self.runs or i in self.ops:
            s = self.summary(i)
            kind = "run" if i in self.runs else "module"
            return VisibleNode(i, kind, s["class"], self.runs[i].parent if kind == "run" else i, s["ops"],
                               s["params"], s["shape"], s["levels"], x, y, d,
                               len(self.runs[i].members) if kind == "run" else 1)
        n = self.dag.node(i)
        lvl = self.dag.level[i]
        return VisibleNode(i, "op", n.op, n.module, 1, n.params, n.shape, (lvl, lvl), x, y, d)


def _under(keys: frozenset[str], p: str) -> frozenset[str]:
    """The keys (module paths, run ids) inside module `p` (all of them for the root)."""
    return keys if not p else frozenset(k for k in keys if k.startswith(p + "."))


def _run_id(members: list[str]) -> str:
    """`model.layers.0-31` for consecutive numbered siblings, else `first..last`."""
    head, _, a = members[0].rpartition(".")
    _, _, b = members[-1].rpartition(".")
    if a.isdigit() and b.isdigit():
        return f"{head}.{a}-{b}" if head else f"{a}-{b}"
    return f"{members[0]}..{members[-1]}"
