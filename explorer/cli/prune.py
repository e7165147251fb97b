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
    p.add_argument("--granularity", choices=("unit", "op"), default=None,
                   help="unit: neurons/channels; op: traced ops (default: unit for --criterion, op for --select)")
    p.add_argument("--target", choices=("weights", "units", "arcs"), default="weights",
                   help="criterion target: single weights, units (neurons/channels) or arcs")
    p.add_argument("--scope", choices=("layer", "global"), default="layer",
                   help="criterion scope: the same rate per layer, or one global ranking")
    p.add_argument("--seed", type=int, default=0, help="seed of the model's init (and of random criteria)")
    p.add_argument("--out", required=True, help="directory to export the pruned model to")
    p.add_argument("--repeats", type=int, default=20, help="latency samples per form")
    p.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    import torch

    from explorer import zoo
    from explorer.graph import build_dag
    from explorer.pruning.apply import apply, compacted, from_mask
    from explorer.pruning.export import export
    from explorer.pruning.latency import compare
    from explorer.pruning.selection import Selection
    from explorer.pruning.validity import InvalidSelection, check

    gran = args.granularity or ("unit" if args.criterion else "op")
    lm = zoo.load(args.model, args.seed)
    dag = build_dag(lm, granularity=gran)
    x = lm.example_input
    extra: dict = {}
    if args.criterion:
        from explorer.pruning.criteria import propose

        if args.sparsity is None:
            print("error: --criterion needs --sparsity S (a fraction in [0, 1])", file=sys.stderr)
            return 2
        prop = propose(lm, args.criterion, args.sparsity, target=args.target, scope=args.scope, dag=dag,
                       seed=args.seed)
        extra["proposal"] = prop.summary()
        sel = prop.selection
        if gran == "op" and sel is not None and not sel.is_empty():
            selection = sel
        else:
            pruned = from_mask(lm.model, dag, prop.mask, x, selection=sel if sel is not None and
                               sel.granularity == gran else None)
            extra["mask_only"] = True
            selection = None
    else:
        if args.select:
            selection = Selection.from_ids(dag, args.select, note="cli --select")
        else:
            with open(args.selection) as f:
                selection = Selection.from_json(f.read())
            selection.check_against(dag)
    if selection is not None:
        verdict = check(dag, selection)
        try:
            pruned = apply(lm.model, dag, selection, x)
        except InvalidSelection as e:
            v = e.verdict
            doc = {"ok": False, "reasons": list(v.reasons),
                   "suggestion": None if verdict.suggestion is None else list(verdict.suggestion.ids)}
            if args.json:
                print(json.dumps(doc, indent=1))
            else:
                print("refused:", *v.reasons, sep="\n  ")
                if doc["suggestion"]:
                    print("suggested selection:", " ".join(doc["suggestion"]))
            return 1

    dense = lm.model.eval()
    comp = compacted(pruned, x)
    with torch.no_grad():
        xs = torch.cat([x, torch.randn(3, *x.shape[1:], generator=torch.Generator().manual_seed(1))])
        diff = float((comp.eval()(xs) - pruned.model.eval()(xs)).abs().max())
    rows = compare(dense, pruned.model, comp, x, repeats=args.repeats)
    out = export(pruned, args.out, spec=args.model, seed=args.seed, x=x, dense=dense, onnx=not args.no_onnx,
                 extra=extra)
    by = {r["form"]: r for r in rows}
    summary = {
        "ok": True,
        "model": args.model,
        "granularity": gran,
        "out": str(out),
        "removed": {"nodes": len(pruned.verdict.removed_nodes), "arcs": len(pruned.verdict.removed_arcs)},
        "params": {"dense": by["dense"]["params"], "pruned_nonzero": by["masked"]["nonzero_params"],
                   "compacted": by["compacted"]["params"]},
        "macs": {"dense": by["dense"]["macs"], "masked": by["masked"]["macs"], "compacted": by["compacted"]["macs"]},
        "sparsity": {"weights": pruned.weight_sparsity(), "mask": pruned.mask.sparsity,
                     "requested": args.sparsity,
                     **({"achieved": extra["proposal"]["achieved"]} if "proposal" in extra else {})},
        "compacted_vs_masked_max_abs_diff": diff,
        "latency_ms": {f: by[f]["latency_ms"] for f in ("dense", "masked", "compacted")},
        "table": rows,
        "note": "a mask alone does not make a dense kernel faster; only the compacted form removes work",
        **({"proposal": extra["proposal"]} if "proposal" in extra else {}),
    }
    if args.json:
        print(json.dumps(summary, indent=1, default=float))
    else:
        print(f"{args.model} ({gran}): weight sparsity {100 * summary['sparsity']['weights']:.1f}%, "
              f"params {summary['params']['dense']:,} -> {summary['params']['pruned_nonzero']:,} non-zero, "
              f"compacted {summary['params']['compacted']:,}; MACs {summary['macs']['dense']:,} -> "
              f"{summary['macs']['compacted']:,} compacted")
        for r in rows:
            print(f"  {r['form']:10s} {r['latency_ms']:.3f} ms  (x{r['speedup']:.2f})")
        print(f"  compacted vs masked max abs diff {diff:.2e}; exported to {out}")
    return 0
