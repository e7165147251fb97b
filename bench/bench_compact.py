"""Compaction benchmark: measured CPU speed-up against MAC reduction at 50% of
channels, for our compaction (magnitude/L1 unit criterion -> mask -> `compact`) and, in the
same run on the same input, Torch-Pruning's own `MagnitudePruner` with L1 importance at the
same ratio.

    python3 bench/bench_compact.py                 # ResNet-18 1x3x224x224 and cnn1d batch 256
    python3 bench/bench_compact.py --threads 1 --rounds 8

Forms are timed interleaved (dense, masked, ours, torch-pruning, dense, ...), each sample the
fastest call of a short burst; the speed-up is the median over rounds of the paired ratio
dense/form, so a change in machine load between rounds cancels. Goals: our
speed-up >= 0.8 x our MAC reduction, and no worse than Torch-Pruning's speed-up.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer import models  # noqa: E402
from explorer.pruning.compact import compact_with_report, count, masked_copy, probes  # noqa: E402
from explorer.pruning.criteria import propose  # noqa: E402
from explorer.pruning.coupling import find_layers  # noqa: E402
from explorer.pruning.latency import NOTE, measure  # noqa: E402

RATIO = 0.5


def tp_prune(model: torch.nn.Module, x: torch.Tensor, ratio: float) -> torch.nn.Module:
    """Torch-Pruning's own pipeline: MagnitudePruner, L1 group importance, same ratio, output layer kept."""
    import torch_pruning as tp

    m = copy.deepcopy(model).eval()
    out = dict(m.named_modules())[[l for l in find_layers(m, x) if l.is_output][0].name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pruner = tp.pruner.MagnitudePruner(m, x, importance=tp.importance.MagnitudeImportance(p=1),
                                           pruning_ratio=ratio, ignored_layers=[out])
        pruner.step()
    return m


def timed(forms: dict[str, torch.nn.Module], x: torch.Tensor, rounds: int, burst: int, threads: int,
          min_time_s: float) -> tuple[dict[str, list[float]], dict[str, float], dict[str, list[float]]]:
    """Per form: the burst minima (one per round), the fastest single call over all rounds, and
    the paired speed-ups (dense burst minimum / form burst minimum in the same round)."""
    samples: dict[str, list[float]] = {f: [] for f in forms}
    best: dict[str, float] = {f: float("inf") for f in forms}
    paired: dict[str, list[float]] = {f: [] for f in forms}
    for f, m in forms.items():  # warm-up
        measure(m, x, warmup=2, repeats=1, threads=threads)
    for _ in range(rounds):
        this: dict[str, float] = {}
        for f, m in forms.items():
            lat = measure(m, x, warmup=0, repeats=burst, threads=threads, min_time_s=min_time_s)
            this[f] = lat.min_ms
            samples[f].append(lat.min_ms)
            best[f] = min(best[f], lat.min_ms)
        for f in forms:
            paired[f].append(this["dense"] / this[f])
    return samples, best, paired


def same_architecture(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    pa = [(n, tuple(p.shape)) for n, p in a.named_parameters()]
    pb = [(n, tuple(p.shape)) for n, p in b.named_parameters()]
    return pa == pb


def bench(spec: str, x: torch.Tensor, args: argparse.Namespace) -> list[dict]:
    lm = models.load(spec)
    dense = lm.model.eval()
    t0 = time.perf_counter()
    p = propose(dense, "magnitude", RATIO, target="units", scope="layer", example_input=x[:1])
    ours, report = compact_with_report(dense, p.mask, x[:1])
    t_ours = time.perf_counter() - t0
    masked = masked_copy(dense, p.mask)
    t0 = time.perf_counter()
    theirs = tp_prune(dense, x[:1], RATIO)
    t_tp = time.perf_counter() - t0
    with torch.no_grad():
        xs = probes(x[:1], n=1)
        diff = float((ours(xs) - masked(xs)).abs().max())
    forms = {"dense": dense, "masked": masked, "ours": ours, "torch-pruning": theirs}
    samples, best, paired = timed(forms, x, args.rounds, args.burst, args.threads, args.min_time_s)
    dense_macs = count(dense, x[:1])["macs"]
    rows = []
    for f, m in forms.items():
        c = count(m, x[:1])
        med = statistics.median(samples[f])
        q = statistics.quantiles(samples[f], n=4) if len(samples[f]) > 1 else [med] * 3
        rows.append({"model": spec, "form": f, "params": c["params"], "nonzero": c["nonzero_params"],
                     "macs": c["macs"], "ms": med, "iqr": q[2] - q[0], "speedup_min": best["dense"] / best[f],
                     "min_ms": best[f], "speedup": statistics.median(paired[f]), "mac_red": dense_macs / c["macs"]})
    print(f"\n{spec}: input {tuple(x.shape)}, {args.threads} thread(s), {args.rounds} rounds x {args.burst}; "
          f"ours prepared in {t_ours:.1f}s (propose+compact, |compacted - masked| = {diff:.1e}), "
          f"torch-pruning in {t_tp:.1f}s")
    print("speed-up = median over rounds of (dense / form), each the fastest call of a burst run back to back "
          "(paired, so load changes cancel); 'of mins' = fastest dense call / fastest form call")
    print(f"{'form':<14}{'params':>11}{'nonzero':>11}{'MMACs':>9}{'min ms':>9}{'med ms':>9}{'IQR':>8}"
          f"{'speed-up':>10}{'of mins':>9}{'MAC red.':>10}{'speed/MAC':>10}")
    for r in rows:
        print(f"{r['form']:<14}{r['params']:>11,}{r['nonzero']:>11,}{r['macs'] / 1e6:>9.2f}{r['min_ms']:>9.2f}"
              f"{r['ms']:>9.2f}{r['iqr']:>8.2f}{r['speedup']:>9.2f}x{r['speedup_min']:>8.2f}x"
              f"{r['mac_red']:>9.2f}x{r['speedup'] / r['mac_red']:>10.2f}")
    o = next(r for r in rows if r["form"] == "ours")
    t = next(r for r in rows if r["form"] == "torch-pruning")
    if same_architecture(ours, theirs):
        print("ours and torch-pruning have the same architecture (every parameter shape equal): any speed "
              "difference between them is timing noise")
    goal1 = o["speedup"] >= 0.8 * o["mac_red"]
    goal2 = o["speedup"] >= t["speedup"] * (1 - args.tie)
    print(f"goal speed-up >= 0.8 x MAC reduction: {o['speedup']:.2f} vs {0.8 * o['mac_red']:.2f} -> "
          f"{'MET' if goal1 else 'NOT MET'}")
    print(f"goal no worse than torch-pruning (within {100 * args.tie:.0f}% timing noise): {o['speedup']:.2f} vs "
          f"{t['speedup']:.2f} -> {'MET' if goal2 else 'NOT MET'}; units removed: {sum(report.removed.values())}"
          + (f"; left masked: {report.refused}" if report.refused else ""))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads while timing (1: steadiest on a "
                    "shared machine)")
    ap.add_argument("--rounds", type=int, default=10, help="interleaved rounds per form")
    ap.add_argument("--burst", type=int, default=30, help="cnn1d: calls per sample (its median is the sample)")
    ap.add_argument("--resnet-burst", type=int, default=2, help="ResNet-18: calls per sample")
    ap.add_argument("--min-time-s", type=float, default=0.0, help="repeat each call for at least this long")
    ap.add_argument("--tie", type=float, default=0.05, help="relative timing noise counted as a tie")
    ap.add_argument("--resnet-input", default="1,3,224,224", help="ResNet-18 input shape, e.g. 8,3,112,112")
    ap.add_argument("--cnn-batch", type=int, default=256, help="cnn1d batch size")
    ap.add_argument("--only", choices=["resnet18", "cnn1d"], help="run one model")
    args = ap.parse_args()
    torch.manual_seed(0)
    print(NOTE)
    if args.only in (None, "resnet18"):
        shape = tuple(int(s) for s in args.resnet_input.split(","))
        bench("resnet18", torch.randn(*shape), argparse.Namespace(**{**vars(args), "burst": args.resnet_burst}))
    if args.only in (None, "cnn1d"):
        bench("cnn1d", torch.randn(args.cnn_batch, 40), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
