"""Live latency: from a metric row written to the store (as the worker writes it) to its point
appearing in the Train page's chart, measured with the real app in headless Chromium.

    python3 bench/bench_live.py [--samples 15]

It starts `streamlit run app.py` on a fresh data dir, registers a running run (this process
plays the worker: it claims the run and writes rows with `RunStore.log_metrics`), opens the
Train page and, for each sample, writes one row with a new step and waits (polling the DOM
every 20 ms) until the plotly trace's last x equals that step. Goal: <= 1.5 s.
The page follows its runs (`ui.jobs.follow`), polling the store every `REFRESH_S` (0.5 s), so the expected
latency is about half of that plus one fragment run and the browser's redraw.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.app_server import chromium, serve  # noqa: E402
from explorer.training.config import RunConfig  # noqa: E402
from explorer.training.store import RunStore  # noqa: E402

LAST_X = """() => {  // _fullData: plotly's decoded arrays (the curves are sent in numpy's binary form)
  const p = [...document.querySelectorAll('.js-plotly-plot')].find(e => (e._fullData || []).some(t => /train$/.test(t.name || '')));
  if (!p) return -1;
  const t = p._fullData.find(t => /train$/.test(t.name || ''));
  return t.x.length ? t.x[t.x.length - 1] : -1;
}"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=15)
    a = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-live-"))
    store = RunStore(data)
    cfg = RunConfig(model="moons_mlp", dataset="moons", steps=10**6, group="live", label="live")
    rid = store.submit(cfg)
    store.claim("bench", pid=os.getpid(), job=rid)  # we are the worker
    store.log_metrics(rid, [{"step": 1, "split": "train", "loss": 1.0, "acc": 0.5, "wall_time": 0.0}])
    stop = threading.Event()

    def beat() -> None:  # like the worker's heartbeat thread, so the page's reaper leaves the run alone
        while not stop.wait(2.0):
            store.heartbeat(rid)

    threading.Thread(target=beat, daemon=True).start()

    with serve(data, threads=1) as url, chromium() as b:
        try:
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/Train", wait_until="domcontentloaded")
            page.wait_for_function(f"({LAST_X})() === 1", timeout=180_000, polling=100)
            lat = []
            step = 1
            for _ in range(a.samples):
                time.sleep(random.uniform(0.2, 1.2))  # de-phase from the page's poll timer
                step += 10
                t0 = time.perf_counter()
                store.log_metrics(rid, [{"step": step, "split": "train", "loss": 1.0 / step, "acc": 0.5 + step / 1e4,
                                         "wall_time": 0.0}])
                page.wait_for_function(f"({LAST_X})() === {step}", timeout=30_000, polling=20)
                lat.append(time.perf_counter() - t0)
        finally:
            stop.set()
            store.finish(rid, "cancelled", error="bench over")
    lat.sort()
    p90 = lat[int(0.9 * (len(lat) - 1))]
    print(f"metric written -> visible in the Train page chart (real app, headless Chromium), {len(lat)} samples:")
    print(f"  median {statistics.median(lat):.3f} s, mean {statistics.fmean(lat):.3f} s, p90 {p90:.3f} s, "
          f"max {lat[-1]:.3f} s, min {lat[0]:.3f} s")
    m = statistics.median(lat)
    print(f"median / goal 1.5 s: {m / 1.5:.2f}  {'OK' if m <= 1.5 else 'MISSED'};  "
          f"max {'<=' if lat[-1] <= 1.5 else '>'} 1.5 s")


if __name__ == "__main__":
    main()
