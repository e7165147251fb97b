"""Two small kinds for tests and smoke checks of the job machinery (no domain code).

- `demo.count`: one frame per count to `config["n"]`, with progress; stops early when asked.
- `demo.gated`: `config["steps"]` steps; step i waits for the file `go_i` in the work folder, marks
  `done_i` there and emits a frame. A resumed attempt skips the steps it finds done, so what a killed
  worker finished is never redone.
"""

from __future__ import annotations

import time
from typing import Any

from explorer.jobs.kinds import job_kind


@job_kind("demo.count", portable=True)
def count_job(ctx: Any) -> dict[str, Any]:
    n = int(ctx.config.get("n", 3))
    for i in range(1, n + 1):
        if ctx.should_stop():
            return {"counted": i - 1}
        ctx.emit("tick", {"i": i})
        ctx.progress(i / n, f"counted {i} of {n}")
    return {"counted": n}


@job_kind("demo.gated")
def gated_job(ctx: Any) -> dict[str, Any]:
    n = int(ctx.config.get("steps", 3))
    for i in range(n):
        if (ctx.workdir / f"done_{i}").exists():
            continue
        ctx.emit("waiting", {"i": i})
        while not (ctx.workdir / f"go_{i}").exists():
            if ctx.should_stop():
                return {"stopped_at": i}
            time.sleep(0.05)
        (ctx.workdir / f"done_{i}").touch()
        ctx.emit("step", {"i": i, "attempt": ctx.attempt})
        ctx.progress((i + 1) / n)
    return {"steps": n}
