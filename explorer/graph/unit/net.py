"""The numeric unit-level network: groups of unit nodes (a layer's neurons or channels) with
their incoming blocks, biases and activations — what the unit tracer builds and the numeric
lifting turns into matrices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from explorer.graph.unit.expr import Blocked, Term
from explorer.graph.unit.ops import MaxPool, Phi


@dataclass
class Group(Blocked):
    """A layer of unit nodes made at one traced value: `z = phi(sum_src W_src z_src + b)` or a max-pool.

    `shape` is `(units, *block)`: unit k is the k-th channel (or neuron) and its block the
    flat slice `[k*block, (k+1)*block)` of the group's value.
    """

    name: str
    op: str
    module: str
    shape: tuple[int, ...]
    phi: Phi
    terms: dict[str, Term] = field(default_factory=dict)
    b: np.ndarray | None = None
    biases: list[tuple[str, np.ndarray]] = field(default_factory=list)
    pool: MaxPool | None = None  # max-pool group: a nonlinear arc from `pool_src`, channel to channel
    pool_src: str | None = None
    role: str = "hidden"  # "input" | "hidden" | "pool" | "output"

    @property
    def units(self) -> int:
        return self.shape[0]

    def node_id(self, k: int) -> str:
        return f"{self.name}[{k}]"


@dataclass
class UnitNet:
    """The numeric unit-level network: groups in topological order, input and output groups."""

    groups: dict[str, Group]
    input: str
    output: str
    input_shape: tuple[int, ...]  # per sample, as the model eats it
    output_shape: tuple[int, ...]
    example_input: torch.Tensor  # (1, *input_shape)

    def unit(self, node_id: str) -> tuple[Group, int]:
        """`(group, k)` of a unit node id like `conv2[5]`."""
        name, _, k = node_id.rpartition("[")
        if name not in self.groups or not k.endswith("]"):
            raise KeyError(f"{node_id!r} is not a unit node id (ids look like {self.input}[0])")
        return self.groups[name], int(k[:-1])

    def __repr__(self) -> str:
        return f"UnitNet({len(self.groups)} groups: {', '.join(self.groups)})"
