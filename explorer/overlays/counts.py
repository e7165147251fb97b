"""Overlays read off the traced graph itself: the level, the parameters and the MACs of each node.

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> dag = Dag.build([Node("x", "input"), Node("y", "linear", params=3, macs=2)], [Arc("x", "y")], "op")
    >>> level(dag, None, None), macs(dag, None, None)
    ({'x': 0, 'y': 1}, {'x': 0, 'y': 2})
"""

from __future__ import annotations

from typing import Any

from explorer.graph.dag import Dag


def level(dag: Dag, model: Any, x: Any) -> dict[str, int]:
    """The longest path from the input to each node (the default colouring)."""
    return dict(dag.level)


def params(dag: Dag, model: Any, x: Any) -> dict[str, int]:
    """The parameters each node owns (a unit: its incoming weights and bias; a block: its members')."""
    return {n.id: n.params for n in dag.nodes}


def macs(dag: Dag, model: Any, x: Any) -> dict[str, int]:
    """Multiply-accumulates per example (`explorer.graph.macs`: convolutions, linear layers, matmuls)."""
    return {n.id: n.macs for n in dag.nodes}
