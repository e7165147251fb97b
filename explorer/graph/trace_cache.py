"""A user model file is traced once per (file content, class, granularity), and the graph kept on disk.

The sandbox child (`explorer.models.sandbox`, stage `explorer.graph.probe`) traces the user's model
under its limits and `save`s the op graph as JSON under `paths.graphs()`; the parent then `load`s that
document instead of importing the file and tracing it a second time. The document is our own graph data
(nodes, arcs, levels, module classes), never a pickle: a tampered file gives a wrong drawing at worst,
and one that does not read as a graph is ignored (and traced again).

A graph read from disk has no traced `GraphModule` and no example tensor: `meta` is a `LazyMeta` that
builds the model and traces it on first access of `graph_module` or `example_input` (the Decomposition
and Prune pages need them; browsing and the CLI's `levels` do not), and checks the trace gives the same
node ids.

    >>> import os, tempfile
    >>> from explorer.graph import build_dag
    >>> d = build_dag("mlp_skip")
    >>> back = from_doc(to_doc(d))
    >>> [n.id for n in back.nodes] == [n.id for n in d.nodes], back.level == d.level, back.meta["tracer"]
    (True, True, 'fx')
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from explorer import paths
from explorer.graph.dag import Arc, Dag, Node, json_default

FORMAT = 1  # bump when the document's shape changes: older files are then traced again
_KEPT_META = ("tracer", "folded", "unused_params", "batch_size", "batch_layout", "module_types", "warnings")
LAZY_KEYS = ("graph_module", "example_input")


@functools.cache
def _tracer_digest() -> str:
    """A digest of this package's source: a change to the tracer (a new op rule) traces files again."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def key(spec: str, digest: str, granularity: str = "op") -> str:
    """The cache key of a user file spec: its content digest, its class (and sub-module), the granularity,
    the torch version and the tracer's own source (another tracer may give another graph)."""
    import torch

    what = spec.rpartition(".py:")[2]
    text = json.dumps([FORMAT, digest, what, granularity, torch.__version__, _tracer_digest()])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def path(spec: str, digest: str, granularity: str = "op") -> Path:
    return paths.graphs() / f"{key(spec, digest, granularity)}.json"


def to_doc(dag: Dag) -> dict[str, Any]:
    """The JSON document of `dag` (nodes in order with their meta, arcs with theirs, kept facts)."""
    return {"format": FORMAT, "name": dag.name, "granularity": dag.granularity,
            "inputs": list(dag.inputs), "outputs": list(dag.outputs),
            "nodes": [n.to_json() for n in dag.nodes], "arcs": [a.to_json() for a in dag.arcs],
            "meta": {k: dag.meta[k] for k in _KEPT_META if k in dag.meta}}


def from_doc(doc: dict[str, Any], loader: Callable[[], dict[str, Any]] | None = None) -> Dag:
    """The `Dag` of a `to_doc` document (levels recomputed, linted); `meta` fills `LAZY_KEYS` from
    `loader()` on first access."""
    if doc.get("format") != FORMAT:
        raise ValueError(f"graph document format {doc.get('format')!r}, expected {FORMAT}")
    nodes = [Node(n["id"], n["op"], n.get("module", ""), n.get("shape"), int(n.get("params", 0)),
                  int(n.get("macs", 0)), n.get("meta") or {}) for n in doc["nodes"]]
    arcs = [Arc(a["src"], a["dst"], a.get("label", ""), a.get("kind", "linear"), a.get("weight"),
                a.get("meta") or {}) for a in doc["arcs"]]
    dag = Dag.build(nodes, arcs, doc["granularity"], inputs=doc["inputs"], outputs=doc["outputs"],
                    name=doc.get("name", ""))
    meta = LazyMeta(loader)
    meta.update(doc.get("meta") or {})
    return dag.replace(meta=meta)


class LazyMeta(dict):
    """A graph's `meta` whose `graph_module` and `example_input` come from `loader()` when first asked for."""

    def __init__(self, loader: Callable[[], dict[str, Any]] | None) -> None:
        super().__init__()
        self._loader = loader

    def _fill(self, k: Any) -> None:
        if k in LAZY_KEYS and not dict.__contains__(self, k) and self._loader is not None:
            got = self._loader()
            for lk in LAZY_KEYS:
                dict.__setitem__(self, lk, got.get(lk))

    def __getitem__(self, k: Any) -> Any:
        self._fill(k)
        return dict.__getitem__(self, k)

    def get(self, k: Any, default: Any = None) -> Any:
        self._fill(k)
        return dict.get(self, k, default)

    def derive(self, extra: dict[str, Any]) -> LazyMeta:
        """A copy for a graph made from this one (a block collapse): same loader, `extra` on top, the lazy
        keys still lazy unless already filled."""
        out = LazyMeta(self._loader)
        dict.update(out, self)
        for k, v in extra.items():
            if k not in LAZY_KEYS or v is not None:
                dict.__setitem__(out, k, v)
        return out


def save(dag: Dag, spec: str, digest: str) -> Path | None:
    """Write `dag` (an op graph of the user file `spec` with content `digest`) to the cache; the path,
    or None where the data folder is not writable (the graph is then traced in each process)."""
    target = path(spec, digest, dag.granularity)
    try:
        paths.ensure_dir(target.parent)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(to_doc(dag), separators=(",", ":"), default=json_default))
        os.replace(tmp, target)
    except (OSError, ValueError):
        return None
    return target


def load(spec: str, digest: str, loader: Callable[[], dict[str, Any]] | None,
         granularity: str = "op") -> Dag | None:
    """The cached graph of `spec` (None when absent, unreadable or of another format)."""
    if not digest:
        return None
    target = path(spec, digest, granularity)
    try:
        doc = json.loads(target.read_text())
        return from_doc(doc, loader)
    except (OSError, ValueError, KeyError, TypeError):
        return None
