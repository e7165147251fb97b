"""A short job does not wait for all of a long one: on a class server, a student whose quick comparison
was queued after the class's merged job started (a late *Retrain*) trains in a pause of it.

The worker runs one job at a time, and a class's burst trains as one big merged job (`coalesce`), so a
student who pressed *Retrain* a moment after it started waited for all of it: 30 s and more at N = 30,
where the students before them saw their first curve point in 12–20 s. Between two steps of a running
batched job (where its runs' rows are flushed), the worker now looks at the queue (`Pause.check`, at most
every `CHECK_S`): when all the training work waiting in the queue (runs × steps) is at most `SHARE` of the
running job's, the oldest root training job that has waited `WAIT_S` or more runs there and then, to its
end, taking in the other late comparisons it can share a vmapped job with (`limit`: up to a `SHARE` of the
running job's runs). Then the long job goes on from the step it paused at, and its runs' page line says
why their curves stopped meanwhile (`PAUSED`). A queue holding more waits for the end and trains as the next
merged job: a class's burst let in one comparison at a time would make every student wait longer
(measured: the first merged job, paused nine times, ended at 25 s instead of 8 s, and the 15 comparisons
behind it saw their first points at 30 s instead of 17 s). `SHARE` is the whole running job's work: with a
quarter, a class's third merged job (96 runs) waited for all of a second one of 136 and its students saw
their first point at 35 s (measured at N = 30); let in, it starts at once, and the 136 runs' students,
whose curves had started, wait for it. Nothing of the long job changes but its wall time: its runs' rows
by step are the same (its random state is kept aside, `torch.random.fork_rng`), and its heartbeats go on
meanwhile.
A job let in never pauses for another (one level only), and the local app never interleaves: it is for
a class server's queue (`coalesce.enabled`).

    >>> fits(waiting=8 * 300, running=240 * 300), fits(waiting=96 * 300, running=136 * 300)
    (True, True)
    >>> fits(waiting=24 * 8 * 300, running=6 * 8 * 300)
    False
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from explorer.jobs.context import JobContext

WAIT_S = 2.0  # a job queued for less may yet be taken in by a job starting next (`coalesce.adopt`)
SHARE = 1.0  # jobs are let in while all the waiting work is at most this share of the running job's (runs x steps)
CHECK_S = 0.5  # the queue is read at most this often while a job trains

PAUSED = ("paused: a classmate's comparison, queued after this one started, trains now; this one then goes on "
          "from the same step")

_inside = False  # True while a job let in runs: it never pauses for another
_share_runs = 0  # the runs a job let in may train, taken-in late comparisons included (`limit`)


def fits(waiting: int, running: int) -> bool:
    """True when the queue's `waiting` work (runs x steps) is small enough to train in a pause of a job of `running`."""
    return waiting <= SHARE * running


def limit(default: int) -> int:
    """How many runs a batched job starting now may take in (`coalesce.adopt`): `default`, or, for a job let
    in during a pause, no more than the pause's own share."""
    return min(default, _share_runs) if _inside else default


def starting_in_a_pause(store: Any, jids: Sequence[str], *, kinds: tuple[str, ...], run_kind: str) -> set[str]:
    """Those of the queued jobs `jids` (a run: its root job) that the running batched job will let in at a
    pause (`Pause`: a class server, a root job of `kinds`, all the queue's work of `kinds` fitting beside the
    running runs of `run_kind`). Their place behind the running job is not when they start; a page says so."""
    from explorer.jobs.queue import queued_steps, root, running_steps
    from explorer.server.settings import serving_class

    if not jids or not serving_class():
        return set()
    running = running_steps(store, run_kind)
    if not running or not fits(queued_steps(store, kinds), running):
        return set()
    out = set()
    for jid in jids:
        row = root(store, jid)
        if row is not None and row["status"] == "queued" and row["kind"] in kinds:
            out.add(jid)
    return out


class Pause:
    """The pause point of one running batched job of `runs` runs of `steps` steps (`kinds.train_batch`)."""

    def __init__(self, ctx: JobContext, runs: Sequence[str], steps: int, *, kinds: tuple[str, ...]):
        self.ctx, self.ids, self.runs, self.steps, self.kinds = ctx, list(runs), len(runs), steps, kinds
        self.next_check = time.monotonic() + CHECK_S
        self.let_in: list[str] = []  # ids of the jobs that ran in a pause of this one

    def wrap(self, sink: Callable[[str, list[dict[str, Any]]], None]) -> Callable[[str, list[dict[str, Any]]], None]:
        """`sink`, then a look at the queue: the batched trainer flushes rows between two steps."""
        def paused_sink(rid: str, rows: list[dict[str, Any]]) -> None:
            sink(rid, rows)
            self.check()
        return paused_sink

    def check(self) -> None:
        """Run the oldest waiting job that fits (see the module doc), if any, now."""
        if _inside or time.monotonic() < self.next_check:
            return
        job = self._waiting()
        if job is not None:
            self._run(job)
        self.next_check = time.monotonic() + CHECK_S

    def _waiting(self) -> Any:
        from explorer.jobs.queue import queued_steps

        store, now = self.ctx.store, time.time()
        if not fits(queued_steps(store, self.kinds), self.runs * self.steps):
            return None  # a burst: it waits, and trains as the next merged job
        for row in store.list_jobs(status="queued"):  # oldest first
            if row.parent is None and row.kind in self.kinds and now - row.created >= WAIT_S:
                return row
        return None

    def _run(self, row: Any) -> None:
        import torch

        from explorer.jobs.context import execute

        global _inside, _share_runs
        job = self.ctx.store.claim(self.ctx.worker_id, os.getpid(), job=row.id)
        if job is None:  # taken meanwhile
            return
        _inside, _share_runs = True, max(1, int(SHARE * self.runs))
        store, me = self.ctx.store, self.ctx.worker_id
        store.set_note(self.ids, PAUSED, me)  # its students' curves stop for a few seconds: the page says why
        try:
            # the paused job's global random state (its models' dropout) is its own; it trains with gradients
            with torch.random.fork_rng(), torch.enable_grad():
                execute(store, job, me)
        finally:
            _inside = False
            store.set_note(self.ids, "", me)
        self.let_in.append(job.id)
