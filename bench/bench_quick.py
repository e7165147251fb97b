"""The Prune page's "quick comparison" end to end, per zoo model: prune, plan dense/ticket/reinit/
random over 2 seeds at the model's quick length, train them through the real backend (run store +
worker process, batched where the group allows), and time until every run has finished.

    python3 bench/bench_quick.py [--models mlp_skip,resnet_tiny] [--seeds 2] [--baseline] [--json F]

The cut is what a demo would make: 50% of the units by magnitude (units are structural, so the
random control is a random cut of the same size). Goal (issue 9): <= 30 s per model on this CPU.
`--baseline` also trains the same configs one after another in this process with the library's
runner (no store, no worker) — the ratio says what the backend and batching add or save.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = ("mlp", "mlp_skip", "cnn1d", "lottery_mlp", "resnet_tiny", "densenet_tiny", "inception_tiny", "unet_tiny",
          "transformer_tiny", "moons_mlp")


def plan_for(model: str, seeds: int, out: Path):
    from explorer import models
    from explorer.graph import build_dag
    from explorer.lottery.group import plan
    from explorer.pruning.criteria import propose
    from explorer.pruning.pipeline import run as prune
    from explorer.training.config import RunConfig

    lm = models.load_cached(model, 0)
    dag = build_dag(lm, granularity="op")
    prop = propose(lm, "magnitude", 0.5, target="units", scope="layer", dag=dag, seed=0)
    prune(lm, dag, proposal=prop, out=out, spec=model, seed=0, repeats=3, onnx=False)
    rec, info = lm.info.recipe, lm.info
    steps = rec.quick_steps
    base = RunConfig(model=model, dataset=info.dataset, lr=rec.lr, steps=steps, eval_every=max(10, steps // 10),
                     log_every=max(1, min(10, steps // 100)), group=f"quick-{model}")
    return plan(base, str(out), range(seeds))


def wait_all(store, ids: list[str], timeout: float = 900.0) -> dict[str, str]:
    from explorer.training.store import TERMINAL

    t0 = time.monotonic()
    while True:
        st = {r.id: r.status for r in store.list_runs() if r.id in ids}
        if all(s in TERMINAL for s in st.values()) and len(st) == len(ids):
            return st
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"runs still going after {timeout:.0f} s: {st}")
        time.sleep(0.1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--baseline", action="store_true", help="also train the configs one by one in-process")
    ap.add_argument("--json", default="", help="also write the figures (and the device each run used) to this file")
    a = ap.parse_args()

    from explorer.jobs.backends import LocalBackend
    from explorer.training.kinds import submit_runs
    from explorer.training.sweep import batched_blocker
    from explorer.training.store import RunStore

    data = Path(tempfile.mkdtemp(prefix="bench-quick-"))
    store = RunStore(data)
    be = LocalBackend(store)
    print(f"{'model':<17} {'runs':>4} {'steps':>5} {'batched':<8} {'wall s':>7} {'goal':>5}  test acc (dense / ticket / "
          f"reinit / random, mean of seeds){'   baseline s  ratio' if a.baseline else ''}", flush=True)
    results, figures = [], []
    for m in a.models.split(","):
        configs, notes = plan_for(m, a.seeds, data / f"export-{m}")
        reason = batched_blocker(configs)
        t0 = time.perf_counter()
        ids = submit_runs(be, configs, batched=reason is None)
        status = wait_all(store, ids)
        wall = time.perf_counter() - t0
        by_role: dict[str, list[float]] = {}
        for r in store.list_runs():
            if r.id in ids and r.status == "done":
                acc = [p["acc"] for p in store.metrics(r.id) if p.get("split") == "test" and p.get("acc") is not None]
                if acc:
                    by_role.setdefault(r.config.init, []).append(acc[-1])
        accs = " / ".join(f"{100 * statistics.fmean(by_role[k]):.0f}" if k in by_role else "—"
                          for k in ("dense", "ticket", "reinit", "random"))
        failed = [i for i, s in status.items() if s != "done"]
        line = (f"{m:<17} {len(configs):>4} {configs[0].steps:>5} {'yes' if reason is None else 'no':<8} "
                f"{wall:7.1f} {'OK' if wall <= 30 and not failed else 'MISSED':>6}  {accs}")
        if a.baseline:
            from explorer.runtime.device import use_threads
            from explorer.training.runner import execute

            use_threads("worker")  # as the worker trains: one thread
            t1 = time.perf_counter()
            for c in configs:
                execute(c, checkpoint_root=data / "baseline-checkpoints")
            base = time.perf_counter() - t1
            line += f"   {base:9.1f}  {base / wall:5.2f}x"
        print(line + (f"   FAILED {failed}" if failed else "") + (f"   ({reason})" if reason else ""), flush=True)
        for n in notes:
            print(f"    note: {n}")
        results.append((m, wall, not failed))
        figures.append({"model": m, "runs": len(configs), "steps": configs[0].steps, "batched": reason is None,
                        "wall_s": round(wall, 2), "failed": len(failed),
                        "devices": sorted({store.get(i).device or "" for i in ids}),
                        "test_acc": {k: round(statistics.fmean(v), 4) for k, v in by_role.items()}})
    be_proc = be.proc
    if be_proc is not None:
        be_proc.terminate()
    ok = sum(1 for _, w, f in results if f and w <= 30)
    print(f"\n{ok}/{len(results)} models finish their quick comparison in <= 30 s")
    if a.json:
        import json

        Path(a.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
