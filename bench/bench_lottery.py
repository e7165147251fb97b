"""The MNIST-1D lottery notebook's sweep, batched vs one run after another (goal >= 2x on CPU,
>= 10x on a GPU).

    python3 bench/bench_lottery.py [--steps 1501] [--seeds 2] [--threads 1] [--device cpu] [--json F]

The experiment: `lottery_mlp` (40-500-500-10 with a residual connection), Adam 2e-2, batch 100,
per-layer magnitude masks incl. biases, rewind to init; the one-shot sweep over 6 sparsities
(0.5 ... 0.99) x `--seeds` seeds x (ticket, random mask). Measured in this process:

  1. the whole experiment as the Lottery page and CLI run it (`lottery.sweep` job in a fresh run
     store: dense runs, masks, the 24 tickets and controls as ONE batched job, documents);
  2. the same 24 runs again, one after another (`runner.execute`, as the worker trains them
     without batching) vs as one batched job (`sweep.execute_sweep`), on the same configs.

It prints the seconds, the ratio and how far the batched results are from the sequential ones.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer import paths  # noqa: E402
from explorer.lottery.experiment import LotteryConfig  # noqa: E402
from explorer.jobs.backends import InlineBackend  # noqa: E402
from explorer.lottery.kinds import SWEEP  # noqa: E402
from explorer.training.sweep import execute_sweep  # noqa: E402
from explorer.training.runner import execute  # noqa: E402
from explorer.training.store import RunStore  # noqa: E402

SWEEP = (0.5, 0.8, 0.9, 0.95, 0.97, 0.99)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1501)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads, the same for both sides")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default="", help="also write the figures to this JSON file")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = LotteryConfig.of(model="lottery_mlp", dataset="mnist1d", sweep=SWEEP, steps=a.steps, lr=2e-2, batch_size=100,
                        eval_every=100, scope="layer", prune_biases=True, seeds=a.seeds, controls=("random",),
                        device=a.device)
    store = RunStore(tempfile.mkdtemp(prefix="bench_lottery_"))
    print(f"lottery_mlp one-shot sweep: {len(SWEEP)} sparsities x {a.seeds} seeds x (ticket, random), {a.steps} steps, "
          f"batch 100, Adam 2e-2, {a.threads} torch thread(s), device {a.device}")

    t = time.perf_counter()
    job = InlineBackend(store).run(SWEEP, cfg)
    t_exp = time.perf_counter() - t
    if job.status != "done":
        print(f"the experiment ended {job.status}: {job.error}")
        return 1
    ids = [rid for e in job.result["rounds"] for role in ("ticket", "random") for rid in e["runs"][role]["run_ids"]]
    configs = [store.get(rid).config for rid in ids]
    print(f"1. whole experiment (dense runs + {len(configs)} batched runs + documents): {t_exp:.1f} s")

    root = paths.checkpoints(store.dir)
    execute(configs[0].replace(steps=5), checkpoint_root=root)  # warm both paths up (first vmap trace, allocator)
    execute_sweep([c.replace(steps=5) for c in configs[:2]], checkpoint_root=root)
    seq_rows: dict[str, list] = {c.run_id: [] for c in configs}
    bat_rows: dict[str, list] = {c.run_id: [] for c in configs}
    t = time.perf_counter()
    seq = [execute(c, seq_rows[c.run_id].extend, checkpoint_root=root) for c in configs]
    t_seq = time.perf_counter() - t
    t = time.perf_counter()
    bat = execute_sweep(configs, lambda rid, rows: bat_rows[rid].extend(rows), checkpoint_root=root)
    t_bat = time.perf_counter() - t
    diff = max(abs(s.final["test_acc"] - b.final["test_acc"]) for s, b in zip(seq, bat))
    early = max(abs(x["loss"] - y["loss"]) / max(1e-8, abs(y["loss"])) for c in configs
                for x, y in zip(bat_rows[c.run_id], seq_rows[c.run_id]) if x["split"] == "train" and x["step"] <= 100)
    ratio = t_seq / t_bat
    goal = 10 if a.device.startswith("cuda") else 2
    print(f"2. {len(configs)} runs one after another {t_seq:.1f} s, as one batched job {t_bat:.1f} s -> "
          f"speed-up {ratio:.2f}x (goal >= {goal}x: {'met' if ratio >= goal else 'NOT met'})")
    # At Adam 2e-2 rounding differences (bmm vs mm) are amplified chaotically after ~100 steps: the
    # claim is the same computation, checked where it is not yet chaotic; the end is reported.
    print(f"   agreement: train losses of the first 100 steps within {early:.1e} relative; final test accuracy "
          f"differs by up to {100 * diff:.1f} points after {a.steps} steps (chaotic drift at lr 2e-2)")
    for e in job.result["rounds"]:
        t_acc = [round(100 * x, 1) for x in e["runs"]["ticket"]["test_acc"]]
        r_acc = [round(100 * x, 1) for x in e["runs"]["random"]["test_acc"]]
        print(f"   {100 * e['sparsity']:5.1f}% pruned: ticket {t_acc}  random {r_acc}")
    if a.json:
        devices = sorted({store.get(rid).device for rid in ids})
        Path(a.json).write_text(json.dumps({
            "runs": len(configs), "steps": a.steps, "device": a.device, "run_devices": devices,
            "experiment_s": round(t_exp, 2), "sequential_s": round(t_seq, 2), "batched_s": round(t_bat, 2),
            "speedup": round(ratio, 2), "goal": goal, "early_rel_loss_diff": early,
            "final_acc_diff": diff}, indent=1))
    return 0 if early <= 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
