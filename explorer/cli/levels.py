"""`python -m explorer levels MODEL`: the DAG-DNN of a model, each node with its level.

With `--json` it prints exactly `Dag.to_json()` (`{"nodes": [{"id", "level", "op", "shape",
"params", "macs", ...}], "arcs": [[src, dst], ...], ...}`); without, a table (level, id,
op, shape, params) and one summary line.

`--metric NAME` adds an overlay (`explorer.overlays`): with `--json` the document gains
`"overlay": {"name", "unit", "values": {node id: value or null}, "notes", "flagged"}`; the table gains a column.
"""

from __future__ import annotations

import argparse
import json

HELP = "print a model's DAG-DNN: nodes with levels, ops, shapes, params; arcs (--json for the document)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="zoo name, torchvision name, path/to/file.py:ClassName, or a .onnx file")
    p.add_argument("--granularity", choices=("unit", "op", "block"), default="op",
                   help="unit: neurons/channels; op: one node per traced op; block: ops collapsed by module")
    p.add_argument("--depth", type=int, default=None,
                   help="block level: module path components per block (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the model's random init")
    p.add_argument("--json", action="store_true", help="print the Dag.to_json() document")
    p.add_argument("--metric", default=None, metavar="NAME",
                   help="a per-node overlay: level, params, macs, latency, magnitude, snip, synflow, spline, "
                        "path_mass, jacobian_spread (explorer.overlays)")


def table(dag, ov=None) -> str:  # noqa: ANN001 - a Dag, an Overlay
    """The readable listing: one row per node in (level, index) order, then the summary line."""
    rows = [("level", "id", "op", "shape", "params") + ((f"{ov.name} [{ov.unit}]",) if ov else ())]
    for n in dag.nodes:
        shape = "×".join(map(str, n.shape)) if n.shape else ("()" if n.shape == () else "-")
        extra = (f"{ov.values[n.id]:.4g}" + ("*" if n.id in ov.flagged else ""),) if ov else ()
        rows.append((str(dag.level[n.id]), n.id, n.op, shape, f"{n.params:,}") + extra)
    widths = [min(40, max(len(r[k]) for r in rows)) for k in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if k < 4 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    s = dag.summary()
    lines.append(f"{s['name']} ({s['granularity']}): {s['nodes']} nodes, {s['arcs']} arcs, {s['levels']} levels, "
                 f"{s['params']:,} params, {s['macs']:,} MACs, {s['skip_arcs']} skip arcs")
    return "\n".join(lines)


def metric_overlay(dag, spec: str, name: str, seed: int):  # noqa: ANN001, ANN201 - a Dag -> an Overlay
    """The overlay `name` on `dag`, with the model of `spec` where the metric runs it."""
    from explorer.overlays import METRICS, overlay

    model = None
    if name in METRICS and METRICS[name].needs_model and not spec.lower().endswith(".onnx"):
        from explorer import models

        model = models.load_cached(spec, seed).model
    return overlay(name, dag, model)


def run(args: argparse.Namespace) -> int:
    from explorer.graph.build import build_dag

    import sys

    dag = build_dag(args.model, args.granularity, args.depth, args.seed)
    ov = metric_overlay(dag, args.model, args.metric, args.seed) if args.metric else None
    if args.json:
        print(json.dumps({**json.loads(dag.dumps()), "overlay": ov.to_json()}) if ov else dag.dumps())
    else:
        print(table(dag, ov))
    for w in dag.meta.get("warnings", []) + list(ov.notes if ov else []):
        print(f"{'note' if ov and w in ov.notes else 'warning'}: {w}", file=sys.stderr)
    return 0
