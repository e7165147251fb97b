"""The lottery lab's job kinds, registered here (`explorer.jobs.kinds`). This module is light — a page
imports it to submit — and each kind imports its experiment only when it runs. Every experiment
trains its runs as child jobs (`explorer.training.kinds.train_runs`) and reads them back typed.

    >>> from explorer.jobs.kinds import KINDS
    >>> KINDS[IMP].module, KINDS[IMP].function
    ('explorer.lottery.kinds', 'experiment')
"""

from __future__ import annotations

import importlib
from typing import Any

from explorer.jobs.context import JobContext
from explorer.jobs.kinds import job_kind

IMP, SWEEP, TRANSFER, STABILITY, EARLYBIRD = ("lottery.imp", "lottery.sweep", "lottery.transfer",
                                              "lottery.stability", "lottery.earlybird")
# kind -> (its config class in explorer.lottery.experiment, the module.function that runs it)
EXPERIMENTS = {
    IMP: ("LotteryConfig", "imp.run_imp"),  # IMP with rewinding and controls
    SWEEP: ("LotteryConfig", "sweep.run_sweep"),  # one-shot magnitude tickets at several sparsities
    TRANSFER: ("TransferConfig", "transfer.run_transfer"),  # a ticket of task A trained on task B
    STABILITY: ("StabilityConfig", "stability.run_stability"),  # the error barrier between two copies
    EARLYBIRD: ("EarlyBirdConfig", "earlybird_job.run_earlybird"),  # early-bird tickets while the dense trains
}


def experiment(ctx: JobContext) -> dict[str, Any]:
    """Run the lottery experiment of the job's kind on its config, with the store read as runs
    (`training.store.RunStore.view`: the same file)."""
    from explorer.lottery import experiment as configs
    from explorer.training.store import RunStore

    cls, fn = EXPERIMENTS[ctx.kind]
    module, name = fn.rsplit(".", 1)
    run = getattr(importlib.import_module(f"explorer.lottery.{module}"), name)
    ctx.store = RunStore.view(ctx.store)
    return run(ctx, getattr(configs, cls).from_dict(ctx.config))


for _kind in EXPERIMENTS:
    job_kind(_kind)(experiment)
