"""The graph of a network: the DAG-DNN (docs/science.md §1) and everything that builds one.

- `dag`         — `Dag`, `Node`, `Arc`: the core types, self-linting; `levels` computes levels.
- `ops`         — the op vocabulary: which heads add, slot, combine jointly; arc labels.
- `trace`       — op level: torch.fx, then torch.export, then `record` (one real forward);
  `fx_dag` turns a traced GraphModule into a `Dag`, `shapes` gives shapes and MACs
  without a forward, `diagnostics` says where the user's code broke.
- `unit/`       — unit level: neurons and channels, arcs as weights or kernels.
- `block`       — block level: ops collapsed by module hierarchy.
- `onnx_file`   — an ONNX file read as structure only.
- `build`       — `build_dag(spec, granularity, depth, seed)`: the one door the pages and CLI use.
- `trace_cache` — a user file's op graph, traced once (in the sandbox) and kept as JSON in the data folder.
- `hierarchy`   — the module tree: repeated blocks rolled up, blocks opened in place, search-jump.
- `probe`       — the tracing stage of the user-code sandbox (`explorer.models.sandbox`).

    >>> from explorer.graph import build_dag
    >>> build_dag("mlp_skip").depth
    10
"""

from explorer.graph.build import GraphError, build_dag, default_granularity
from explorer.graph.dag import GRANULARITIES, Arc, Dag, DagError, Node
from explorer.models.sandbox import add_stage

add_stage("tracing its graph", "explorer.graph.probe:sandbox_stage")  # user code is traced in the sandbox first

__all__ = ["GRANULARITIES", "Arc", "Dag", "DagError", "GraphError", "Node", "build_dag", "default_granularity"]
