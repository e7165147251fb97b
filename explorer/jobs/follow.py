"""Following jobs from a page: one frame cache and one signature of change (`ui.jobs` draws with them).

`FrameCache.read(store, id)` returns every frame of a job so far, fetching only the new ones on each
call; `signature(store, ids)` changes whenever anything a page shows of the jobs changes (status,
attempt, progress, step, note, a new frame), so a follower reruns the page only then.

    >>> import tempfile
    >>> from explorer.jobs import demo
    >>> from explorer.jobs.backends import InlineBackend
    >>> be = InlineBackend(tempfile.mkdtemp())
    >>> jid = be.submit("demo.count", {"n": 2})
    >>> cache = FrameCache()
    >>> [f.payload["i"] for f in cache.read(be.store, jid)], len(cache.read(be.store, jid))
    ([1, 2], 2)
    >>> signature(be.store, [jid])[0][1:3]
    ('done', 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from explorer.jobs.store import TERMINAL, Frame


class FrameCache:
    """Frames read so far, per job (all attempts, in sequence order)."""

    def __init__(self) -> None:
        self.frames: dict[str, list[Frame]] = {}

    def read(self, store: Any, jid: str, kind: str | None = None) -> list[Frame]:
        """Every frame of `jid` so far (only those of `kind`, when given); new ones are fetched once."""
        got = self.frames.setdefault(jid, [])
        got += store.frames(jid, since=got[-1].seq if got else 0)
        return got if kind is None else [f for f in got if f.kind == kind]


class MetricCache:
    """Metric rows read so far, per run: a live page's refresh reads only the rows stored since its last one
    (every student's Train page refreshes while their comparison trains; reading every row of every run each
    time grew with the runs). Rows are those of the run's current attempt, ordered by step then split as
    `JobStore.metrics` orders them; a run retried or submitted again (another attempt or creation time) is
    read afresh."""

    KEEP = 512  # runs held per session: past that, those the last read did not ask for are dropped

    def __init__(self) -> None:
        # run id -> ((attempt, created), the last row's id, its rows so far)
        self.held: dict[str, tuple[tuple[int, float], int, list[dict[str, Any]]]] = {}

    def read(self, store: Any, jobs: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
        """Every metric row so far of each of `jobs` (`Job`s or runs), by id."""
        out = {}
        for j in jobs:
            key = (j.attempt, j.created)
            was = self.held.get(j.id)
            rowid, rows = (was[1], was[2]) if was is not None and was[0] == key else (0, [])
            new, rowid = store.metrics_after(j.id, j.attempt, rowid)
            if new:
                rows = rows + new  # a new list: a figure or table drawn from the last one keeps it
                tail = rows[-len(new) - 1:]
                if any(_order(a) > _order(b) for a, b in zip(tail, tail[1:])):
                    rows.sort(key=_order)  # stable: rows of one step and split stay in the order stored
            self.held[j.id] = (key, rowid, rows)
            out[j.id] = rows
        if len(self.held) > self.KEEP:  # a long session's browsing: memory for what it shows now only
            self.held = {k: v for k, v in self.held.items() if k in out}
        return out


def _order(row: dict[str, Any]) -> tuple[int, str]:
    return row["step"], row["split"]


def signature(store: Any, ids: Sequence[str]) -> tuple[tuple[Any, ...], ...]:
    """What a page shows of the jobs `ids`, in a form that changes exactly when any of it does."""
    if not ids:
        return ()
    q = f"SELECT id, status, attempt, progress, step, note FROM jobs WHERE id IN ({','.join('?' * len(ids))})"
    rows = {r["id"]: tuple(r) for r in store.db.conn().execute(q, list(ids))}
    seqs = store.last_seq(ids)
    return tuple((*rows.get(j, (j, None, 0, 0.0, 0, "")), seqs[j]) for j in ids)


def live(sig: tuple[tuple[Any, ...], ...]) -> bool:
    """True while any job of a signature is queued or running (a follower keeps polling)."""
    return any(row[1] is not None and row[1] not in TERMINAL for row in sig)
