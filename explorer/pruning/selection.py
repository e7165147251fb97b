"""Selection: the nodes and arcs of a DAG-DNN that are to be removed (docs/science.md §3).

A `Selection` is a plain value: a granularity, a sorted set of node ids and a sorted
set of arc ids (`"src->dst"`, as `levels --json` prints them), plus the model spec it
was made on. It says nothing about whether removing them is allowed — that is
`explorer.pruning.validity.check` — and changes nothing — that is
`explorer.pruning.apply`.

    >>> from explorer.graph.dag import Arc, Dag, Node
    >>> dag = Dag.build([Node("x", "input"), Node("h", "linear", module="fc1"),
    ...                  Node("y", "add")],
    ...                 [Arc("x", "h"), Arc("h", "y"), Arc("x", "y", kind="identity")],
    ...                 "op", name="toy")
    >>> s = Selection.from_ids(dag, ["h", "x->y"])
    >>> s
    Selection(op on toy: 1 node [h], 1 arc [x->y])
    >>> Selection.from_json(s.to_json()) == s
    True
    >>> Selection.from_ids(dag, ["hh"])
    Traceback (most recent call last):
    ...
    explorer.pruning.selection.SelectionError: toy has no node 'hh' (did you mean 'h'?); ids are as printed by `python -m explorer levels toy --json`
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from explorer.graph.dag import GRANULARITIES, Dag

FORMAT = "explorer-selection/1"


class SelectionError(ValueError):
    """A selection that names nothing real, or does not belong to the graph it is used on."""


def split_arc(arc_id: str) -> tuple[str, str]:
    """`"conv1->add_3"` -> `("conv1", "add_3")`; refuses anything else."""
    parts = arc_id.split("->")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise SelectionError(f"arc id {arc_id!r} must look like 'src->dst' (one arrow, two node ids)")
    return parts[0].strip(), parts[1].strip()


def fingerprint(dag: Dag) -> str:
    """A short hash of the graph's node and arc ids (`Dag.id_digest`): a saved selection re-applies
    only to a graph with the same fingerprint (same model spec, granularity and structure)."""
    return dag.id_digest


@dataclass(frozen=True)
class Selection:
    """Nodes and arcs to remove, at one granularity.

    `nodes`/`arcs` are stored sorted and unique, so two selections of the same items
    compare equal however they were made. `model` is the model spec the ids belong to
    ("" when unknown); `fingerprint` the graph's `fingerprint(dag)` ("" when unknown);
    `note` says where the selection came from (e.g. "magnitude 50% layer").
    """

    granularity: str
    nodes: tuple[str, ...] = ()
    arcs: tuple[str, ...] = ()
    model: str = ""
    fingerprint: str = field(default="", compare=False)
    note: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.granularity not in GRANULARITIES:
            raise SelectionError(f"selection granularity {self.granularity!r} is not one of {GRANULARITIES}")
        if isinstance(self.nodes, str) or isinstance(self.arcs, str):
            raise SelectionError("nodes and arcs must be sequences of ids, not one string")
        nodes = tuple(sorted({str(n).strip() for n in self.nodes}))
        if "" in nodes:
            raise SelectionError("a selected node id is empty")
        for n in nodes:
            if "->" in n:
                raise SelectionError(f"{n!r} looks like an arc id; put it in `arcs`, not `nodes`")
        arcs = tuple(sorted({"->".join(split_arc(str(a))) for a in self.arcs}))
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "arcs", arcs)

    # ---- construction -----------------------------------------------------------------
    @classmethod
    def empty(cls, dag: Dag) -> Selection:
        return cls(dag.granularity, model=dag.name, fingerprint=fingerprint(dag))

    @classmethod
    def from_ids(cls, dag: Dag, ids: Iterable[str], note: str = "") -> Selection:
        """Node ids and arc ids (`"src->dst"`) mixed, as the CLI's `--select` takes them;
        every id must exist in `dag` (an unknown one raises with the closest match)."""
        nodes, arcs = [], []
        for i in ids:
            i = str(i).strip()
            (arcs if "->" in i else nodes).append(i)
        sel = cls(dag.granularity, tuple(nodes), tuple(arcs), dag.name, fingerprint(dag), note)
        sel.check_ids(dag)
        return sel

    @classmethod
    def from_filter(
        cls,
        dag: Dag,
        *,
        module: str | None = None,
        regex: str | None = None,
        op: str | Sequence[str] | None = None,
        levels: tuple[int, int] | None = None,
        what: str = "nodes",
    ) -> Selection:
        """Every node matching all given filters (or, with `what="arcs"`, every arc whose
        head matches): `module` a glob on the module path (`"block1.*"`), `regex` a
        regular expression searched in the node id and module path, `op` one op type or
        several, `levels` an inclusive range `(lo, hi)`. Inputs and outputs are never
        picked by a filter (removing them is never valid)."""
        if what not in ("nodes", "arcs"):
            raise SelectionError(f"what={what!r}: choose 'nodes' or 'arcs'")
        try:
            rx = re.compile(regex) if regex else None
        except re.error as e:
            raise SelectionError(f"regular expression {regex!r} does not compile: {e}") from e
        ops = {op} if isinstance(op, str) else set(op or ())
        if levels is not None:
            lo, hi = int(levels[0]), int(levels[1])
            if lo > hi:
                raise SelectionError(f"level range ({lo}, {hi}) is empty; give (lo, hi) with lo <= hi")
        ends = set(dag.inputs) | set(dag.outputs)

        def match(nid: str) -> bool:
            n = dag.node(nid)
            if nid in ends:
                return False
            if module and not fnmatch.fnmatchcase(n.module, module):
                return False
            if rx is not None and not (rx.search(n.id) or rx.search(n.module)):
                return False
            if ops and n.op not in ops:
                return False
            return levels is None or lo <= dag.level[nid] <= hi

        note = "filter " + ", ".join(f"{k}={v!r}" for k, v in
                                     [("module", module), ("regex", regex), ("op", op), ("levels", levels)] if v)
        if what == "nodes":
            return cls(dag.granularity, tuple(n.id for n in dag.nodes if match(n.id)), (),
                       dag.name, fingerprint(dag), note)
        return cls(dag.granularity, (), tuple(a.id for a in dag.arcs if match(a.dst)),
                   dag.name, fingerprint(dag), note)

    # ---- algebra ----------------------------------------------------------------------
    def __or__(self, other: Selection) -> Selection:
        self._same_kind(other)
        return replace(self, nodes=self.nodes + other.nodes, arcs=self.arcs + other.arcs,
                       note=" + ".join(x for x in (self.note, other.note) if x))

    def __sub__(self, other: Selection) -> Selection:
        self._same_kind(other)
        return replace(self, nodes=tuple(set(self.nodes) - set(other.nodes)),
                       arcs=tuple(set(self.arcs) - set(other.arcs)))

    def with_items(self, nodes: Iterable[str] = (), arcs: Iterable[str] = ()) -> Selection:
        return replace(self, nodes=self.nodes + tuple(nodes), arcs=self.arcs + tuple(arcs))

    def without(self, items: Iterable[str]) -> Selection:
        """Drop the given node and arc ids (ids not selected are ignored)."""
        drop = set(items)
        return replace(self, nodes=tuple(n for n in self.nodes if n not in drop),
                       arcs=tuple(a for a in self.arcs if a not in drop))

    def _same_kind(self, other: Selection) -> None:
        if self.granularity != other.granularity:
            raise SelectionError(f"cannot combine a {self.granularity} selection with a {other.granularity} one")

    # ---- facts ------------------------------------------------------------------------
    @property
    def ids(self) -> tuple[str, ...]:
        """Nodes then arcs, as `from_ids` takes them."""
        return self.nodes + self.arcs

    def arc_pairs(self) -> list[tuple[str, str]]:
        return [split_arc(a) for a in self.arcs]

    def is_empty(self) -> bool:
        return not self.nodes and not self.arcs

    def __len__(self) -> int:
        return len(self.nodes) + len(self.arcs)

    def __repr__(self) -> str:
        def show(items: tuple[str, ...], word: str) -> str:
            head = ", ".join(items[:4]) + (", ..." if len(items) > 4 else "")
            return f"{len(items)} {word}{'' if len(items) == 1 else 's'} [{head}]"

        on = f" on {self.model}" if self.model else ""
        return f"Selection({self.granularity}{on}: {show(self.nodes, 'node')}, {show(self.arcs, 'arc')})"

    # ---- checks against a graph -------------------------------------------------------
    def check_ids(self, dag: Dag) -> None:
        """Raise `SelectionError` naming the first id that is not in `dag` (with the closest match)."""
        if self.granularity != dag.granularity:
            raise SelectionError(f"this is a {self.granularity}-level selection but the graph is at "
                                 f"{dag.granularity} level; rebuild the graph with granularity={self.granularity!r}")
        name = dag.name or "the graph"
        hint = (f"; ids are as printed by `python -m explorer levels {dag.name} --json`" if dag.name else "")
        node_ids = [n.id for n in dag.nodes]
        known = set(node_ids)
        for n in self.nodes:
            if n not in known:
                raise SelectionError(f"{name} has no node {n!r}{_close(n, node_ids)}{hint}")
        arc_ids = {a.id for a in dag.arcs}
        for a in self.arcs:
            if a not in arc_ids:
                src, dst = split_arc(a)
                if src not in known or dst not in known:
                    bad = src if src not in known else dst
                    raise SelectionError(f"arc {a}: {name} has no node {bad!r}{_close(bad, node_ids)}{hint}")
                raise SelectionError(f"{name} has no arc {a}; {dst} takes its inputs from "
                                     f"{', '.join(dag.predecessors(dst)) or 'nothing'}")

    def check_against(self, dag: Dag, model: str | None = None) -> None:
        """Before re-applying a saved selection: the model spec, the granularity, the graph's
        fingerprint (when recorded) and every id must match `dag`; raise `SelectionError` saying which did not."""
        model = dag.name if model is None else model
        if self.model and model and self.model != model:
            raise SelectionError(f"this selection was made on model {self.model!r}, not {model!r}; "
                                 f"load {self.model!r} to re-apply it")
        self.check_ids(dag)
        if self.fingerprint and self.fingerprint != fingerprint(dag):
            raise SelectionError(f"the graph of {model or 'this model'} differs from the one the selection was "
                                 "made on (its node/arc ids changed: other depth, code or version); "
                                 "make the selection again on this graph")

    # ---- files ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "model": self.model, "granularity": self.granularity,
                "fingerprint": self.fingerprint, "note": self.note,
                "nodes": list(self.nodes), "arcs": list(self.arcs)}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | str | bytes) -> Selection:
        """Parse `to_json()` output (a dict or its JSON text); refuses other formats clearly."""
        if isinstance(doc, (str, bytes)):
            try:
                doc = json.loads(doc)
            except json.JSONDecodeError as e:
                raise SelectionError(f"selection file is not JSON: {e}") from e
        if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
            got = doc.get("format") if isinstance(doc, Mapping) else type(doc).__name__
            raise SelectionError(f"not a saved selection (format {got!r}, expected {FORMAT!r}); "
                                 "save one with Selection.to_json() or the Prune page's download")
        for k in ("granularity", "nodes", "arcs"):
            if k not in doc:
                raise SelectionError(f"saved selection lacks {k!r}")
        for k in ("nodes", "arcs"):
            if not isinstance(doc[k], list) or not all(isinstance(x, str) for x in doc[k]):
                raise SelectionError(f"saved selection {k!r} must be a list of id strings; got "
                                     f"{type(doc[k]).__name__}: save the selection again")
        return cls(str(doc["granularity"]), tuple(doc["nodes"]), tuple(doc["arcs"]),
                   str(doc.get("model", "")), str(doc.get("fingerprint", "")), str(doc.get("note", "")))


def _close(word: str, choices: Sequence[str]) -> str:
    m = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {m[0]!r}?)" if m else ""
