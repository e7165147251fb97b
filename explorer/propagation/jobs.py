"""The lab's background jobs (`explorer.training.jobs.registry`), each a thin adapter from a
`JobContext` to one library call: its config is the JSON the page submitted, its frames
what the page draws while it runs, its result the finished document.

- `propagation.spectra` — `lab.run_lab`: spectra per init scheme, after pruning and isometry;
- `propagation.depth`   — `depth.depth_sweep`: spectrum spread against depth;
- `propagation.grid`    — `grid.prepare_grid`: the exports of a trainability grid and its run
  configs (the Train page submits them to the backend of its choice).
"""

from __future__ import annotations

from typing import Any

from explorer.propagation.depth import DepthConfig, depth_sweep
from explorer.propagation.grid import prepare_grid
from explorer.propagation.lab import LabConfig, run_lab
from explorer.training.config import RunConfig


def spectra_job(ctx: Any) -> dict[str, Any]:
    return run_lab(LabConfig.from_dict(ctx.config), ctx.emit, ctx.should_stop, ctx.progress)


def depth_job(ctx: Any) -> dict[str, Any]:
    return depth_sweep(DepthConfig.from_dict(ctx.config), ctx.emit, ctx.should_stop, ctx.progress)


def grid_job(ctx: Any) -> dict[str, Any]:
    """config: {"lab": LabConfig dict, "base": RunConfig dict, "seeds": [int]}."""
    c = ctx.config
    return prepare_grid(LabConfig.from_dict(c["lab"]), RunConfig.from_dict(c["base"]), c["seeds"],
                        root=ctx.store.dir, progress=ctx.progress, should_stop=ctx.should_stop)
