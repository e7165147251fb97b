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
ALIASES = {"snip-unsup": "snip_unsupervised"}  # --prune snip-unsup: SNIP with a uniform target


def add_arguments(p: argparse.ArgumentParser) -> None:
    from explorer.config.forms import add_arguments as add_settings
    from explorer.propagation.lab import LabConfig

    add_settings(p, LabConfig, positional=("model",), flags={"schemes": "--init", "criterion": "--prune",
                                                             "float64": "--float32"},
                 defaults={"schemes": ("as-built",)},
                 helps={"schemes": "init scheme (one): as-built keeps the model's own | orthogonal | delta-orthogonal | "
                                   "kaiming-normal | kaiming-uniform | xavier-normal | xavier-uniform | lecun-normal | "
                                   "gaussian:SIGMA2",
                        "criterion": LabConfig.help()["criterion"] + " (snip-unsup: snip_unsupervised)",
                        "float64": "take Jacobians in float32 (faster for big convnets)"},
                 extra={"schemes": {"metavar": "SCHEME"},  # the lab checks the names:
                        "criterion": {"type": lambda s: ALIASES.get(s, s), "choices": None, "metavar": "CRITERION"}})
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
    from explorer.config.forms import from_args
    from explorer.propagation.lab import LabConfig, run_lab

    from explorer.cli.options import model

    args.model = model(args.model, "spectrum")
    cfg = from_args(LabConfig, args, per_layer_inputs=min(args.inputs, args.per_layer_inputs),
                    isometry_steps=args.isometry_steps if args.criterion else 0)
    doc = document(run_lab(cfg))
    if args.json:
        print(json.dumps(doc))
        return 0
    print(f"{cfg.model}, init {doc['init']}: {len(doc['singular_values'])} singular values over {cfg.inputs} inputs")
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
