"""Sessions at once: what the process-wide tracing lock costs and what five sessions opening together get.

    python3 bench/bench_sessions.py                    # this checkout
    python3 bench/bench_sessions.py --root ../main     # another checkout (e.g. before the lock), same machine
    python3 bench/bench_sessions.py --rounds 20 --repeat 5

Three figures:
  lone     each of issue 17's five graphs built alone on a cold cache (`build_dag`, model construction
           included): median of `--repeat`; the lock's cost is this against a checkout without it;
  lock     an uncontended `explorer.concurrency.exclusive()` enter and exit, in µs (absent before);
  together the five built at once in threads on a cold cache, `--rounds` times: how many rounds gave a
           graph other than the lone one (an error, another tracer, other nodes/arcs/levels), and the
           wall time of a round against the sum of the lone times.
Timings are figures for the README, never asserted.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import threading
import time
from pathlib import Path

SPECS = [("mlp_skip", "unit"), ("lottery_mlp", "unit"), ("resnet_tiny", "op"), ("densenet_tiny", "op"),
         ("cnn1d", "op")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[1]), help="the checkout to time")
    ap.add_argument("--rounds", type=int, default=10, help="rounds of five graphs built at once")
    ap.add_argument("--repeat", type=int, default=3, help="lone builds per graph (the median is reported)")
    args = ap.parse_args()
    sys.path.insert(0, args.root)
    import torch

    torch.set_num_threads(1)
    from explorer.graph import build_dag

    build = importlib.import_module("explorer.graph.build")
    load = importlib.import_module("explorer.models.load")

    def cold() -> None:
        build._cached.cache_clear()
        load._cached.cache_clear()

    def facts(dag) -> tuple:
        return (dag.meta.get("tracer"), tuple(n.id for n in dag.nodes), tuple((a.src, a.dst) for a in dag.arcs),
                tuple(sorted(dag.level.items())))

    build_dag("resnet_tiny")  # imports and first-call costs out of the figures
    lone, ref = {}, {}
    for s in SPECS:
        times = []
        for _ in range(args.repeat):
            cold()
            t = time.perf_counter()
            dag = build_dag(*s)
            times.append(time.perf_counter() - t)
        lone[s], ref[s] = statistics.median(times), facts(dag)
        print(f"lone   {s[0]:>14} {s[1]:<5} {lone[s]:7.3f} s (median of {args.repeat})")
    print(f"lone   total               {sum(lone.values()):7.3f} s")
    try:
        from explorer.concurrency import exclusive

        n, t = 100_000, time.perf_counter()
        for _ in range(n):
            with exclusive():
                pass
        print(f"lock   uncontended exclusive() {1e6 * (time.perf_counter() - t) / n:.2f} µs")
    except ImportError:
        print("lock   (this checkout has no explorer.concurrency)")
    bad, walls = 0, []
    for r in range(args.rounds):
        cold()
        got: dict = {}
        gate = threading.Barrier(len(SPECS))

        def run(s: tuple) -> None:
            gate.wait()
            try:
                got[s] = facts(build_dag(*s))
            except Exception as e:  # noqa: BLE001 - counted
                got[s] = f"{type(e).__name__}: {str(e)[:80]}"
        threads = [threading.Thread(target=run, args=(s,)) for s in SPECS]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        walls.append(time.perf_counter() - t)
        wrong = [f"{s[0]}/{s[1]}: {v if isinstance(v, str) else 'tracer ' + str(v[0])}" for s, v in got.items()
                 if v != ref[s]]
        bad += bool(wrong)
        print(f"round  {r:2d} {walls[-1]:7.3f} s  " + ("; ".join(wrong) if wrong else "all five as alone"))
    print(f"together {bad}/{args.rounds} rounds gave another graph; median round {statistics.median(walls):.3f} s "
          f"vs {sum(lone.values()):.3f} s for the five one after another")


if __name__ == "__main__":
    main()
