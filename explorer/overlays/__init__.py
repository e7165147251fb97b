"""Overlays: any per-node metric drawn on the DAG (colour or size), with its unit and a legend.

`METRICS` is the registry; each `Metric` has a name, a unit, one line of help, the granularities it
applies to and `compute(dag, model, x)`. `overlay(name, dag, model, x)` computes one on a graph:

- `counts`     — level, parameters, MACs (read off the traced graph);
- `timing`     — measured per-node latency (torch profiler, warm-up and repeats, noisy nodes flagged);
- `scores`     — a pruning criterion's score per node (magnitude, SNIP, SynFlow, spline);
- `path_mass`  — the path mass through each node (partial products of |T|: SynFlow's quantity);
- `spread`     — the per-level Jacobian spread of the Signal lab;
- `units`      — unit-level values carried up to the op and block graphs (a layer's node: its units').

    >>> from explorer.graph.build import build_dag
    >>> dag = build_dag("mlp_skip")
    >>> sorted(available(dag))[:4]
    ['jacobian_spread', 'latency', 'level', 'macs']
    >>> overlay("params", dag).values["fc1"]
    4100.0
"""

from __future__ import annotations

from typing import Any

from explorer.graph.dag import Dag
from explorer.overlays.base import Metric, Overlay, OverlayError
from explorer.overlays import counts


def _lazy(module: str, fn: str, *args: Any):
    """A compute function imported on first use (the criteria and the profiler are heavy imports)."""
    def compute(dag: Dag, model: Any, x: Any):
        import importlib

        return getattr(importlib.import_module(f"explorer.overlays.{module}"), fn)(*args, dag, model, x)
    return compute


ALL = ("unit", "op", "block")
_CRITERION_HELP = {
    "magnitude": "mean |w| of the node's weights (the IMP criterion)",
    "snip": "connection sensitivity |g·w| summed over the node's weights (SNIP, Lee et al. 2019)",
    "synflow": "synaptic flow |w ∂R/∂w| summed over the node's weights (Tanaka et al. 2020)",
    "spline": "mean step at which spline pruning removes the node's units (higher: kept longer)",
}
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("level", "level", "longest path from the input (the default colouring)", ALL, counts.level),
    Metric("params", "parameters", "parameters the node owns", ALL, counts.params, log=True),
    Metric("macs", "MACs", "multiply-accumulates per example", ALL, counts.macs, log=True),
    Metric("latency", "µs", "measured CPU time per node on the example input (torch profiler; median of "
           "repeats, noisy nodes flagged)", ("op", "block"), _lazy("timing", "latency"), needs_model=True,
           log=True),
    *(Metric(c, "score", _CRITERION_HELP[c], ALL if c != "spline" else ("unit", "op", "block"),
             _lazy("scores", "criterion_overlay", c), needs_model=True) for c in _CRITERION_HELP),
    Metric("path_mass", "Σ path |w| products", "sum over input→output paths through the node of the products "
           "of |weights| (partial products of |T|: what SynFlow scores); op/block: a layer's units summed", ALL,
           _lazy("path_mass", "path_mass"), needs_model=True, log=True),
    Metric("jacobian_spread", "σ std", "std of the singular values of the node's level step D_l(x) T_l(x) "
           "(Signal lab; 0 = isometry); op/block: a layer's units' level", ALL, _lazy("spread", "jacobian_spread"),
           needs_model=True),
)}


def available(dag: Dag, with_model: bool = True) -> list[str]:
    """The metric names that apply to `dag` (without a model: those read off the graph)."""
    return [n for n, m in METRICS.items() if m.applies(dag) and (with_model or not m.needs_model)]


def overlay(name: str, dag: Dag, model: Any = None, x: Any = None) -> Overlay:
    """Metric `name` on every node of `dag` (`model`, `x`: the traced model and its example input)."""
    if name not in METRICS:
        raise OverlayError(f"unknown overlay {name!r}; choose one of {', '.join(METRICS)}")
    return METRICS[name].on(dag, model, x)


__all__ = ["METRICS", "Metric", "Overlay", "OverlayError", "available", "overlay"]
