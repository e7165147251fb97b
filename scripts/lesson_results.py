"""Compute the results the lottery lessons open on, and write them to explorer/lessons/results.json.gz.

    python scripts/lesson_results.py            # both experiments, about 20 min on 2 CPU cores
    python scripts/lesson_results.py --out /tmp/results.json.gz

Each experiment of `explorer.lessons.results.EXPERIMENTS` (the Lottery page's form for lessons 5
and 8, on the CPU) runs as the worker runs it (`InlineBackend`: one torch thread, niced, its runs
batched with torch.vmap) in a scratch data folder; its job, runs, metrics and masks are then
written compactly to the output. The app installs them into a run store the first time a page
needs them, labelled "shipped example result".
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="", help="output file (default: explorer/lessons/results.json.gz)")
    p.add_argument("--data-dir", default="", help="scratch data folder (default: a new temporary one)")
    a = p.parse_args(argv)
    data = Path(a.data_dir or tempfile.mkdtemp(prefix="lesson-results-")).resolve()
    os.environ["EXPLORER_DATA_DIR"] = str(data)  # the datasets it generates land there too
    os.environ["OMP_NUM_THREADS"] = "1"
    sys.path.insert(0, str(ROOT))
    os.nice(10)

    import torch

    from explorer.jobs.backends import InlineBackend
    from explorer.lessons import results
    from explorer.lottery import kinds  # noqa: F401 - registers the lab's kinds
    from explorer.training.store import RunStore

    torch.set_num_threads(1)  # as the worker trains
    store, ids, seconds, load = RunStore(data), [], {}, os.getloadavg()[0]
    for kind, cfg in results.EXPERIMENTS.items():
        t0 = time.monotonic()
        job = InlineBackend(store).run(kind, cfg)
        seconds[kind] = round(time.monotonic() - t0, 1)
        if job.status != "done":
            print(f"{kind} ended {job.status}: {job.error}", file=sys.stderr)
            return 1
        ids.append(job.id)
        print(f"{kind} {cfg.model}: job {job.id}, {len(job.result['rounds'])} rounds, {seconds[kind]:.0f} s", flush=True)
    made = {"date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, 1 torch thread", "seconds": seconds,
            "load_before": round(load, 1)}
    out = results.write(results.dump(store, ids, made), a.out or results.SHIPPED)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB) from {data}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
