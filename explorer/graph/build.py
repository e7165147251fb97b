"""The one door to a DAG-DNN: `build_dag(spec, granularity, depth, seed)`.

`spec` is whatever the user named: a zoo name (`mlp_skip`), a torchvision model
(`resnet50`, `torchvision:resnet50`), the user's own class (`path/to/file.py:ClassName`),
an `.onnx` file (structure only), or an already loaded `models.LoadedModel`.
The granularity picks the tracer (docs/science.md §1):

- `"unit"`  -> `explorer.graph.unit.unit_dag` (neurons/channels; small Linear/Conv models);
- `"op"`    -> `explorer.graph.trace.trace` (one node per traced op; any architecture);
- `"block"` -> `explorer.graph.block.block_dag(trace(...), depth or 2)` (modules collapsed).

A spec string is built through `explorer.models.load_cached` — the process's one model per
(spec, seed) — and its graphs are cached per (spec, granularity, depth, seed) and, for a
user file, its content — built once also when several sessions ask at once
(`explorer.concurrency.once_per_key`): the same `Dag` object comes back, so treat it (and its
`meta["graph_module"]`, which shares the cached model's modules) as read-only.

    >>> dag = build_dag("mlp_skip")
    >>> dag.granularity, dag.depth, dag.meta["tracer"]
    ('op', 10, 'fx')
    >>> build_dag("mlp_skip", "block", depth=1).order()[:3]
    ['x', 'fc1', 'relu']
    >>> default_granularity(1500)
    'block'
"""

from __future__ import annotations

from pathlib import Path

from explorer.concurrency import once_per_key, stage
from explorer.graph.dag import GRANULARITIES, Dag

# Op graphs with more nodes than this open at block level: a 1,000-node plotly DAG is
# slow to draw and impossible to read; a few hundred blocks is both fast and legible.
BLOCK_THRESHOLD = 400
DEFAULT_BLOCK_DEPTH = 2


class GraphError(ValueError):
    """A granularity/depth/spec combination that cannot be built; the message says what works."""


def default_granularity(what: int | Dag | str, *, seed: int = 0, prefer_unit: bool = False) -> str:
    """The granularity a view opens at: "block" for graphs of more than `BLOCK_THRESHOLD` op
    nodes, else "op"; with `prefer_unit`, "unit" where the model has a unit level.

    `what` is a node count, an op-level `Dag`, or a model spec (then its graphs are built,
    and cached, to decide; a model that cannot be traced gets "op", whose page says why).
    """
    if isinstance(what, str):
        if prefer_unit:
            try:
                build_dag(what, "unit", seed=seed)
                return "unit"
            except ValueError:  # no unit level for this model (UnitLevelError and kin)
                pass
        try:
            what = build_dag(what, "op", seed=seed)
        except ValueError:
            return "op"
    n = len(what.nodes) if isinstance(what, Dag) else int(what)
    return "block" if n > BLOCK_THRESHOLD else "op"


def _check(granularity: str, depth: int | None) -> None:
    if granularity not in GRANULARITIES:
        raise GraphError(f"granularity {granularity!r} is not one of {', '.join(GRANULARITIES)}")
    if depth is not None and granularity != "block":
        raise GraphError(f"--depth {depth} only applies to granularity 'block' (got {granularity!r}); "
                         "drop the depth or ask for the block level")
    if depth is not None and depth < 1:
        raise GraphError(f"block depth must be >= 1 (module path components), got {depth}")


def _from_loaded(lm, granularity: str, depth: int | None, name: str) -> Dag:  # noqa: ANN001 - LoadedModel
    if granularity == "unit":
        from explorer.graph.unit import unit_dag

        return unit_dag(lm.model, lm.example_input, name)
    from explorer.graph.trace import trace

    op = trace(lm.model, lm.example_input, name)
    if granularity == "op":
        return op
    from explorer.graph.block import block_dag

    stage("collapsing the ops into blocks")
    return block_dag(op, depth or DEFAULT_BLOCK_DEPTH)


@once_per_key(maxsize=32)
def _cached(spec: str, granularity: str, depth: int | None, seed: int, digest: str) -> Dag:
    from explorer import models

    op = _user_op_graph(spec, seed, digest) if digest and granularity in ("op", "block") else None
    if op is not None:
        dag = op
        if granularity == "block":
            from explorer.graph.block import block_dag

            dag = block_dag(op, depth or DEFAULT_BLOCK_DEPTH)
    else:
        lm = models.load_cached(spec, seed)
        dag = _from_loaded(lm, granularity, depth, lm.info.name)
    stage(f"{granularity} graph: {len(dag.nodes):,} nodes, {len(dag.arcs):,} arcs, {dag.depth + 1} levels"
          + (f" (traced by {dag.meta['tracer']})" if dag.meta.get("tracer") else ""))
    return dag


@once_per_key(maxsize=32)
def _user_op_graph(spec: str, seed: int, digest: str) -> Dag | None:
    """The op graph of a user file, traced once per (content, class): read from the trace cache, or
    traced by the sandbox child (which saves it there) and then read; None where that cannot be
    (data folder not writable, or the model does not trace: the caller then traces here and says why)."""
    from explorer.graph import trace_cache
    from explorer.models.sandbox import probe

    def retrace() -> dict:
        from explorer import models

        lm = models.load_cached(spec, seed)
        stage("tracing the model in this process (the Decomposition and Prune pages need the traced module)")
        traced = _from_loaded(lm, "op", None, lm.info.name)
        if [n.id for n in traced.nodes] != ids:
            raise GraphError(f"{spec}: tracing it again gave another graph than the cached one; delete "
                             f"{trace_cache.path(spec, digest)} and open it again")
        return {"graph_module": traced.meta.get("graph_module"), "example_input": lm.example_input}

    dag = trace_cache.load(spec, digest, retrace)
    if dag is None:
        report = probe(spec)  # the sandbox child traces it (under limits) and saves the graph
        if report.get("graph_cached") and trace_cache.load(spec, digest, retrace) is None:
            report = probe(spec, fresh=True)  # a kept report, but the graph is gone (or the tracer changed)
        if report.get("trace_error") or not report.get("graph_cached"):
            return None
        dag = trace_cache.load(spec, digest, retrace)
        if dag is None:
            return None
    else:
        stage(f"read the traced graph from {trace_cache.path(spec, digest)}")
    ids = [n.id for n in dag.nodes]
    return dag


def _onnx(path: str, granularity: str, depth: int | None) -> Dag:
    from explorer.graph.onnx_file import onnx_dag

    if granularity == "unit":
        raise GraphError(f"{Path(path).name}: an ONNX file is read as structure only, so the unit level "
                         "(which needs the weights as a torch model) is not available; use 'op' or 'block'")
    dag = onnx_dag(path, name=Path(path).name)
    if granularity == "block":
        from explorer.graph.block import block_dag

        return block_dag(dag, depth or DEFAULT_BLOCK_DEPTH)
    return dag


def build_dag(spec, granularity: str = "op", depth: int | None = None, seed: int = 0) -> Dag:  # noqa: ANN001
    """The DAG-DNN of `spec` at `granularity` (see the module doc).

    Raises `GraphError` for an impossible request, `models.ModelSpecError` for an unknown
    model, `TraceError`/`OnnxError`/`UnitLevelError` when the model cannot be read.
    """
    _check(granularity, depth)
    if not isinstance(spec, str):
        name = getattr(getattr(spec, "info", None), "name", "") or type(spec.model).__name__
        return _from_loaded(spec, granularity, depth, name)
    if spec.lower().endswith(".onnx"):
        return _onnx(spec, granularity, depth)
    from explorer import models

    return _cached(spec, granularity, depth, int(seed), models.file_digest(spec))
