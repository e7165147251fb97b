"""Benchmark of the lifting decomposition: how long the explorer takes to decompose a model.

Unit level (zoo models): unit DAG + all numeric T_l + verify (forward and Jacobian checks).
Op level (large torchvision models): op DAG (trace) + all symbolic T_l + node matrices for every level.
Each row is also given as a ratio to one forward pass of the same model, timed in the same
process (the baseline), so the figures travel between machines. Goal: under 1 s each.

    python3 bench/bench_lifting.py            # everything
    python3 bench/bench_lifting.py --quick    # fewer models
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from explorer import models  # noqa: E402
from explorer.lifting import lifting  # noqa: E402
from explorer.graph.trace import trace  # noqa: E402
from explorer.graph.unit import unit_dag  # noqa: E402
from explorer.lifting.verify import verify  # noqa: E402

UNIT = ["mlp", "mlp_skip", "cnn1d", "resnet_tiny", "densenet_tiny", "inception_tiny", "unet_tiny", "moons_mlp"]
OP = ["resnet50", "densenet121", "googlenet", "vit_b_16", "convnext_base", "efficientnet_b7", "regnet_y_128gf"]


def best(fn, repeat: int) -> float:
    out = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t)
    return out


def forward_time(lm, repeat: int) -> float:
    with torch.no_grad():
        lm.model(lm.example_input)
        return best(lambda: lm.model(lm.example_input), repeat)


def unit_row(name: str, repeat: int) -> tuple:
    lm = models.load(name)
    x = torch.randn(4, *lm.info.input_shape, generator=torch.Generator().manual_seed(0))
    t_dag = best(lambda: unit_dag(lm.model, lm.example_input, name), repeat)
    dag = unit_dag(lm.model, lm.example_input, name)

    def matrices():
        L = lifting(dag)
        for l in range(1, L.L + 1):
            L.T(l)
            L.node_matrix(l)

    t_mat = best(matrices, repeat)
    t_ver = best(lambda: verify(lm.model, dag, x), repeat)
    v = verify(lm.model, dag, x)
    fwd = forward_time(lm, 20)
    total = t_dag + t_mat + t_ver
    return (name, len(dag.nodes), len(dag.arcs), dag.depth, t_dag, t_mat, t_ver, total, total / fwd,
            f"{v.forward_error:.1e}/{v.jacobian_error:.1e}")


def op_row(name: str, repeat: int) -> tuple:
    lm = models.load(name)
    t_dag = best(lambda: trace(lm.model, lm.example_input, name), repeat)
    dag = trace(lm.model, lm.example_input, name)

    def matrices():
        L = lifting(dag)
        for l in range(1, L.L + 1):
            L.T(l)
        L.node_matrix(L.L // 2)
        L.assert_lower_triangular()

    t_mat = best(matrices, repeat)
    fwd = forward_time(lm, 3)
    total = t_dag + t_mat
    return (name, len(dag.nodes), len(dag.arcs), dag.depth, t_dag, t_mat, total, total / fwd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="three models per table, one repeat")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the models are tiny)")
    args = ap.parse_args()
    repeat = 1 if args.quick else 3
    # tiny tensors: one thread. On a loaded 2-core machine a second thread makes each small conv ~100x slower
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; best of {repeat}\n")
    print("unit level: unit DAG + all numeric T_l and node matrices + verify (4 samples, 3 Jacobians)")
    hdr = f"{'model':16s} {'nodes':>6s} {'arcs':>7s} {'L':>3s} {'dag s':>7s} {'T_l s':>7s} {'verify s':>8s} " \
          f"{'total s':>8s} {'/forward':>9s}  {'errors fwd/jac':>16s}"
    print(hdr)
    worst = 0.0
    for name in UNIT[:3] if args.quick else UNIT:
        r = unit_row(name, repeat)
        worst = max(worst, r[7])
        print(f"{r[0]:16s} {r[1]:6d} {r[2]:7d} {r[3]:3d} {r[4]:7.3f} {r[5]:7.3f} {r[6]:8.3f} {r[7]:8.3f} "
              f"{r[8]:9.0f}  {r[9]:>16s}", flush=True)
    print(f"slowest unit-level total: {worst:.3f} s (goal < 1 s)\n")
    print("op level: trace + all symbolic T_l + a node matrix + triangularity check")
    print(f"{'model':16s} {'nodes':>6s} {'arcs':>7s} {'L':>4s} {'dag s':>7s} {'T_l s':>7s} {'total s':>8s} "
          f"{'/forward':>9s}")
    worst = 0.0
    for name in OP[:3] if args.quick else OP:
        r = op_row(name, repeat)
        worst = max(worst, r[6])
        print(f"{r[0]:16s} {r[1]:6d} {r[2]:7d} {r[3]:4d} {r[4]:7.3f} {r[5]:7.3f} {r[6]:8.3f} {r[7]:9.2f}", flush=True)
    print(f"slowest op-level total: {worst:.3f} s (goal < 1 s)")


if __name__ == "__main__":
    main()
