"""`python -m explorer verify MODEL`: check the lifting decomposition against the model's forward pass.

Prints the forward error (composition of the lifting steps vs the model) and, at unit level,
the Jacobian error (local map P(x) vs autograd); exits 1 when either exceeds `--tol`. Probe
inputs are drawn like the model's example input (integer token ids stay integers; a graph
traced for one batch size keeps it; a model that fails in float64, or has over 20M parameters,
is checked in its own precision); every such choice is printed as a note. The policy is
`explorer.lifting.verify.verify_model`, the one the Decomposition page runs.
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
    p.add_argument("--batch", type=int, default=None,
                   help="number of random input samples (>= 1; default 4, or 1 for a model of 1M parameters or more)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from explorer import models
    from explorer.cli import CliError
    from explorer.graph import build_dag
    from explorer.lifting.verify import check_tol, verify_model

    from explorer.cli.options import model

    model(args.model, "verify")
    if args.batch is not None and args.batch < 1:
        raise CliError(f"--batch {args.batch}: give at least 1 input sample")
    if args.tol is not None:
        check_tol(args.tol)
    lm = models.load_cached(args.model, args.seed)
    dag = build_dag(lm, args.granularity, None, args.seed)
    v = verify_model(lm.model, dag, seed=args.seed, samples=args.batch, tol=args.tol)  # the page's policy too
    print(v.dumps() if args.json else str(v))
    return 0 if v.ok else 1
