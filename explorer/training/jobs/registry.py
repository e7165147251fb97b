"""The kinds of background job the worker runs, each a `module:function` imported on first use
(so the worker's start pulls in nothing it does not run). One line per kind; the function
takes a `JobContext` and returns the job's result document.

    >>> sorted(JOB_KINDS)[:1]
    ['demo.count']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

JOB_KINDS: dict[str, str] = {
    "prune": "explorer.pruning.job:run_job",  # the prune pipeline for models too big for a page
    "demo.count": "explorer.training.jobs.context:count_job",  # counts to config["n"]; for tests and smoke checks
    "demo.gated": "explorer.training.jobs.context:gated_job",  # steps that wait for files; for resume tests
    "lottery.imp": "explorer.lottery.imp:run_job",  # iterative magnitude pruning with rewinding and controls
    "lottery.sweep": "explorer.lottery.sweep:run_job",  # one-shot magnitude tickets at several sparsities
    "lottery.transfer": "explorer.lottery.transfer:run_job",  # a ticket of task A trained on task B
    "lottery.stability": "explorer.lottery.stability:run_job",  # the error barrier between two copies
    "lottery.earlybird": "explorer.lottery.earlybird_job:run_job",  # early-bird tickets drawn during training
    "propagation.spectra": "explorer.propagation.jobs:spectra_job",  # Jacobian spectra per init, pruning, isometry
    "propagation.depth": "explorer.propagation.jobs:depth_job",  # spectrum spread against depth
    "propagation.grid": "explorer.propagation.jobs:grid_job",  # exports + run configs of a trainability grid
    "playground": "explorer.playground.job:run_job",  # a 2-D network trained live with its exact regions
}


class UnknownJobKind(ValueError):
    """A job kind nobody registered."""


def check(kind: str) -> str:
    """`kind`, if some module registered it (`UnknownJobKind` otherwise). Nothing is imported: a page
    submitting a job must not wait for the job's modules (torch among them) to load.

    >>> check("lottery.imp")
    'lottery.imp'
    """
    if kind not in JOB_KINDS:
        raise UnknownJobKind(f"unknown job kind {kind!r}; registered: {', '.join(sorted(JOB_KINDS))}")
    return kind


def resolve(kind: str) -> Callable[[Any], dict[str, Any]]:
    """The function that runs jobs of `kind`."""
    check(kind)
    module, _, name = JOB_KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), name)
