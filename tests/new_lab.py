"""A lab written the way the README says a new lab is added — its own config Spec, its own job kind
registered beside its code, its own figure — with no line in `explorer/training/` or `explorer/jobs/`.
`tests/test_jobs.py` runs it inline and through the real worker process, which finds this module by
the name the job's row records.

The lab trains a small network at a few learning rates (its runs are `train` jobs, children of its own
job, batched where they can share one) and reports each one's final test accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from explorer.config import Spec, setting
from explorer.jobs.kinds import job_kind

KIND = "newlab.lr_scan"


@dataclass(frozen=True)
class ScanConfig(Spec):
    """A learning-rate scan of one zoo model."""

    model: str = setting("moons_mlp", "zoo model to train")
    dataset: str = setting("moons", "dataset")
    lrs: tuple[float, ...] = setting((0.01, 0.1), "learning rates to try")
    steps: int = setting(20, "steps per run")


@job_kind(KIND)
def lr_scan(ctx: Any) -> dict[str, Any]:
    """Train one run per learning rate as children of this job; a frame per finished run."""
    from explorer.training.config import RunConfig
    from explorer.training.kinds import train_runs

    cfg = ScanConfig.from_dict(ctx.config)
    runs = [RunConfig(model=cfg.model, dataset=cfg.dataset, lr=lr, steps=cfg.steps, eval_every=cfg.steps,
                      device="cpu", group=f"scan-{ctx.job_id}") for lr in cfg.lrs]
    ctx.progress(0.0, f"training {len(runs)} runs")
    results = train_runs(ctx, runs)
    for lr, r in zip(cfg.lrs, results):
        ctx.emit("point", {"lr": lr, "test_acc": r.final["test_acc"], "run_id": r.run_id})
    return {"points": [{"lr": lr, "test_acc": r.final["test_acc"]} for lr, r in zip(cfg.lrs, results)]}


def figure(doc: dict[str, Any]) -> Any:
    """Final test accuracy against the learning rate."""
    import plotly.graph_objects as go

    pts = doc["points"]
    return go.Figure(go.Scatter(x=[p["lr"] for p in pts], y=[p["test_acc"] for p in pts], mode="lines+markers"))
