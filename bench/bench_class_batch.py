"""Cross-student batching (issue 19): S students' quick comparisons of the same architecture — each the
8 runs of `lottery.group.ticket_group` (dense, ticket, reinit, random x 2 seeds) with a cut of its own —
trained three ways in this process, on the same data and steps:

  1. every run its own job, one after another (no batching at all);
  2. each student's comparison its own batched job, one after another (a server that does not merge);
  3. all of them merged into one vmapped job (`explorer.training.coalesce`, as a class server does).

    python3 bench/bench_class_batch.py [--students 4] [--steps 200] [--model mlp] [--json F]
    python3 bench/bench_class_batch.py --sizes 6,15,30 --steps 300   # merged only: runs/s per job size

`--sizes` times only the merged job (3), for each number of students in one job, with the quick
comparison's logging (every 3 steps, tested every 30): how a class server's merged job scales, the
ground for `coalesce.MAX_RUNS`. Runs alike but for their group train once (`training.twins`): each
student's two dense runs are the same two runs, so a job of S students trains 6 S + 2 runs.

Prints seconds and runs per second of each, the speed-ups of 3 over 1 and over 2 (goal: >= 3x over
running them one after another), and the largest difference of a run's final test accuracy between 3
and 2 (the same runs: it should be ~0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_batched import magnitude_mask  # noqa: E402

from explorer import models  # noqa: E402
from explorer.jobs.context import execute  # noqa: E402
from explorer.lottery.group import ticket_group  # noqa: E402
from explorer.server.settings import ENV_JOIN  # noqa: E402
from explorer.training.config import RunConfig  # noqa: E402
from explorer.training.kinds import batch_submission, run_submission  # noqa: E402
from explorer.training.store import RunStore  # noqa: E402


def comparisons(root: Path, students: int, steps: int, model: str) -> list[list[RunConfig]]:
    """Each student's 8 configs, with a magnitude cut of their own sparsity saved as their export."""
    out = []
    for i in range(students):
        d = root / f"cut{i}"
        d.mkdir(parents=True)
        magnitude_mask(models.load(model).model, 0.3 + 0.5 * i / max(1, students - 1)).save(d / "mask.safetensors")
        (d / "spec.json").write_text(json.dumps({"model": model}))
        base = RunConfig(model=model, dataset="mnist1d", steps=steps, device="cpu", eval_every=max(1, steps // 4))
        out.append(ticket_group(base, str(d), [0, 1], group=f"student{i}"))
    return out


def drain(store: RunStore) -> float:
    """Run every queued root job in this process (as the worker would); seconds."""
    t = time.perf_counter()
    while (job := store.claim("bench", os.getpid())) is not None:
        execute(store, job, "bench")
    return time.perf_counter() - t


def final_acc(store: RunStore, configs) -> dict[str, float]:
    return {c.run_id: store.get(c.run_id).summary["final"]["test_acc"] for c in configs}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=4)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--json", default="")
    ap.add_argument("--sizes", default="", help="comma-separated students per merged job: time only those")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    if a.sizes:
        return sizes([int(k) for k in a.sizes.split(",")], a.steps, a.model, a.json)
    root = Path(tempfile.mkdtemp(prefix="class-batch-"))
    groups = comparisons(root, a.students, a.steps, a.model)
    runs = sum(len(g) for g in groups)
    os.environ.pop(ENV_JOIN, None)
    one = RunStore(root / "one")
    for g in groups:
        for c in g:
            one.submit(run_submission(c))
    t_one = drain(one)
    each = RunStore(root / "each")
    for g in groups:
        each.submit(batch_submission(g, owner=g[0].group))
    t_each = drain(each)
    os.environ[ENV_JOIN] = "bench-class"  # a class server's worker: batched jobs merge
    merged = RunStore(root / "merged")
    for g in groups:
        merged.submit(batch_submission(g, owner=g[0].group))
    t_merged = drain(merged)
    os.environ.pop(ENV_JOIN)
    jobs = [j for j in merged.list_jobs(kind="train.batch")]
    cfgs = [c for g in groups for c in g]
    diff = max(abs(x - y) for x, y in zip(final_acc(merged, cfgs).values(), final_acc(each, cfgs).values()))
    out = {"students": a.students, "runs": runs, "steps": a.steps, "model": a.model,
           "one_by_one_s": round(t_one, 2), "per_student_batched_s": round(t_each, 2), "merged_s": round(t_merged, 2),
           "runs_per_s": {"one_by_one": round(runs / t_one, 2), "per_student_batched": round(runs / t_each, 2),
                          "merged": round(runs / t_merged, 2)},
           "speedup_vs_one_by_one": round(t_one / t_merged, 2), "speedup_vs_per_student_batched": round(t_each / t_merged, 2),
           "merged_jobs_trained_in": sorted({(j.result or {}).get("trained_with") if isinstance((j.result or {}).get(
               "trained_with"), str) else j.id for j in jobs}),
           "max_final_test_acc_diff_merged_vs_per_student": diff}
    print(json.dumps(out, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0


def sizes(counts: list[int], steps: int, model: str, out_json: str) -> int:
    """The merged job alone, once per number of students in it: seconds and runs per second."""
    from explorer.training import coalesce

    rows = []
    os.environ[ENV_JOIN] = "bench-class"
    for k in counts:
        root = Path(tempfile.mkdtemp(prefix="class-batch-"))
        groups = [[c.replace(eval_every=30, log_every=3) for c in g] for g in comparisons(root, k, steps, model)]
        runs = sum(len(g) for g in groups)
        if runs > coalesce.MAX_RUNS:
            print(f"{k} students are {runs} runs, over coalesce.MAX_RUNS = {coalesce.MAX_RUNS}: skipped")
            continue
        store = RunStore(root / "merged")
        for g in groups:
            store.submit(batch_submission(g, owner=g[0].group))
        t = drain(store)
        twins = sum((j.result or {}).get("trained_once_for_twins", 0) for j in store.list_jobs(kind="train.batch"))
        rows.append({"students": k, "runs": runs, "trained": runs - twins, "seconds": round(t, 2),
                     "runs_per_s": round(runs / t, 2)})
        print(json.dumps(rows[-1]), flush=True)
    os.environ.pop(ENV_JOIN)
    if out_json:
        Path(out_json).write_text(json.dumps({"steps": steps, "model": model, "sizes": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
