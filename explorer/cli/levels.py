"""`python -m explorer levels MODEL`: the DAG-DNN of a model, each node with its level.

With `--json` it prints exactly `Dag.to_json()` (`{"nodes": [{"id", "level", "op", "shape",
"params", "macs", ...}], "arcs": [[src, dst], ...], ...}`); without, a table (level, id,
op, shape, params) and one summary line.
"""

from __future__ import annotations

import argparse

HELP = "print a model's DAG-DNN: nodes with levels, ops, shapes, params; arcs (--json for the document)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="zoo name, torchvision name, path/to/file.py:ClassName, or a .onnx file")
    p.add_argument("--granularity", choices=("unit", "op", "block"), default="op",
                   help="unit: neurons/channels; op: one node per traced op; block: ops collapsed by module")
    p.add_argument("--depth", type=int, default=None,
                   help="block level: module path components per block (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the model's random init")
    p.add_argument("--json", action="store_true", help="print the Dag.to_json() document")


def table(dag) -> str:  # noqa: ANN001 - a Dag
    """The readable listing: one row per node in (level, index) order, then the summary line."""
    rows = [("level", "id", "op", "shape", "params")]
    for n in dag.nodes:
        shape = "×".join(map(str, n.shape)) if n.shape else ("()" if n.shape == () else "-")
        rows.append((str(dag.level[n.id]), n.id, n.op, shape, f"{n.params:,}"))
    widths = [min(40, max(len(r[k]) for r in rows)) for k in range(5)]
    lines = ["  ".join(c.ljust(w) if k < 4 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    s = dag.summary()
    lines.append(f"{s['name']} ({s['granularity']}): {s['nodes']} nodes, {s['arcs']} arcs, {s['levels']} levels, "
                 f"{s['params']:,} params, {s['macs']:,} MACs, {s['skip_arcs']} skip arcs")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from explorer.graph.build import build_dag

    import sys

    dag = build_dag(args.model, args.granularity, args.depth, args.seed)
    print(dag.dumps() if args.json else table(dag))
    for w in dag.meta.get("warnings", []):
        print(f"warning: {w}", file=sys.stderr)
    return 0
