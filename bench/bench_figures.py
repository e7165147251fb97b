"""What a live Train refresh and a Prune selection pay for two of their figures: the learning curves (8 runs x
300 steps) and the lifting matrix heatmap (40 x 40), each built and then turned into the dict `st.plotly_chart`
sends (`plotly.tools.return_figure_from_figure_or_data`, as Streamlit calls it). (The graph figure is left out:
its arcs' layout, not plotly, is most of its time, and this baseline cannot include it.)

    python3 bench/bench_figures.py [--repeats 30]

The baseline, in the same process: the same traces and layout (taken once from our figure) built the usual
plotly way, one call at a time (`go.Figure()`, `add_trace` per trace, `update_layout`), which is how these
figures were built before they became dicts validated once. The baseline leaves out the data work ours
includes (the curves' mean and band per role), so its ratio understates the difference.
Reports p50 and IQR in ms and the ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _one_by_one(fig) -> Callable[[], object]:
    """A maker of `fig` rebuilt the usual way from its traces' and layout's plain values: an empty figure, one
    `add_trace` per trace, then `update_layout`."""
    import plotly.graph_objects as go

    traces = [t.to_plotly_json() for t in fig.data]
    layout = {k: v for k, v in fig.layout.to_plotly_json().items() if k != "template"}  # the default, as before

    def make():
        out = go.Figure()
        for t in traces:
            out.add_trace(dict(t))
        out.update_layout(layout)
        return out
    return make


def _time(make: Callable[[], object], repeats: int) -> tuple[float, float]:
    import plotly.tools

    for _ in range(3):  # warm-up
        plotly.tools.return_figure_from_figure_or_data(make(), True)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        plotly.tools.return_figure_from_figure_or_data(make(), True)
        ts.append((time.perf_counter() - t) * 1000)
    q = statistics.quantiles(ts, n=4)
    return statistics.median(ts), q[2] - q[0]


def cases() -> dict[str, Callable[[], object]]:
    import numpy as np

    from explorer.figures.curves import curves_figure
    from explorer.figures.matrix_plot import matrix_figure

    rnd = random.Random(0)
    runs, metrics = [], {}
    for i, role in enumerate(["dense", "ticket", "reinit", "random"] * 2):
        rid = f"r{i}"
        runs.append(types.SimpleNamespace(id=rid, label=rid, config=types.SimpleNamespace(init=role, steps=300)))
        metrics[rid] = [{"step": s, "split": sp, "acc": rnd.random(), "loss": rnd.random()}
                        for sp, steps in (("train", range(1, 301)), ("test", range(10, 301, 10))) for s in steps]
    ids = [f"u{i}" for i in range(40)]
    M = np.tril(np.random.default_rng(0).normal(size=(40, 40)))
    return {
        "curves (8 runs x 300 steps)": lambda: curves_figure(runs, metrics, target=0.9),
        "lifting matrix (40 x 40)": lambda: matrix_figure(ids, M, band=set(ids[5:10]), zeroed=[(ids[20], ids[3])]),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=30)
    a = ap.parse_args()
    out = {}
    for name, make in cases().items():
        ours, ours_iqr = _time(make, a.repeats)
        base, base_iqr = _time(_one_by_one(make()), a.repeats)
        out[name] = {"ours_ms": round(ours, 2), "ours_iqr_ms": round(ours_iqr, 2),
                     "one_by_one_ms": round(base, 2), "one_by_one_iqr_ms": round(base_iqr, 2),
                     "ratio": round(base / ours, 2)}
        print(f"{name:34s} ours {ours:6.1f} ms (IQR {ours_iqr:.1f})   one by one {base:6.1f} ms "
              f"(IQR {base_iqr:.1f})   {base / ours:.2f}x", flush=True)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
