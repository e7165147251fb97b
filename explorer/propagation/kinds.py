"""The lab's job kinds (`explorer.jobs.kinds`), each a thin adapter from a `JobContext` to one library
call: its config is the JSON the page submitted, its frames what the page draws while it runs, its result
the finished document. Light to import (a page submits with it): each imports its computation when it runs.

- `propagation.spectra` — `lab.run_lab`: spectra per init scheme, after pruning and isometry;
- `propagation.depth`   — `depth.depth_sweep`: spectrum spread against depth;
- `propagation.grid`    — `grid.prepare_grid`, then the grid's runs as child jobs (one batched job where
  they can share it): the exports and the training of a trainability grid, one job from click to curves.
"""

from __future__ import annotations

from typing import Any

from explorer.jobs.context import JobContext
from explorer.jobs.kinds import job_kind

SPECTRA, DEPTH, GRID = "propagation.spectra", "propagation.depth", "propagation.grid"


@job_kind(SPECTRA)
def spectra_job(ctx: JobContext) -> dict[str, Any]:
    from explorer.propagation.lab import LabConfig, run_lab

    return run_lab(LabConfig.from_dict(ctx.config), ctx.emit, ctx.should_stop, ctx.progress)


@job_kind(DEPTH)
def depth_job(ctx: JobContext) -> dict[str, Any]:
    from explorer.propagation.depth import DepthConfig, depth_sweep

    return depth_sweep(DepthConfig.from_dict(ctx.config), ctx.emit, ctx.should_stop, ctx.progress)


def grid_config(lab: Any, base: Any, seeds: list[int], batched: bool = True) -> dict[str, Any]:
    """The `propagation.grid` job's config: the lab's settings, the runs' training settings, the seeds."""
    return {"lab": lab.to_dict(), "base": base.to_dict(), "seeds": [int(s) for s in seeds], "batched": batched}


@job_kind(GRID)
def grid_job(ctx: JobContext) -> dict[str, Any]:
    """Write the grid's exports (progress to 30%), then train its runs as this job's children."""
    from explorer.propagation.grid import prepare_grid
    from explorer.propagation.lab import LabConfig
    from explorer.training.config import RunConfig
    from explorer.training.kinds import train_runs

    c = ctx.config
    out = prepare_grid(LabConfig.from_dict(c["lab"]), RunConfig.from_dict(c["base"]), c["seeds"], root=ctx.data_dir,
                       progress=lambda f, note: ctx.progress(0.3 * f, note), should_stop=ctx.should_stop)
    if ctx.should_stop():
        return out
    configs = [RunConfig.from_dict(d) for d in out["configs"]]
    ctx.progress(0.3, f"training {len(configs)} runs (group {out['group']} on the Train page)")
    train_runs(ctx, configs, batched=bool(c.get("batched", True)))
    return out
