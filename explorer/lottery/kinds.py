"""The lottery lab's job kinds, registered here (`explorer.jobs.kinds`). This module is light — a page
imports it to submit — and each kind imports its experiment only when it runs. Every experiment
trains its runs as child jobs (`explorer.training.kinds.train_runs`) and reads them back typed.
"""

from __future__ import annotations

from typing import Any

from explorer.jobs.context import JobContext
from explorer.jobs.kinds import job_kind

IMP, SWEEP, TRANSFER, STABILITY, EARLYBIRD = ("lottery.imp", "lottery.sweep", "lottery.transfer",
                                              "lottery.stability", "lottery.earlybird")


def _runs(ctx: JobContext) -> JobContext:
    """The context with its store read as runs (`training.store.RunStore.view`: the same file)."""
    from explorer.training.store import RunStore

    ctx.store = RunStore.view(ctx.store)
    return ctx


@job_kind(IMP)
def imp(ctx: JobContext) -> dict[str, Any]:
    """Iterative magnitude pruning with rewinding and controls (`explorer.lottery.imp`)."""
    from explorer.lottery.experiment import LotteryConfig
    from explorer.lottery.imp import run_imp

    return run_imp(_runs(ctx), LotteryConfig.from_dict(ctx.config))


@job_kind(SWEEP)
def sweep(ctx: JobContext) -> dict[str, Any]:
    """One-shot magnitude tickets at several sparsities (`explorer.lottery.sweep`)."""
    from explorer.lottery.experiment import LotteryConfig
    from explorer.lottery.sweep import run_sweep

    return run_sweep(_runs(ctx), LotteryConfig.from_dict(ctx.config))


@job_kind(TRANSFER)
def transfer(ctx: JobContext) -> dict[str, Any]:
    """A ticket of task A trained on task B (`explorer.lottery.transfer`)."""
    from explorer.lottery.experiment import TransferConfig
    from explorer.lottery.transfer import run_transfer

    return run_transfer(_runs(ctx), TransferConfig.from_dict(ctx.config))


@job_kind(STABILITY)
def stability(ctx: JobContext) -> dict[str, Any]:
    """The error barrier between two copies trained from one rewind point (`explorer.lottery.stability`)."""
    from explorer.lottery.experiment import StabilityConfig
    from explorer.lottery.stability import run_stability

    return run_stability(_runs(ctx), StabilityConfig.from_dict(ctx.config))


@job_kind(EARLYBIRD)
def earlybird(ctx: JobContext) -> dict[str, Any]:
    """Early-bird tickets drawn while the dense network trains (`explorer.lottery.earlybird_job`)."""
    from explorer.lottery.earlybird_job import run_earlybird
    from explorer.lottery.experiment import EarlyBirdConfig

    return run_earlybird(_runs(ctx), EarlyBirdConfig.from_dict(ctx.config))
