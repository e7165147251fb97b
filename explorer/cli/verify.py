"""`python -m explorer verify MODEL`: check the lifting decomposition against the model's forward pass.

Prints the forward error (composition of the lifting steps vs the model) and, at unit level,
the Jacobian error (local map P(x) vs autograd); exits 1 when either exceeds `--tol`. Probe
inputs are drawn like the model's example input (integer token ids stay integers; a graph
traced for one batch size keeps it; a model that fails in float64 is checked in float32);
every such choice is printed as a note.
"""

from __future__ import annotations

import argparse

HELP = "check the lifting decomposition against the forward pass and the Jacobian; exit 1 if off"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="zoo name, torchvision name, or path/to/file.py:ClassName")
    p.add_argument("--seed", type=int, default=0, help="seed of the model's init and of the random inputs")
    p.add_argument("--granularity", choices=("unit", "op"), default="unit",
                   help="unit: neurons/channels, numeric matrices; op: traced ops, symbolic matrices")
    p.add_argument("--tol", type=float, default=None,
                   help="largest accepted max-abs error (default 1e-4 in float64; 1e-3 × output scale in float32)")
    p.add_argument("--batch", type=int, default=4, help="number of random input samples (>= 1)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from explorer import models
    from explorer.cli import CliError
    from explorer.graph import build_dag
    from explorer.lifting.verify import check_tol, verify

    from explorer.cli.options import model

    model(args.model, "verify")
    if args.batch < 1:
        raise CliError(f"--batch {args.batch}: give at least 1 input sample")
    if args.tol is not None:
        check_tol(args.tol)
    lm = models.load_cached(args.model, args.seed)
    dag = build_dag(lm, args.granularity, None, args.seed)
    v = verify(lm.model, dag, None, tol=args.tol, samples=args.batch, seed=args.seed)
    print(v.dumps() if args.json else str(v))
    return 0 if v.ok else 1
