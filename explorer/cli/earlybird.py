"""`python -m explorer earlybird MODEL`: draw an early-bird ticket while the dense network trains.

    python -m explorer earlybird resnet_tiny --dataset digits --ratio 0.5 --steps 2000 --json

At every evaluation the mask of a pruning at each ratio (BatchNorm |γ| when the model has
BatchNorm, else |w|) is compared with the last ones; the ticket is drawn once they agree. It is
then retrained beside the end-of-training ticket of the same sparsity. `--json` prints
{"draw_step", "distances": [[...]], "ticket_test_acc", "dense_test_acc", "compute_fraction", ...}.
"""

from __future__ import annotations

import argparse

from explorer.cli import options

HELP = "early-bird tickets: the mask drawn during dense training, retrained; its accuracy and compute share"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from explorer.lottery.experiment import EarlyBirdConfig as C

    options.add_experiment(p, C)


def run(a: argparse.Namespace) -> int:
    from explorer.lottery.experiment import EarlyBirdConfig

    cfg = options.config(EarlyBirdConfig, a)
    doc = options.run_job("lottery.earlybird", cfg)

    def pct(x):
        return "–" if x is None else f"{100 * x:.1f}%"

    text = (f"early-bird ticket of {cfg.train.model} ({doc['criterion']} mask, ratio {cfg.ratio}): drawn at step "
            f"{doc['draw_step']} of {cfg.train.steps} (compute fraction {doc['compute_fraction']:.2f}); spline draw at step "
            f"{doc['spline_draw_step']}\n  test accuracy: early-bird ticket {pct(doc['ticket_test_acc'])}, "
            f"end-of-training ticket {pct(doc['end_ticket_test_acc'])}, dense {pct(doc['dense_test_acc'])}")
    options.emit(doc, a.json, text)
    return 0
