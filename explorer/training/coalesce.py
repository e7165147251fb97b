"""Cross-student batching on a class server: a batched job about to train (`kinds.train_batch`) takes in
the other queued batched jobs whose runs can share its vmapped job — other students' quick comparisons
of the same architecture and settings, each with its own masks — and trains all their runs at once.
Each run keeps its own id, metrics and summary; each adopted job ends done with the job it trained in
named (`trained_with`), or failed with the same reason. A run's stop check is its own job's: cancelling
one student's comparison stops only their runs. The dense runs every comparison has train once for all
of them (`training.twins`). A job takes in every comparison queued when it starts, up to `MAX_RUNS` runs:
a class's burst then trains in two jobs (the first student's, started at once, and everyone queued
behind it), so every student's curve starts within about one job's time, where waves of a few
comparisons made the last students wait for all the waves before theirs. A comparison queued after the big
job started trains in a pause of it (`training.interleave`).

The local app never merges (`enabled`): a user's own jobs keep the shape they asked for.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from explorer.jobs.context import JobContext
from explorer.jobs.store import JobStore
from explorer.training.config import RunConfig

# runs in one vmapped job: 30 quick comparisons of 8 runs. A bigger job trains more runs per second
# (`bench/bench_class_batch.py --sizes 6,15,30 --steps 300`, `mlp`, 2 cores: 7.7 runs/s at 48, 12.3 at 120,
# 10.2 at 240, twins trained once), so it costs the class no time.
MAX_RUNS = 240


def enabled(ctx: JobContext) -> bool:
    """Merge only on a class server, for a root batched job run by a local worker (the store itself)."""
    from explorer.server.settings import serving_class

    return serving_class() and ctx.job.parent is None and isinstance(ctx.store, JobStore)


def adopt(ctx: JobContext, configs: Sequence[RunConfig], kind: str) -> list[tuple[JobContext, list[JobContext]]]:
    """Claim the queued root jobs of `kind` (oldest first) whose queued runs can train with `configs` (and
    with those adopted before them), up to `MAX_RUNS` runs in all (fewer for a job let in during another's
    pause, `interleave.limit`): (the adopted job's context, its runs')."""
    from explorer.training.interleave import limit
    from explorer.training.sweep import why_not_batched

    total, out = list(configs), []
    for row in ctx.store.list_jobs(kind=kind, status="queued"):
        if row.parent is not None or row.id == ctx.job_id:
            continue
        cand = [RunConfig.from_dict(k.config) for k in ctx.store.list_jobs(parent=row.id, status="queued")]
        if not cand or len(total) + len(cand) > limit(MAX_RUNS) or why_not_batched(total + cand) is not None:
            continue
        job = ctx.store.claim(ctx.worker_id, os.getpid(), job=row.id)
        if job is None:  # another worker took it meanwhile
            continue
        parent = JobContext(ctx.store, job, ctx.worker_id)
        kids = parent.claim_children()
        total += [RunConfig.from_dict(k.config) for k in kids]
        out.append((parent, kids))
    return out


def end_adopted(adopted: Sequence[tuple[JobContext, Sequence[JobContext]]], host: str, results: Any = None,
                error: str | None = None) -> None:
    """End each adopted job: done with its runs' statuses (`results`: run id -> status), or failed with `error`."""
    from explorer.jobs.context import Stop

    for parent, kids in adopted:
        if error is not None:
            parent.end(Stop("failed", None, error))
        else:
            parent.end(Stop("done", {"runs": {k.job_id: (results or {}).get(k.job_id) for k in kids},
                                     "trained_with": host}))
