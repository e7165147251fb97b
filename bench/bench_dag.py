"""DAG + levels (+ block collapse, + symbolic lifting matrices) for the largest torchvision models.

    python3 bench/bench_dag.py                 # the default set, real (random) weights
    python3 bench/bench_dag.py --meta          # build the models on the meta device (no weights)
    python3 bench/bench_dag.py resnet152 vit_h_14 --repeat 5

For each model (construction excluded) it times, best of `--repeat` runs:
  fx      plain `torch.fx.symbolic_trace(model)`: the baseline, in the same process;
  trace   `explorer.graph.trace.trace`: fx trace + meta-tensor shapes + params/MACs + Dag with levels + lint;
  block   `explorer.graph.block.block_dag(dag, 2)`;
  lift    `explorer.lifting.lifting(dag)` + every T_l + the lower-triangular check;
and prints the table with `total = trace + block + lift` and the ratios to the fx baseline.
Goal: total under 1 s per model.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torchvision  # noqa: E402

from explorer.graph.block import block_dag  # noqa: E402
from explorer.graph.trace import trace  # noqa: E402

# the largest by parameters (vit_h_14, regnet_y_128gf, convnext_large) and by op count
# (maxvit_t, efficientnet_v2_l, efficientnet_b7, densenet201, resnet152, swin_v2_b)
DEFAULT = ["resnet152", "densenet201", "vit_h_14", "efficientnet_b7", "convnext_large", "regnet_y_128gf",
           "efficientnet_v2_l", "swin_v2_b", "maxvit_t"]


def build(name: str, meta: bool) -> torch.nn.Module:
    kw = {"aux_logits": False, "init_weights": False} if name in ("googlenet", "inception_v3") else {}
    if meta:
        try:
            with torch.device("meta"):
                return torchvision.models.get_model(name, weights=None, **kw).eval()
        except NotImplementedError:  # e.g. regnet's init copies data: build it for real
            pass
    return torchvision.models.get_model(name, weights=None, **kw).eval()


def best(fn, repeat: int) -> tuple[float, object]:
    t_best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, out


def lift_all(dag) -> None:
    from explorer.lifting import lifting

    L = lifting(dag)
    for l in range(1, L.L + 1):
        L.T(l)
    L.assert_lower_triangular()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs per stage")
    ap.add_argument("--meta", action="store_true", help="build models on the meta device (no weights)")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, threads {torch.get_num_threads()}, "
          f"cpus {os.cpu_count()}, weights {'meta' if args.meta else 'real (random init)'}, best of {args.repeat}")
    head = (f"{'model':18s} {'params':>8s} {'nodes':>6s} {'levels':>6s} {'blocks':>6s} {'fx s':>7s} {'trace s':>7s} "
            f"{'block s':>7s} {'lift s':>7s} {'total s':>7s} {'trace/fx':>8s} {'total/fx':>8s}")
    print(head)
    print("-" * len(head))
    worst = 0.0
    for name in args.models:
        model = build(name, args.meta)
        x = torch.zeros(1, 3, 299, 299) if name == "inception_v3" else torch.zeros(1, 3, 224, 224)
        n_params = sum(p.numel() for p in model.parameters())
        trace(model, x, name)  # warm-up: first calls pay one-off import/dispatch costs in both paths
        t_fx, _ = best(lambda: torch.fx.symbolic_trace(model), args.repeat)
        t_tr, dag = best(lambda: trace(model, x, name), args.repeat)
        t_bl, blk = best(lambda: block_dag(dag, 2), args.repeat)
        t_li = best(lambda: lift_all(dag), args.repeat)[0]
        total = t_tr + t_bl + t_li
        worst = max(worst, total)
        print(f"{name:18s} {n_params / 1e6:7.1f}M {len(dag.nodes):6d} {dag.depth + 1:6d} {len(blk.nodes):6d} "
              f"{t_fx:7.3f} {t_tr:7.3f} {t_bl:7.3f} {t_li:7.3f} {total:7.3f} {t_tr / t_fx:8.2f} {total / t_fx:8.2f}")
        del model, dag, blk
        gc.collect()
    print(f"slowest total {worst:.3f} s; goal < 1 s: {'met' if worst < 1 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
