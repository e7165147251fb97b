"""`python -m explorer prune MODEL`: prune by a criterion or by ids, export, and summarise.

    python -m explorer prune mlp --criterion magnitude --sparsity 0.5 --out out/mlp50 --json
    python -m explorer prune resnet_tiny --select block1_conv1 block1_bn1 --out out/r --json

Ids are those of `python -m explorer levels MODEL --granularity G --json` (an arc as
`src->dst`). An invalid selection prints the reasons (and the suggested selection) and
exits 1. The JSON summary holds the dense and pruned parameters and MACs, the achieved
sparsity, the compacted-vs-masked max abs difference and the dense/masked/compacted
CPU latencies (masks alone do not speed anything up; compaction does).
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = "prune a model by a criterion (--criterion, --sparsity) or by node/arc ids (--select); export to --out"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="zoo name, torchvision name, or path/to/file.py:ClassName")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--criterion", help="random, magnitude, snip, snip_unsupervised, synflow, spline, level")
    how.add_argument("--select", nargs="+", metavar="ID", help="node ids and arcs 'src->dst' to remove")
    how.add_argument("--selection", metavar="FILE", help="a saved selection.json to re-apply")
    p.add_argument("--sparsity", type=float, default=None, help="fraction of the target's groups to prune (criterion)")
    p.add_argument("--granularity", choices=("unit", "op", "block"), default=None,
                   help="unit: neurons/channels; op: traced ops (default: --criterion prunes at unit level where "
                        "the model has one, else at op level; --select ids are op level)")
    p.add_argument("--target", choices=("weights", "units", "arcs"), default=None,
                   help="criterion target: single weights, units (neurons/channels) or arcs (default: weights at "
                        "unit level; units at op level, which the compacted model then drops)")
    p.add_argument("--scope", choices=("layer", "global"), default="layer",
                   help="criterion scope: the same rate per layer, or one global ranking")
    p.add_argument("--seed", type=int, default=0, help="seed of the model's init (and of random criteria)")
    p.add_argument("--out", required=True, help="directory to export the pruned model to")
    p.add_argument("--repeats", type=int, default=20, help="latency samples per form")
    p.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    from explorer import models
    from explorer.graph import build_dag
    from explorer.pruning.pipeline import run as prune
    from explorer.pruning.selection import Selection
    from explorer.pruning.validity import InvalidSelection, check

    from explorer.cli import CliError

    from explorer.cli.options import model

    model(args.model, "prune")
    if args.granularity == "block":
        raise CliError("the block level is for browsing (ops collapsed by module); prune at op level with the ids "
                       f"of `python -m explorer levels {args.model} --granularity op`, or by a --criterion")
    lm = models.load_cached(args.model, args.seed)
    gran = args.granularity or ("op" if not args.criterion else _criterion_granularity(lm))
    dag = build_dag(lm, granularity=gran)
    target = args.target or ("weights" if gran == "unit" else "units")
    selection, proposal = None, None
    if args.criterion:
        from explorer.pruning.criteria import propose

        if args.sparsity is None:
            print("error: --criterion needs --sparsity S (a fraction in [0, 1])", file=sys.stderr)
            return 2
        proposal = propose(lm, args.criterion, args.sparsity, target=target, scope=args.scope, dag=dag,
                           seed=args.seed)
    elif args.select:
        selection = Selection.from_ids(dag, args.select, note="cli --select")
    else:
        with open(args.selection) as f:
            selection = Selection.from_json(f.read())
        selection.check_against(dag)
    try:
        result = prune(lm, dag, selection=selection, proposal=proposal, out=args.out, spec=args.model,
                       seed=args.seed, repeats=args.repeats, onnx=not args.no_onnx)
    except InvalidSelection as e:
        v = check(dag, selection) if selection is not None else e.verdict
        doc = {"ok": False, "reasons": list(e.verdict.reasons),
               "suggestion": None if v.suggestion is None else list(v.suggestion.ids)}
        if args.json:
            print(json.dumps(doc, indent=1))
        else:
            print("refused:", *e.verdict.reasons, sep="\n  ")
            if doc["suggestion"]:
                print("suggested selection:", " ".join(doc["suggestion"]))
        return 1
    s = result.summary
    if args.json:
        print(json.dumps(s, indent=1, default=float))
    else:
        print(f"{args.model} ({gran}): weight sparsity {100 * s['sparsity']['weights']:.1f}%, "
              f"params {s['params']['dense']:,} -> {s['params']['pruned_nonzero']:,} non-zero, "
              f"compacted {s['params']['compacted']:,}; MACs {s['macs']['dense']:,} -> "
              f"{s['macs']['compacted']:,} compacted")
        if result.nothing:
            print(f"  {result.nothing} (not timed)")
        for r in result.table if not result.nothing else ():
            print(f"  {r['form']:10s} {r['latency_ms']:.3f} ms  (x{r['speedup']:.2f})")
        print(f"  compacted vs masked max abs diff {result.diff:.2e}; exported to {result.out}")
    return 0


def _criterion_granularity(lm) -> str:  # noqa: ANN001 - a LoadedModel
    """Unit level where the model has one (small Linear/Conv nets), else op level."""
    from explorer.graph import build_dag

    try:
        build_dag(lm, granularity="unit")
        return "unit"
    except ValueError:
        return "op"
