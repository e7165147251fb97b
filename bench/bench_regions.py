"""Benchmark of the exact linear regions (explorer.regions) and of the playground's live frames.

1. The exact partition of a 2-16-16-16-2 ReLU network on [-6, 6]², without and with skip arcs
   (0->2, 1->3, 0->4), at a random init scaled so that it cuts a few thousand regions: time of the
   partition alone and of a whole frame (unit DAG + lifting + partition + class cells + encoding),
   regions per second — against the grid-sampling alternative in the same process: a 200 x 200
   forward pass that reads every unit's sign (what TensorFlow Playground-style heatmaps cost, and
   which only *approximates* the regions). Goal: < 0.3 s per frame for a few thousand regions.
2. Live training: the `playground` job run in-process on the spiral (the page's 8-8-8 network with
   skip arcs, and the 16-16-16 one), a frame every 20 steps: frames per second. Goal: >= 2.

    python3 bench/bench_regions.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from explorer.graph.unit import unit_dag  # noqa: E402
from explorer.lifting.numeric import NumericLifting  # noqa: E402
from explorer.playground.config import PlaygroundConfig  # noqa: E402
from explorer.playground.job import KIND  # noqa: E402
from explorer.playground.net import PlaygroundNet  # noqa: E402
from explorer.regions.encoding import encode  # noqa: E402
from explorer.regions.partition import partition  # noqa: E402
from explorer.regions.plane import Plane  # noqa: E402
from explorer.regions.view import exact_view  # noqa: E402
from explorer.jobs.backends import InlineBackend  # noqa: E402
from explorer.training.store import RunStore  # noqa: E402

PLANE = Plane.rect(-6, 6, -6, 6)


def best(fn, repeat: int = 5) -> tuple[float, object]:
    out, res = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        res = fn()
        out = min(out, time.perf_counter() - t)
    return out, res


@torch.no_grad()
def net(width: int, skips: list[tuple[int, int]], seed: int = 0) -> nn.Module:
    """2-w-w-w-2 with He-scaled weights and every unit's boundary through a random point of the box (its bias
    cancels its pre-activation there), so that every unit cuts the plane we draw — as a trained net's do."""
    torch.manual_seed(seed)
    m = PlaygroundNet([2, width, width, width, 2], "relu", skips)
    for j in range(1, m.depth + 2):
        lin = getattr(m, m.layer_name(j))
        lin.weight.normal_(0, (2.0 / lin.weight.shape[1]) ** 0.5)
        for i, jj in skips:
            if jj == j:
                getattr(m, f"skip{i}_{j}").weight.normal_(0, (2.0 / m.widths[i]) ** 0.5)
        lin.bias.zero_()
        pts = torch.rand(lin.weight.shape[0], 2) * 12 - 6  # one point per unit
        hs = [h.T for h in m.layers(pts)]
        pre = lin(hs[j - 1]) + sum((getattr(m, f"skip{i}_{j}")(hs[i]) for i, jj in skips if jj == j), 0.0)
        lin.bias.copy_(-pre.diagonal())
    return m.eval()


def grid_codes(m: PlaygroundNet, res: int = 200) -> int:
    """The grid alternative: every unit's sign at res x res points; the number of distinct codes."""
    _, _, uv = PLANE.grid(res)
    hs = m.layers(torch.from_numpy(uv.astype(np.float32)))
    codes = torch.cat([h > 0 for h in hs[1:-1]], 0).T.numpy()  # (res*res, units)
    return len(np.unique(np.packbits(codes, axis=1), axis=0))


def partition_rows() -> None:
    print("exact partition of 2-w-w-w-2 ReLU networks on [-6, 6]^2 (best of 5)")
    print(f"{'network':<34}{'regions':>8}{'partition s':>13}{'frame s':>9}{'regions/s':>11}"
          f"{'grid 200² s':>13}{'grid codes':>11}{'frame/grid':>11}")
    skips3 = [(0, 2), (1, 3), (0, 4)]
    for width, label, skips in ((16, "2-16-16-16-2", []), (16, "2-16-16-16-2, skips 0-2 1-3 0-4", skips3),
                                (32, "2-32-32-32-2", []), (32, "2-32-32-32-2, skips 0-2 1-3 0-4", skips3)):
        m = net(width, skips)
        L = NumericLifting(unit_dag(m, torch.zeros(1, 2), "bench"))
        t_part, P = best(lambda: partition(L, PLANE))

        def frame():
            lift = NumericLifting(unit_dag(m, torch.zeros(1, 2), "bench"))
            return encode(exact_view(partition(lift, PLANE)))

        t_frame, _ = best(frame)
        t_grid, n_grid = best(lambda: grid_codes(m))
        print(f"{label:<34}{len(P):>8}{t_part:>13.3f}{t_frame:>9.3f}{len(P) / t_part:>11,.0f}"
              f"{t_grid:>13.3f}{n_grid:>11}{t_frame / t_grid:>10.1f}x")


def live_rows() -> None:
    print("\nlive training: the playground job in-process on the spiral, a frame every 20 steps")
    print(f"{'network':<36}{'steps':>7}{'frames':>8}{'wall s':>8}{'frames/s':>10}{'regions (last)':>16}")
    for label, hidden, skips in (("8-8-8, skips 0-2, 1-3 (page default)", (8, 8, 8), ("0-2", "1-3")),
                                 ("16-16-16, skips 0-2, 1-3, 0-4", (16, 16, 16), ("0-2", "1-3", "0-4"))):
        cfg = PlaygroundConfig(dataset="spiral", hidden=hidden, skips=skips, steps=1000, frame_every=20)
        store = RunStore(tempfile.mkdtemp())
        t = time.perf_counter()
        job = InlineBackend(store).run(KIND, cfg)
        wall = time.perf_counter() - t
        n = len(store.frames(job.id))
        print(f"{label:<36}{cfg.steps:>7}{n:>8}{wall:>8.1f}{n / wall:>10.1f}{job.result['regions']:>16}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    partition_rows()
    live_rows()
