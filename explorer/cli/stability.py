"""`python -m explorer stability MODEL`: the error barrier between two copies of one rewind point.

    python -m explorer stability mlp --dataset mnist1d --rewind-step 100 --steps 1000 --json
    python -m explorer stability lottery_mlp --mask out/tickets/round03_s0 --json

Two copies start from the parent's weights at `--rewind-step` (0: the init), with the ticket's
mask when `--mask` is given, and train with data orders `--order-a` / `--order-b`; the test error
is measured at `--points` points on the straight line between them. `--json` prints
{"barrier": ..., "curve": [[alpha, test_error], ...], ...}.
"""

from __future__ import annotations

import argparse

from explorer.cli import options

HELP = "instability: test error along the line between two copies trained with different data orders"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from explorer.lottery.experiment import StabilityConfig as C

    options.add_experiment(p, C, flags={"pruned_dir": "--mask"})


def run(a: argparse.Namespace) -> int:
    from explorer.lottery.experiment import StabilityConfig

    cfg = options.config(StabilityConfig, a)
    doc = options.run_job("lottery.stability", cfg)
    curve = "  ".join(f"{x:.1f}:{100 * e:.1f}%" for x, e in doc["curve"])
    options.emit(doc, a.json, f"barrier {100 * doc['barrier']:.2f} points of test error\n  α:error  {curve}")
    return 0
