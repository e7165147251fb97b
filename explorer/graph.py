"""The one door to a DAG-DNN: `build_dag(spec, granularity, depth, seed)`.

`spec` is whatever the user named: a zoo name (`mlp_skip`), a torchvision model
(`resnet50`, `torchvision:resnet50`), the user's own class (`path/to/file.py:ClassName`),
an `.onnx` file (structure only), or an already loaded `zoo.LoadedModel`.
The granularity picks the tracer (SCIENCE.md §1):

- `"unit"`  -> `explorer.unit.unit_dag` (neurons/channels; small Linear/Conv models);
- `"op"`    -> `explorer.trace.trace` (one node per traced op; any architecture);
- `"block"` -> `explorer.block.block_dag(trace(...), depth or 2)` (modules collapsed).

Zoo and torchvision graphs are cached per (spec, granularity, depth, seed): the same
`Dag` object comes back, so treat it (and its `meta["graph_module"]`) as read-only.

    >>> dag = build_dag("mlp_skip")
    >>> dag.granularity, dag.depth, dag.meta["tracer"]
    ('op', 10, 'fx')
    >>> build_dag("mlp_skip", "block", depth=1).order()[:3]
    ['x', 'fc1', 'relu']
    >>> default_granularity(1500)
    'block'
"""

from __future__ import annotations

import functools
from pathlib import Path

from explorer.dag import GRANULARITIES, Dag

# Op graphs with more nodes than this open at block level: a 1,000-node plotly DAG is
# slow to draw and impossible to read; a few hundred blocks is both fast and legible.
BLOCK_THRESHOLD = 400
DEFAULT_BLOCK_DEPTH = 2


class GraphError(ValueError):
    """A granularity/depth/spec combination that cannot be built; the message says what works."""


def default_granularity(dag_size: int | Dag) -> str:
    """"block" for graphs of more than `BLOCK_THRESHOLD` op nodes, else "op".

    `dag_size` is a node count or an op-level `Dag`.
    """
    n = len(dag_size.nodes) if isinstance(dag_size, Dag) else int(dag_size)
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
        from explorer.unit import unit_dag  # noqa: PLC0415 - written by the LIFT engineer; imported lazily

        return unit_dag(lm.model, lm.example_input, name)
    from explorer.trace import trace  # noqa: PLC0415

    op = trace(lm.model, lm.example_input, name)
    if granularity == "op":
        return op
    from explorer.block import block_dag  # noqa: PLC0415

    return block_dag(op, depth or DEFAULT_BLOCK_DEPTH)


@functools.lru_cache(maxsize=32)
def _cached(spec: str, granularity: str, depth: int | None, seed: int) -> Dag:
    from explorer import zoo  # noqa: PLC0415

    lm = zoo.load(spec, seed=seed)
    return _from_loaded(lm, granularity, depth, lm.info.name)


def _onnx(path: str, granularity: str, depth: int | None) -> Dag:
    from explorer.onnx_graph import onnx_dag  # noqa: PLC0415

    if granularity == "unit":
        raise GraphError(f"{Path(path).name}: an ONNX file is read as structure only, so the unit level "
                         "(which needs the weights as a torch model) is not available; use 'op' or 'block'")
    dag = onnx_dag(path, name=Path(path).name)
    if granularity == "block":
        from explorer.block import block_dag  # noqa: PLC0415

        return block_dag(dag, depth or DEFAULT_BLOCK_DEPTH)
    return dag


def build_dag(spec, granularity: str = "op", depth: int | None = None, seed: int = 0) -> Dag:  # noqa: ANN001
    """The DAG-DNN of `spec` at `granularity` (see the module doc).

    Raises `GraphError` for an impossible request, `zoo.ModelSpecError` for an unknown
    model, `trace.TraceError`/`onnx_graph.OnnxError` when the model cannot be read.
    """
    _check(granularity, depth)
    if not isinstance(spec, str):
        name = getattr(getattr(spec, "info", None), "name", "") or type(spec.model).__name__
        return _from_loaded(spec, granularity, depth, name)
    if spec.lower().endswith(".onnx"):
        return _onnx(spec, granularity, depth)
    if ".py:" in spec:  # the user's own file may change between calls: never cached
        from explorer import zoo  # noqa: PLC0415

        lm = zoo.load(spec, seed=seed)
        return _from_loaded(lm, granularity, depth, lm.info.name)
    return _cached(spec, granularity, depth, seed)
