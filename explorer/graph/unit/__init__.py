"""The unit level (docs/science.md §1): a network as a DAG of neurons and channels.

- `build`   — `unit_dag(model, x)`: the DAG, one node per unit, arcs naming their weight entries;
- `tracer`  — `UnitTracer`: the fx walk propagating affine expressions to a `UnitNet`;
- `net`     — `UnitNet` and its `Group`s: blocks, biases, activations, max-pools;
- `expr`    — the affine-expression algebra the tracer propagates;
- `ops`     — activations, weight matrices of Linear/Conv, BatchNorm folding, max-pools.
"""

from explorer.graph.unit.build import unit_dag
from explorer.graph.unit.net import Group, UnitNet
from explorer.graph.unit.ops import UnitLevelError

__all__ = ["Group", "UnitLevelError", "UnitNet", "unit_dag"]
