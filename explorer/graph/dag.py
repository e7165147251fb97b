"""The DAG-DNN: a directed acyclic graph whose arcs carry functions (docs/science.md §1).

`Dag` is the one value every later stage reads: the lifting decomposition, the
pruning selection, the figures. It is built by a tracer (`explorer.graph.trace`,
`explorer.graph.unit`, `explorer.graph.block`, `explorer.graph.onnx_file`) and never mutated
afterwards; a pruned graph is a new `Dag`.

    >>> dag = Dag.build(
    ...     nodes=[Node("x", "input"), Node("h", "linear"), Node("y", "linear")],
    ...     arcs=[Arc("x", "h"), Arc("h", "y"), Arc("x", "y")],
    ...     granularity="op",
    ... )
    >>> dag.level
    {'x': 0, 'h': 1, 'y': 2}
    >>> dag.levels()
    [['x'], ['h'], ['y']]
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import cached_property
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx

from explorer.graph.levels import longest_path_levels

Granularity = Literal["unit", "op", "block"]
GRANULARITIES: tuple[str, ...] = ("unit", "op", "block")


class DagError(ValueError):
    """A graph that breaks a DAG-DNN invariant; the message says what, where and the fix."""


@dataclass(frozen=True)
class Node:
    """One vertex: a neuron/channel (unit), a traced tensor (op) or a module block (block).

    `id` is unique and stable across runs (it is what selections and the CLI name).
    `shape` is the output shape *without* the batch dimension, e.g. (64, 56, 56).
    `meta` holds extra, JSON-serialisable facts (e.g. `signature` of a repeated block,
    `members` of a collapsed block, `activation` at unit level).
    """

    id: str
    op: str
    module: str = ""
    shape: tuple[int, ...] | None = None
    params: int = 0
    macs: int = 0
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise DagError("a node needs a non-empty id")
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "op": self.op,
            "module": self.module,
            "shape": list(self.shape) if self.shape is not None else None,
            "params": self.params,
            "macs": self.macs,
            **({"meta": self.meta} if self.meta else {}),
        }


@dataclass(frozen=True)
class Arc:
    """A directed arc `src -> dst` carrying the function `label` (e.g. "conv3x3 64→64", "id").

    `kind` says how the arc enters its head: "linear" (summed, docs/science.md §2),
    "identity" (summed, the function is x ↦ x), "nonlinear" (summed, but the arc
    function itself is nonlinear, e.g. a max-pool) or "joint" (the head combines its
    inputs non-additively: mul, matmul, attention — the entry spans several columns).
    `weight` is the real entry at unit level for scalar arcs, else None.
    """

    src: str
    dst: str
    label: str = ""
    kind: str = "linear"
    weight: float | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    ARC_KINDS = ("linear", "identity", "nonlinear", "joint")

    def __post_init__(self) -> None:
        if self.kind not in self.ARC_KINDS:
            raise DagError(f"arc {self.src}->{self.dst}: kind {self.kind!r} is not one of {self.ARC_KINDS}")
        object.__setattr__(self, "_id", f"{self.src}->{self.dst}")  # read in every graph walk: made once

    @property
    def id(self) -> str:
        return self._id  # type: ignore[attr-defined]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"src": self.src, "dst": self.dst, "label": self.label, "kind": self.kind}
        if self.weight is not None:
            out["weight"] = self.weight
        if self.meta:
            out["meta"] = self.meta
        return out


@dataclass(frozen=True)
class Dag:
    """A DAG-DNN: nodes in a stable order, arcs, and each node's level.

    Build one with `Dag.build(...)`, which computes levels and runs `lint()`.
    Node order is `(level, stable index)` — the order of rows and columns of every
    lifting matrix.
    """

    nodes: tuple[Node, ...]
    arcs: tuple[Arc, ...]
    granularity: str
    level: dict[str, int]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    # ---- construction ---------------------------------------------------------------
    @classmethod
    def build(
        cls,
        nodes: Iterable[Node],
        arcs: Iterable[Arc],
        granularity: str,
        inputs: Sequence[str] | None = None,
        outputs: Sequence[str] | None = None,
        name: str = "",
        meta: dict[str, Any] | None = None,
    ) -> Dag:
        """Compute levels, order nodes by (level, insertion index), and lint."""
        nodes = list(nodes)
        arcs = list(arcs)
        if granularity not in GRANULARITIES:
            raise DagError(f"granularity {granularity!r} is not one of {GRANULARITIES}")
        ids = [n.id for n in nodes]
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                raise DagError(f"node id {i!r} appears twice; node ids must be unique")
            seen.add(i)
        for a in arcs:
            for end in (a.src, a.dst):
                if end not in seen:
                    raise DagError(f"arc {a.id} names node {end!r}, which is not in the graph")
        level = longest_path_levels(ids, [(a.src, a.dst) for a in arcs])
        index = {n.id: k for k, n in enumerate(nodes)}
        ordered = tuple(sorted(nodes, key=lambda n: (level[n.id], index[n.id])))
        has_in = {a.dst for a in arcs}
        has_out = {a.src for a in arcs}
        if inputs is None:
            inputs = [n.id for n in ordered if n.id not in has_in]
        if outputs is None:
            outputs = [n.id for n in ordered if n.id not in has_out]
        dag = cls(
            nodes=ordered,
            arcs=tuple(arcs),
            granularity=granularity,
            level=level,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            name=name,
            meta=dict(meta or {}),
        )
        dag.lint()
        return dag

    # ---- invariants -----------------------------------------------------------------
    def lint(self) -> None:
        """Check the DAG-DNN invariants, as `torch.fx.Graph.lint` does; raise `DagError` on the first broken one."""
        ids = {n.id for n in self.nodes}
        for i in self.inputs:
            if i not in ids:
                raise DagError(f"input {i!r} is not a node of the graph")
            if self.level[i] != 0:
                raise DagError(f"input {i!r} has level {self.level[i]}, but inputs must have level 0; "
                               "an input node must have no incoming arcs")
        for o in self.outputs:
            if o not in ids:
                raise DagError(f"output {o!r} is not a node of the graph")
        for a in self.arcs:
            if self.level[a.dst] <= self.level[a.src]:
                raise DagError(
                    f"arc {a.id} goes from level {self.level[a.src]} to level {self.level[a.dst]}; "
                    "every arc must rise in level (is the graph acyclic?)"
                )
        order = [n.id for n in self.nodes]
        pos = {i: k for k, i in enumerate(order)}
        for a in self.arcs:
            if pos[a.src] >= pos[a.dst]:
                raise DagError(f"arc {a.id} points up the node order; the lifting matrices would not be "
                               "lower-triangular")
        for n in self.nodes:
            if self.level[n.id] > 0 and not any(True for _ in self.predecessors(n.id)):
                raise DagError(f"node {n.id!r} has level {self.level[n.id]} but no incoming arc")

    # ---- queries --------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """L, the highest level."""
        return max(self.level.values(), default=0)

    def node(self, node_id: str) -> Node:
        try:
            return self._index[node_id]
        except KeyError:
            raise KeyError(f"no node {node_id!r} in {self.name or 'the graph'}; "
                           f"ids look like {', '.join(n.id for n in self.nodes[:3])}, ...") from None

    @cached_property
    def _index(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}

    @cached_property
    def id_digest(self) -> str:
        """A short hash of the granularity and the node and arc ids (computed once per graph): two
        graphs with the same digest have the same structure and names."""
        h = hashlib.sha256()
        h.update(self.granularity.encode())
        for n in self.nodes:
            h.update(b"n" + n.id.encode())
        for a in self.arcs:
            h.update(b"a" + a.id.encode())
        return h.hexdigest()[:16]

    def order(self) -> list[str]:
        """Node ids in (level, stable index) order: the rows/columns of every T_l."""
        return [n.id for n in self.nodes]

    def levels(self) -> list[list[str]]:
        """The partition V_0, V_1, ..., V_L (each in stable order)."""
        out: list[list[str]] = [[] for _ in range(self.depth + 1)]
        for n in self.nodes:
            out[self.level[n.id]].append(n.id)
        return out

    def predecessors(self, node_id: str) -> list[str]:
        return [a.src for a in self._in.get(node_id, [])]

    def successors(self, node_id: str) -> list[str]:
        return [a.dst for a in self._out.get(node_id, [])]

    def in_arcs(self, node_id: str) -> list[Arc]:
        return list(self._in.get(node_id, []))

    def out_arcs(self, node_id: str) -> list[Arc]:
        return list(self._out.get(node_id, []))

    @cached_property
    def _in(self) -> dict[str, list[Arc]]:
        out: dict[str, list[Arc]] = {}
        for a in self.arcs:
            out.setdefault(a.dst, []).append(a)
        return out

    @cached_property
    def _out(self) -> dict[str, list[Arc]]:
        out: dict[str, list[Arc]] = {}
        for a in self.arcs:
            out.setdefault(a.src, []).append(a)
        return out

    def to_networkx(self) -> nx.DiGraph:
        g = nx.DiGraph()
        for n in self.nodes:
            g.add_node(n.id, op=n.op, level=self.level[n.id])
        for a in self.arcs:
            g.add_edge(a.src, a.dst, label=a.label, kind=a.kind)
        return g

    def summary(self) -> dict[str, Any]:
        """Counts for the summary panel: nodes, arcs, levels, params, MACs, level histogram."""
        hist = [len(v) for v in self.levels()]
        return {
            "name": self.name,
            "granularity": self.granularity,
            "nodes": len(self.nodes),
            "arcs": len(self.arcs),
            "levels": self.depth + 1,
            "params": sum(n.params for n in self.nodes),
            "macs": sum(n.macs for n in self.nodes),
            "level_histogram": hist,
            "skip_arcs": sum(1 for a in self.arcs if self.level[a.dst] - self.level[a.src] > 1),
        }

    # ---- serialisation --------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The CLI's `levels --json` document: nodes with their level, and arcs as [src, dst]."""
        return {
            "name": self.name,
            "granularity": self.granularity,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "warnings": list(self.meta.get("warnings", [])),
            "nodes": [{**n.to_json(), "level": self.level[n.id]} for n in self.nodes],
            "arcs": [[a.src, a.dst] for a in self.arcs],
            "arc_labels": [a.to_json() for a in self.arcs],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, default=json_default)

    def __repr__(self) -> str:
        return (f"Dag({self.name or '?'}, {self.granularity}: {len(self.nodes)} nodes, "
                f"{len(self.arcs)} arcs, levels 0..{self.depth})")

    def replace(self, **changes: Any) -> Dag:
        return dataclasses.replace(self, **changes)


def json_default(o: Any) -> Any:
    """`json.dumps`' fallback for graph data: sets and tuples as lists, numpy/torch scalars as numbers, else str."""
    if isinstance(o, (set, tuple)):
        return list(o)
    if hasattr(o, "item"):
        return o.item()
    return str(o)
