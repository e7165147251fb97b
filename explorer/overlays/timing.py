"""Measured per-node latency: each traced op timed by the torch profiler on the example input.

The op graph's `torch.fx` module runs node by node under `torch.profiler.profile`, each node
inside its own `record_function` label, after `warmup` untimed runs and for `repeats` timed ones (3 and 15; past `BIG` nodes 1 and 5).
A node's value is the median of its repeats (CPU time, microseconds); a node whose inter-quartile
range exceeds half its median, or whose median is under the profiler's resolution (~2 µs), is
flagged noisy. A block's latency is the sum of its member ops'.

    >>> import torch
    >>> from explorer.graph.trace import trace
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())
    >>> dag = trace(net, torch.randn(2, 4), "tiny")
    >>> ov = latency(dag, net, None, warmup=1, repeats=3)
    >>> sorted(ov.values) == sorted(dag.order()), all(v >= 0 for v in ov.values.values())
    (True, True)
"""

from __future__ import annotations

import statistics
from typing import Any

import torch
from torch import fx

from explorer.graph.dag import Dag
from explorer.overlays.base import Overlay, OverlayError

WARMUP = 3
REPEATS = 15
BIG = 400  # nodes; past this, 1 warm-up and 5 timed runs (a run of a 1,900-op graph node by node takes ~1 s)
NOISE = 0.5  # IQR / median above this: the value is flagged noisy
FLOOR_US = 2.0  # medians below this are at the profiler's resolution
_LABEL = "node::"


class _Timed(fx.Interpreter):
    def run_node(self, n: fx.Node) -> Any:
        with torch.profiler.record_function(_LABEL + n.name):
            return super().run_node(n)


def _iqr(v: list[float]) -> float:
    if len(v) < 4:
        return max(v) - min(v)
    q = statistics.quantiles(v, n=4)
    return q[2] - q[0]


def op_latency(dag: Dag, x: Any = None, *, warmup: int | None = None, repeats: int | None = None) -> Overlay:
    """Per-op latency (µs) of an op-level `dag` traced by torch.fx (see the module doc)."""
    big = len(dag.nodes) > BIG
    warmup = warmup if warmup is not None else 1 if big else WARMUP
    repeats = repeats if repeats is not None else 5 if big else REPEATS
    gm = dag.meta.get("graph_module")
    if gm is None:
        raise OverlayError(f"{dag.name or 'this graph'} has no traced module to time (an ONNX file, or a graph "
                           "traced by torch.export): latency needs an fx-traced model")
    x = dag.meta.get("example_input") if x is None else x
    args = x if isinstance(x, tuple) else (x,)
    samples: dict[str, list[float]] = {}
    with torch.inference_mode():
        for _ in range(warmup):
            _Timed(gm).run(*args)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for _ in range(repeats):
                _Timed(gm).run(*args)
    for ev in prof.events():
        if ev.name.startswith(_LABEL):
            samples.setdefault(ev.name[len(_LABEL):], []).append(ev.cpu_time_total)
    values, noisy = {}, set()
    for i in dag.order():
        s = samples.get(i)
        if not s:
            values[i] = 0.0
            continue
        med = statistics.median(s)
        values[i] = med
        if med < FLOOR_US or _iqr(s) > NOISE * med:
            noisy.add(i)
    notes = (f"torch profiler, CPU, {warmup} warm-up + {repeats} timed runs of the example input; median per op; "
             f"{len(noisy)} of {len(values)} nodes flagged noisy (IQR > {NOISE:.0%} of the median, or under "
             f"{FLOOR_US:g} µs)",)
    return Overlay("latency", "µs", values, notes, frozenset(noisy))


def latency(dag: Dag, model: Any, x: Any, *, warmup: int | None = None, repeats: int | None = None) -> Overlay:
    """Per-node latency (µs): op graphs directly, block graphs as the sum of their member ops'."""
    if dag.granularity == "op":
        return op_latency(dag, x, warmup=warmup, repeats=repeats)
    op_dag = dag.meta.get("op_dag")
    if op_dag is None:
        raise OverlayError("latency is measured on the op graph; this block graph keeps no op graph to time")
    ov = op_latency(op_dag, None, warmup=warmup, repeats=repeats)
    values, noisy = {}, set()
    for n in dag.nodes:
        members = n.meta.get("members", [n.id])
        values[n.id] = sum(ov.values.get(m, 0.0) for m in members)
        if any(m in ov.flagged for m in members):
            noisy.add(n.id)
    return Overlay("latency", "µs", values, ov.notes, frozenset(noisy))
