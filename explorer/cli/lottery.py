"""`python -m explorer lottery MODEL`: iterative magnitude pruning (or a one-shot sweep) with controls.

    python -m explorer lottery mlp --dataset mnist1d --rounds 5 --rate 0.2 --seeds 2 --json
    python -m explorer lottery lottery_mlp --sweep 0.5,0.8,0.9,0.95,0.97,0.99 --layerwise --prune-biases \\
        --steps 1501 --lr 0.02 --out out/tickets --json

Round 0 trains the dense network; every round prunes `--rate` of the surviving weights by
magnitude (global, or `--layerwise`; the output layer at `--output-rate`), rewinds the
survivors to the init (or to `--rewind-step`) and retrains them beside the controls, for every
seed. The runs land in the run store (one comparison group per round). `--json` prints
{"config", "dense": {"test_acc", "iters_to_target", ...}, "rounds": [{"round", "sparsity",
"layer_density", "runs": {"ticket", "reinit", "random"}}]}; `--out DIR` writes each round's
ticket (per seed) in the Prune export format.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli import options

HELP = "find lottery tickets: IMP with rewinding (or a one-shot --sweep), controls, over seeds"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from explorer.lottery.experiment import LotteryConfig as C

    options.add_experiment(p, C)
    p.add_argument("--layerwise", dest="scope", action="store_const", const="layer",
                   help="the same as --scope layer: prune every tensor at the same rate")
    p.add_argument("--out", default="", metavar="DIR", help="write each round's ticket in the Prune export format")


def run(a: argparse.Namespace) -> int:
    from explorer.lottery.experiment import LotteryConfig
    from explorer.lottery.report import rounds_table

    cfg = options.config(LotteryConfig, a)
    doc = options.run_job(cfg.kind, cfg)
    if a.out:
        doc["exports"] = write_tickets(cfg, doc, Path(a.out))
    lines = [f"{cfg.kind} {cfg.train.model} on {cfg.train.dataset}: {len(doc['rounds'])} rounds, {cfg.seeds} seed(s)"]
    lines += [f"  round {r['round']:>2}  {r['sparsity %']:>6.2f}% pruned  {r['role']:<7} test {r['test acc %']:<12} "
              f"iterations to target {r['iterations to target']} ({r['reached target']})" for r in rounds_table(doc)]
    options.emit(doc, a.json, "\n".join(lines))
    return 0


def write_tickets(cfg, doc: dict, out: Path) -> list[str]:
    """Each round's ticket of each seed as a Prune export under `out`; returns their folders."""
    from explorer import paths
    from explorer.pruning.export import complete
    from explorer.training.checkpoints import read_checkpoint
    from explorer.training.store import RunStore

    store, written = RunStore(), []
    for e in doc["rounds"]:
        for s, folder in zip(cfg.seed_list(), e["masks"]):
            state = None
            if cfg.rewind_step > 0:
                state = read_checkpoint(paths.checkpoint(paths.checkpoints(store.dir), doc["dense"]["run_ids"][s],
                                                         cfg.rewind_step))
            written.append(str(complete(folder, out / f"round{e['round']:02d}_s{s}", seed=s, state=state)))
    return written
