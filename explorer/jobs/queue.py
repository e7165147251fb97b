"""Where a queued job stands: its place in the order the worker will serve the queue (`policy.order`
under the server's claim policy) and an *estimate* of when it starts, from the durations of the jobs
that finished on this store (the median of the last `SAMPLE` of each kind), said with how it was made.

    >>> import tempfile
    >>> from explorer.jobs.rows import Submission
    >>> from explorer.jobs.policy import RoundRobin
    >>> from explorer.jobs import demo  # registers demo.count
    >>> s = JobStore(tempfile.mkdtemp())
    >>> a = [s.submit(Submission("demo.count", {"n": i}, module="explorer.jobs.demo", owner="ada")) for i in range(3)]
    >>> b = s.submit(Submission("demo.count", {"n": 9}, module="explorer.jobs.demo", owner="bob"))
    >>> where(s, b, RoundRobin()).position, where(s, a[2], RoundRobin()).position
    (2, 4)
    >>> print(where(s, b, RoundRobin()).text())
    2nd in the queue (1 job ahead); no job of this kind has finished here yet, so no time estimate
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from explorer.jobs.policy import ClaimPolicy, Fifo, order
from explorer.jobs.store import QUEUED, JobStore

SAMPLE = 20  # finished jobs per kind the estimate is the median of


@dataclass(frozen=True)
class Place:
    """A queued job's `position` (1: next), the jobs `ahead`, and when it starts: `start_s` seconds from
    now (None: nothing measured yet), `how` the estimate was made."""

    position: int
    ahead: int
    start_s: float | None
    how: str

    def text(self) -> str:
        n = self.position
        nth = f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
        head = f"{nth} in the queue ({self.ahead} job{'s' if self.ahead != 1 else ''} ahead)"
        if self.start_s is None:
            return f"{head}; {self.how}"
        return f"{head}; starts in about {_dur(self.start_s)} (estimate: {self.how})"


def _dur(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def durations(store: JobStore, kind: str) -> list[float]:
    """Seconds the last `SAMPLE` finished root jobs of `kind` ran (started to finished)."""
    rows = store._conn().execute("SELECT finished - started FROM jobs WHERE kind=? AND status='done' AND parent IS NULL "
                                 "AND started IS NOT NULL AND finished IS NOT NULL ORDER BY finished DESC LIMIT ?",
                                 (kind, SAMPLE)).fetchall()
    return [float(r[0]) for r in rows]


def where(store: JobStore, jid: str, policy: ClaimPolicy | None = None) -> Place | None:
    """`jid`'s place in the queue (a queued child: its parent's), None when it is not waiting."""
    return places(store, [jid], policy)[jid]


def root(store: JobStore, jid: str) -> sqlite3.Row | None:
    """The root job of `jid` (itself when it has no parent) as (id, parent, kind, status), None if none."""
    c = store._conn()
    row = c.execute("SELECT id, parent, kind, status FROM jobs WHERE id=?", (jid,)).fetchone()
    while row is not None and row["parent"] is not None:
        row = c.execute("SELECT id, parent, kind, status FROM jobs WHERE id=?", (row["parent"],)).fetchone()
    return row


def queued_steps(store: JobStore, kinds: Sequence[str]) -> int:
    """The training work waiting in the queue: steps summed over the queued runs of the queued root jobs of
    `kinds` (a batched job: its queued runs; a lone run: its own) — runs x steps."""
    marks = ",".join("?" * len(kinds))
    row = store._conn().execute(
        "SELECT COALESCE(SUM(COALESCE(json_extract(j.config, '$.steps'), 0)), 0) FROM jobs j LEFT JOIN jobs p ON "
        f"p.id=j.parent WHERE j.status='queued' AND ((j.parent IS NULL AND j.kind IN ({marks}) AND NOT EXISTS "
        f"(SELECT 1 FROM jobs k WHERE k.parent=j.id)) OR (p.parent IS NULL AND p.status='queued' AND p.kind IN "
        f"({marks})))", [*kinds, *kinds]).fetchone()
    return int(row[0])


def running_steps(store: JobStore, run_kind: str) -> int:
    """The training work running as children of a job (a batched job's runs of `run_kind`): runs x steps."""
    row = store._conn().execute("SELECT COALESCE(SUM(COALESCE(json_extract(config, '$.steps'), 0)), 0) FROM jobs "
                                "WHERE status='running' AND parent IS NOT NULL AND kind=?", (run_kind,)).fetchone()
    return int(row[0])


def places(store: JobStore, jids: Sequence[str], policy: ClaimPolicy | None = None) -> dict[str, Place | None]:
    """`where` for several jobs from one reading of the queue (a page lists a student's runs: the queue's
    order, the running jobs and the durations are read once, not once per run)."""
    c = store._conn()
    roots: dict[str, sqlite3.Row | None] = {}
    for jid in jids:
        row = root(store, jid)
        roots[jid] = row if row is not None and row["status"] == "queued" else None
    out: dict[str, Place | None] = dict.fromkeys(jids)
    if not any(roots.values()):
        return out
    queued = c.execute(QUEUED).fetchall()
    ids = order(policy or Fifo(), queued)
    pos = {k: i for i, k in enumerate(ids)}
    kinds = {r["id"]: r["kind"] for r in queued}
    running = c.execute("SELECT kind, started FROM jobs WHERE status='running' AND parent IS NULL").fetchall()
    med: dict[str, float | None] = {}
    counts: dict[str, int] = {}

    def median(kind: str) -> float | None:
        if kind not in med:
            d = durations(store, kind)
            med[kind], counts[kind] = (statistics.median(d) if d else None), len(d)
        return med[kind]

    now = time.time()
    left = None
    for jid, row in roots.items():
        if row is None or row["id"] not in pos:  # claimed between the reads (a worker taking it into a batch)
            continue
        ahead = ids[:pos[row["id"]]]
        own = median(kinds[row["id"]])
        need = [kinds[a] for a in ahead] + [r["kind"] for r in running]
        if own is None or any(median(k) is None for k in need):
            out[jid] = Place(len(ahead) + 1, len(ahead), None, "no job of this kind has finished here yet, so no "
                             "time estimate" if own is None else "some job ahead is of a kind never finished here: "
                             "no time estimate")
            continue
        if left is None:
            left = sum(max(0.0, med[r["kind"]] - (now - (r["started"] or now))) for r in running)
        start = left + sum(med[k] for k in need[:len(ahead)])
        how = (f"the jobs ahead and running, each taking the median run time of the last {counts[kinds[row['id']]]} "
               f"finished {kinds[row['id']]} job(s) here ({_dur(own)}), one after another")
        out[jid] = Place(len(ahead) + 1, len(ahead), start, how)
    return out
