"""Overlays and side-by-side at the issue-20 goals, in the library and in the real app (headless Chromium):

- overlay switch on a ~2,000-node op graph (goal ≤ 1 s): a 32-layer Llama decoder (`bench/models/llama_decoder.py:Llama32Narrow`). Library: the
  overlay computed (first switch) and the cached figure restyled + serialised as Streamlit sends it; app: from
  the click on a metric of the Architecture page's "Colour nodes by" to the redrawn page;
- a side-by-side of two 300-node op graphs (goal ≤ 3 s first draw): two `deep_mlp:depth=150` graphs (302 nodes
  each, relu vs tanh). Library: both graphs, the match and the figure; app: the Compare page's link opened in
  a new tab (cold: the server has not built them; warm: a second visit).

    python3 bench/bench_overlays.py [--repeats 3] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BIG = "bench/models/llama_decoder.py:Llama32Narrow"  # 32 decoder layers, width 32
PAIR = ("deep_mlp:depth=150,width=8,act=relu,d_in=8,d_out=8", "deep_mlp:depth=150,width=8,act=tanh,d_in=8,d_out=8")
METRICS = ("params", "macs", "magnitude", "synflow", "latency")


def _t(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def library(repeats: int) -> None:
    from explorer import models
    from explorer.figures.compare_plot import side_by_side
    from explorer.figures.dag_plot import dag_figure
    from explorer.figures.overlay_plot import with_overlay
    from explorer.graph.build import build_dag
    from explorer.overlays import overlay
    from explorer.sidebyside import of_models

    dag = build_dag(BIG, "op")
    model = models.load_cached(BIG).model
    t_fig, fig = _t(lambda: dag_figure(dag))
    print(f"overlay switch, {len(dag.nodes):,}-node op graph ({BIG}); base figure {t_fig:.2f} s (cached in the app)")
    t_json = statistics.median(_t(fig.to_json)[0] for _ in range(repeats))
    print(f"  the level figure's JSON (what any rerun sends): {t_json:.3f} s")
    print(f"  {'metric':<10} {'compute (first switch)':>24} {'restyle (median)':>18} {'restyled JSON':>14} {'total first':>12}")
    for m in METRICS:
        try:
            t_ov, ov = _t(lambda: overlay(m, dag, model))
        except ValueError as e:
            print(f"  {m:<10} refused: {str(e)[:110]}")
            continue
        r = statistics.median(_t(lambda: with_overlay(fig, dag, ov))[0] for _ in range(repeats))
        f2 = with_overlay(fig, dag, ov)
        j = statistics.median(_t(f2.to_json)[0] for _ in range(repeats))
        print(f"  {m:<10} {t_ov:>22.3f} s {r:>16.3f} s {j:>12.3f} s {t_ov + r + j:>10.3f} s")
    print(f"side by side, two {len(build_dag(PAIR[0]).nodes)}-node op graphs")
    ts = []
    for k in range(repeats + 1):
        if k:
            from explorer.graph import build as B

            B._cached.cache_clear() if hasattr(B._cached, "cache_clear") else None
        t0 = time.perf_counter()
        cmp = of_models(*PAIR)
        f = side_by_side(cmp.a.dag, cmp.b.dag, cmp.match)
        f.to_json()
        ts.append(time.perf_counter() - t0)
    print(f"  graphs + match + figure + JSON: first {ts[0]:.2f} s, then median {statistics.median(ts[1:]):.2f} s")


def browser(repeats: int) -> None:
    from bench.app_server import chromium, serve

    import shutil
    import urllib.parse

    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "data"
        (data / "models").mkdir(parents=True)
        shutil.copy(ROOT / "bench" / "models" / "llama_decoder.py", data / "models" / "llama_decoder.py")
        with serve(data) as url, chromium() as b:
            _browse(b, url, urllib.parse.quote(str(data / "models" / "llama_decoder.py:Llama32Narrow")), repeats)


def _browse(b, url: str, user_model: str, repeats: int) -> None:
    from bench.bench_pages import started, visit, wait_quiet

    ctx = b.new_context(viewport={"width": 1400, "height": 1000})
    dt, tab, _ = visit(b, f"{url}/", ctx)  # the app's JavaScript cached, as for a returning user
    tab.close()
    arch = f"{url}/Architecture?v=1&src=file&model={user_model}&g=op"
    dt, tab, page = visit(b, arch, ctx)
    print(f"app: Architecture {BIG} op, first draw {dt:.2f} s (cold: the user file probed and traced)")
    for label in ("params", "MACs", "level", "|w|", "latency", "params"):
        btn = page.get_by_role("radio", name=label, exact=True).first  # a segmented control's option
        t0 = time.perf_counter()
        btn.click()
        started(page)
        print(f"  switch to {label:<8} {wait_quiet(page, t0):.2f} s"
              + ("  (an error box)" if page.locator('[data-testid="stAlertContentError"]').count() else ""))
    tab.close()
    cmp = f"{url}/Compare?v=1&kind=models&a={PAIR[0]}&b={PAIR[1]}&g=op"
    times = []
    for k in range(repeats + 1):
        dt, tab, _ = visit(b, cmp, ctx)
        times.append(dt)
        tab.close()
    print(f"app: Compare two 302-node op graphs, first draw cold {times[0]:.2f} s, warm median "
          f"{statistics.median(times[1:]):.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    library(args.repeats)
    if not args.no_browser:
        browser(args.repeats)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
