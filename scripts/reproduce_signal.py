"""Reproduce the signal-propagation figures the README reports (docs/science.md §5; the spp reference
settings of /shared/SCIENCE.md §9: 7-layer width-100 MLPs, orthogonal init, 90% sparsity, SGD 0.1,
batch 100, isometry by SGD 0.1).

    OMP_NUM_THREADS=1 nice -n 10 python3 scripts/reproduce_signal.py --out /tmp/spp.json

Part A (numbers, no training): the orthogonal identity of a deep linear net; the spread against depth
(3, 7, 15, 30); spectra after 90% SNIP and after approximate isometry, with the penalty reduction.
Part B (training on MNIST-1D, several seeds): dense vs pruned vs pruned + isometry for orthogonal and
Kaiming weights, pruned by supervised and unsupervised SNIP; all runs train as one batched job.
Prints markdown tables and writes every number to --out (JSON).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from explorer.models.generated import deep_mlp_spec  # noqa: E402
from explorer.propagation.depth import DepthConfig, depth_sweep  # noqa: E402
from explorer.propagation.grid import prepare_grid  # noqa: E402
from explorer.propagation.lab import LabConfig, run_lab  # noqa: E402
from explorer.training.config import RunConfig  # noqa: E402
from explorer.training.sweep import execute_sweep  # noqa: E402


def _f(v: float) -> str:
    return f"{v:.3g}"


def part_a(iso_steps: int, inputs: int) -> dict:
    out: dict = {}
    lab = run_lab(LabConfig(model=deep_mlp_spec(7, 100, "linear"), schemes=("orthogonal",), inputs=inputs))
    sv = torch.tensor(lab["schemes"][0]["stages"][0]["singular_values"])
    out["orthogonal_identity"] = {"values": sv.numel(), "max_abs_dev": float((sv - 1).abs().max())}
    print(f"\n### Orthogonal identity\ndepth-7 width-100 linear, orthogonal: {sv.numel()} singular values over {inputs} "
          f"inputs, max |σ − 1| = {out['orthogonal_identity']['max_abs_dev']:.2e}\n")
    out["depth"] = {}
    print("### Spread against depth (square width-100 nets, 16 inputs): mean ± std of σ, condition number")
    for act in ("linear", "tanh"):
        d = depth_sweep(DepthConfig(width=100, act=act, depths=(3, 7, 15, 30),
                                    schemes=("orthogonal", "gaussian:1", "kaiming-normal"), inputs=16))
        out["depth"][act] = d["points"]
        print(f"\n{act}:\n\n| init | " + " | ".join(f"depth {p}" for p in (3, 7, 15, 30)) + " |\n|---|---|---|---|---|")
        for scheme in ("orthogonal", "gaussian:1", "kaiming-normal"):
            ps = [p for p in d["points"] if p["init"] == scheme]
            cells = [f"{_f(p['mean'])} ± {_f(p['std'])} (κ {_f(p['condition'] or float('inf'))})" for p in ps]
            print(f"| {scheme} | " + " | ".join(cells) + " |")
    out["prune"] = {}
    print(f"\n### 90% SNIP, then approximate isometry ({iso_steps} SGD steps, lr 0.1)\n")
    print("| net | init | stage | mean σ | std σ | min σ | max σ | penalty |\n|---|---|---|---|---|---|---|---|")
    for net, spec in (("7×100 linear", deep_mlp_spec(7, 100, "linear")),
                      ("40→7×100 tanh→10", deep_mlp_spec(7, 100, "tanh", 40, 10))):
        for sched in ("constant", "cosine"):
            cfg = LabConfig(model=spec, schemes=("orthogonal", "kaiming-normal"), inputs=inputs, criterion="snip",
                            sparsity=0.9, isometry_steps=iso_steps, isometry_schedule=sched, per_layer="none")
            doc = run_lab(cfg)
            out["prune"][f"{net} {sched}"] = doc["schemes"]
            for e in doc["schemes"]:
                pen = e["isometry"]["penalty"]
                for st in e["stages"]:
                    if sched == "cosine" and st["stage"] != "isometry":
                        continue
                    s = st["stats"]
                    p = {"pruned": _f(pen[0]), "isometry": f"{_f(pen[-1])} ({pen[0] / pen[-1]:.1f}× lower)"}.get(
                        st["stage"], "")
                    stage = st["stage"] + (" (cosine lr)" if sched == "cosine" and st["stage"] == "isometry" else "")
                    print(f"| {net} | {e['init']} | {stage} | {_f(s['mean'])} | {_f(s['std'])} | {_f(s['min'])} | "
                          f"{_f(s['max'])} | {p} |")
    return out


def part_b(seeds: list[int], steps: int, iso_steps: int, root: Path) -> dict:
    spec = deep_mlp_spec(7, 100, "tanh", 40, 10)
    base = RunConfig(model=spec, dataset="mnist1d", optimizer="sgd", lr=0.1, momentum=0.0, steps=steps,
                     batch_size=100, eval_every=100, log_every=10, device="cpu")
    configs: dict[str, RunConfig] = {}
    for crit in ("snip", "snip_unsupervised"):
        lab = LabConfig(model=spec, schemes=("orthogonal", "kaiming-normal"), criterion=crit, sparsity=0.9,
                        isometry_steps=iso_steps, snip_batch=1000)
        g = prepare_grid(lab, base, seeds, root)
        for d in g["configs"]:
            c = RunConfig.from_dict(d)
            key = f"{c.init_scheme} · dense" if c.init == "dense" else \
                f"{c.init_scheme} · {crit} · {'pruned' if c.init == 'ticket' else 'pruned+isometry'}"
            configs.setdefault(f"{key} · s{c.seed}", c.replace(group="spp-repro", label=f"{key} s{c.seed}"))
    cs = list(configs.values())
    t0 = time.perf_counter()
    res = execute_sweep(cs, checkpoint_root=root / "ck")
    wall = time.perf_counter() - t0
    arms: dict[str, list] = {}
    for key, r in zip(configs, res):
        arms.setdefault(key.rsplit(" · s", 1)[0], []).append(r)
    print(f"\n### MNIST-1D, 7-layer width-100 tanh MLP, 90% sparsity: {len(cs)} runs, {len(seeds)} seeds, {steps} SGD "
          f"steps (lr 0.1, batch 100), one batched job of {wall:.0f} s\n")
    print("| init | arm | test acc % (mean ± std) | best test % | train acc % | status |\n|---|---|---|---|---|---|")
    out = {}
    for arm, rs in arms.items():
        test = [100 * r.final.get("test_acc", float("nan")) for r in rs]
        best = [100 * r.best_test_acc for r in rs]
        train = [100 * r.final.get("train_acc", float("nan")) for r in rs]
        sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0  # noqa: E731
        init, _, rest = arm.partition(" · ")
        out[arm] = {"test": test, "best_test": best, "train": train, "status": [r.status for r in rs]}
        print(f"| {init} | {rest} | {statistics.fmean(test):.1f} ± {sd(test):.1f} | {statistics.fmean(best):.1f} ± "
              f"{sd(best):.1f} | {statistics.fmean(train):.1f} ± {sd(train):.1f} | {', '.join(sorted(set(out[arm]['status'])))} |")
    return {"runs": out, "wall_s": wall}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="", help="write every number here (JSON)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=3000, help="training steps per run")
    p.add_argument("--iso-steps", type=int, default=10_000, help="SGD steps of approximate isometry")
    p.add_argument("--inputs", type=int, default=100, help="inputs the spectra are taken at")
    p.add_argument("--skip-training", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    doc = {"a": part_a(a.iso_steps, a.inputs)}
    if not a.skip_training:
        with tempfile.TemporaryDirectory() as d:
            doc["b"] = part_b(list(range(a.seeds)), a.steps, a.iso_steps, Path(d))
    if a.out:
        Path(a.out).write_text(json.dumps(doc, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
