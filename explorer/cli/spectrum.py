"""`python -m explorer spectrum MODEL`: Jacobian singular values at K inputs after an init scheme,
optionally after pruning at init and approximate isometry (docs/science.md §5).

    python -m explorer spectrum deep_mlp:depth=7,width=100,act=linear --init orthogonal --json
    python -m explorer spectrum mlp --init kaiming-normal --prune snip --sparsity 0.9 --isometry-steps 1000 --json

`--json` prints {"init", "singular_values" (all, over the K inputs), "mean", "std", "min", "max",
"per_layer": [{"layer", "mean", "std", "min", "max"}], "kept_fraction": {layer: f}, "isometry":
{"penalty": [...]}} for the last stage computed; `--init as-built` keeps the model's own weights.
"""

from __future__ import annotations

import argparse
import json

HELP = "Jacobian singular values at K inputs after an init scheme, pruning at init and approximate isometry"
INITS = ("orthogonal", "delta-orthogonal", "kaiming-normal", "kaiming-uniform", "xavier-normal", "xavier-uniform",
         "lecun-normal", "gaussian:SIGMA2", "as-built")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="zoo name, torchvision name, path/to/file.py:ClassName, or "
                                 "deep_mlp:depth=7,width=100,act=linear|tanh|relu|hardtanh[,d_in=40,d_out=10]")
    p.add_argument("--init", default="as-built", help="init scheme: " + " | ".join(INITS))
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the inputs")
    p.add_argument("--prune", default="", choices=("", "snip", "snip-unsup", "random", "magnitude"),
                   help="prune at init with this criterion (snip-unsup: SNIP with a uniform target)")
    p.add_argument("--sparsity", type=float, default=0.9, help="fraction of the weights to prune")
    p.add_argument("--scope", default="global", choices=("global", "layer"), help="one ranking, or the same rate per layer")
    p.add_argument("--isometry-steps", type=int, default=0, help="SGD steps of approximate isometry after pruning")
    p.add_argument("--isometry-lr", type=float, default=0.1, help="SGD learning rate of the isometry step")
    p.add_argument("--inputs", type=int, default=32, help="K: inputs the Jacobian is taken at")
    p.add_argument("--dataset", default="", help="inputs from this dataset's test split ('noise' for N(0, 1); "
                                                 "default: the model's dataset if it fits, else noise)")
    p.add_argument("--image-size", type=int, default=0, help="image models: inputs of this height and width "
                                                            "(0 = the model's own; e.g. 32 for a torchvision net)")
    p.add_argument("--float32", action="store_true", help="take Jacobians in float32 (faster for big convnets)")
    p.add_argument("--per-layer", default="auto", choices=("auto", "lifting", "autograd", "none"),
                   help="per-layer maps from the lifting D_l(x)T_l (unit level) or autograd (op level)")
    p.add_argument("--json", action="store_true", help="print the JSON document")


def document(lab: dict) -> dict:
    """The CLI's JSON document: the last stage of the (single) scheme of a lab document."""
    from explorer.propagation.lab import final_stage

    entry = lab["schemes"][0]
    st = final_stage(entry)
    pr = entry["pruning"] or {}
    iso = entry["isometry"] or {}
    return {"init": entry["init"], "singular_values": st["singular_values"],
            **{k: st["stats"][k] for k in ("mean", "std", "min", "max")},
            "per_layer": [{"layer": l["layer"], **{k: l.get(k) for k in ("mean", "std", "min", "max")}}
                          for l in st["per_layer"]],
            "kept_fraction": pr.get("kept_fraction", {}), "isometry": {"penalty": iso.get("penalty", [])}}


def run(args: argparse.Namespace) -> int:
    from explorer.propagation.lab import LabConfig, run_lab

    crit = {"snip-unsup": "snip_unsupervised"}.get(args.prune, args.prune)
    cfg = LabConfig(model=args.model, schemes=(args.init,), seed=args.seed, inputs=args.inputs, dataset=args.dataset,
                    per_layer=args.per_layer, per_layer_inputs=min(args.inputs, 8), criterion=crit,
                    sparsity=args.sparsity, scope=args.scope, isometry_steps=args.isometry_steps if crit else 0,
                    isometry_lr=args.isometry_lr, image_size=args.image_size, float64=not args.float32)
    doc = document(run_lab(cfg))
    if args.json:
        print(json.dumps(doc))
        return 0
    print(f"{args.model}, init {doc['init']}: {len(doc['singular_values'])} singular values over {args.inputs} inputs")
    print(f"  mean {doc['mean']:.4g}  std {doc['std']:.4g}  min {doc['min']:.4g}  max {doc['max']:.4g}")
    for l in doc["per_layer"]:
        if l["mean"] is None:
            print(f"  {l['layer']:<24} (skipped)")
        else:
            print(f"  {l['layer']:<24} mean {l['mean']:.4g}  std {l['std']:.4g}  min {l['min']:.4g}  max {l['max']:.4g}")
    if doc["kept_fraction"]:
        print("  kept: " + ", ".join(f"{k} {v:.3f}" for k, v in doc["kept_fraction"].items()))
    pen = doc["isometry"]["penalty"]
    if pen:
        print(f"  isometry penalty {pen[0]:.4g} -> {pen[-1]:.4g} in {len(pen) - 1} steps")
    return 0
