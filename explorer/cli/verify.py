"""`python -m explorer verify MODEL`: check the lifting decomposition against the model's forward pass.

Prints the forward error (composition of the lifting steps vs the model) and, at unit level,
the Jacobian error (local map P(x) vs autograd); exits 1 when either exceeds `--tol`.
"""

from __future__ import annotations

import argparse

HELP = "check the lifting decomposition against the forward pass and the Jacobian; exit 1 if off"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="zoo name, torchvision name, or path/to/file.py:ClassName")
    p.add_argument("--seed", type=int, default=0, help="seed of the model's init and of the random inputs")
    p.add_argument("--granularity", choices=("unit", "op"), default="unit",
                   help="unit: neurons/channels, numeric matrices; op: traced ops, symbolic matrices")
    p.add_argument("--tol", type=float, default=1e-4, help="largest accepted max-abs error (float64)")
    p.add_argument("--batch", type=int, default=4, help="number of random input samples")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def build(spec: str, granularity: str, seed: int):
    """(model, dag, info): the model as `models.load` builds it, and its DAG through `explorer.graph.build.build_dag`
    (given the loaded model, so the DAG is made from the very weights that are verified)."""
    from explorer import models
    from explorer.graph.build import build_dag

    if spec.lower().endswith(".onnx"):
        from explorer.cli import CliError

        raise CliError(f"{spec}: an ONNX file has structure only (levels), nothing to verify; give a Python model")
    lm = models.load(spec, seed)
    return lm.model, build_dag(lm, granularity, None, seed), lm.info


def run(args: argparse.Namespace) -> int:
    import torch

    from explorer.lifting.verify import verify

    model, dag, info = build(args.model, args.granularity, args.seed)
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch, *info.input_shape, generator=g)
    v = verify(model, dag, x, tol=args.tol)
    print(v.dumps() if args.json else str(v))
    return 0 if v.ok else 1
