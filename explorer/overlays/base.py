"""The overlay types: a `Metric` (what can be drawn on the nodes) and an `Overlay` (its values on one graph).

A metric is a name, a unit, one line of help, the granularities it applies to, whether it needs
the model (or only the traced graph), and `compute(dag, model, x) -> {node_id: value}` (or an
`Overlay` when it has notes or flagged nodes to report).

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> dag = Dag.build([Node("x", "input"), Node("y", "linear", params=3)], [Arc("x", "y")], "op")
    >>> m = Metric("params", "parameters", "weights", ("op",), lambda d, model, x: {n.id: n.params for n in d.nodes})
    >>> m.on(dag)
    Overlay(params [parameters]: 2 nodes, 0..3)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from explorer.graph.dag import Dag


class OverlayError(ValueError):
    """An overlay that cannot be drawn on this graph; the message says why and what works."""


@dataclass(frozen=True)
class Overlay:
    """One metric's value per node of one graph. `flagged` nodes carry an unreliable value (a noisy
    timing, a changed activation pattern); `notes` say how the values were obtained."""

    name: str
    unit: str
    values: dict[str, float]
    notes: tuple[str, ...] = ()
    flagged: frozenset[str] = frozenset()
    log: bool = False  # values span orders of magnitude: colour by log10(1 + v)
    range: tuple[float, float] | None = None  # a fixed colour range (a fraction: (0, 1)); None: the values'

    def __repr__(self) -> str:
        v = list(self.values.values())
        span = f"{min(v):.4g}..{max(v):.4g}" if v else "empty"
        return f"Overlay({self.name} [{self.unit}]: {len(v)} nodes, {span})"

    def to_json(self) -> dict[str, Any]:
        values = {k: (None if v != v else v) for k, v in self.values.items()}  # NaN (no value) is JSON null
        return {"name": self.name, "unit": self.unit, "values": values, "notes": list(self.notes),
                "flagged": sorted(self.flagged)}


Compute = Callable[[Dag, Any, Any], "dict[str, float] | Overlay"]


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    help: str
    granularities: tuple[str, ...]
    compute: Compute = field(repr=False)
    needs_model: bool = False
    log: bool = False

    def applies(self, dag: Dag) -> bool:
        return dag.granularity in self.granularities

    def on(self, dag: Dag, model: Any = None, x: Any = None) -> Overlay:
        """The overlay of this metric on `dag` (`model`, `x`: the model and example input the graph was
        traced from, for metrics that run it). Raises `OverlayError` when it does not apply."""
        if not self.applies(dag):
            raise OverlayError(f"the {self.name} overlay applies at {' and '.join(self.granularities)} level, not "
                               f"{dag.granularity!r}: pick another metric or granularity")
        if self.needs_model and model is None:
            raise OverlayError(f"the {self.name} overlay runs the model, and this graph has none (an ONNX file "
                               "is structure only): pick level, params or MACs")
        out = self.compute(dag, model, x)
        if isinstance(out, Overlay):
            return Overlay(self.name, self.unit, out.values, out.notes, out.flagged, self.log)
        return Overlay(self.name, self.unit, {k: float(v) for k, v in out.items()}, log=self.log)
