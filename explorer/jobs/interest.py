"""Who may see a job on a class server: every member's *interest* in the jobs they asked for (one row per
job and owner, so that identical work asked for by several students is one job that each of them sees),
and the store's reads as one member sees them (`JobStore.for_viewer`): their jobs and the shared
examples (owner ''), never another's — `NotYours` for a job, `hidden` for a link naming one.

The teacher and the local single-user app read the store with no viewer: every job.
"""

from __future__ import annotations

import copy
import sqlite3
import time
from typing import Any

from explorer.jobs.rows import JobError

INTEREST_SCHEMA = """
CREATE TABLE IF NOT EXISTS interest (
    job_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (job_id, owner)
);
CREATE INDEX IF NOT EXISTS interest_owner ON interest(owner);
"""
_SEEN = " AND (jobs.owner='' OR EXISTS (SELECT 1 FROM interest i WHERE i.job_id=jobs.id AND i.owner=?))"


class NotYours(JobError):
    """A job that another member of the class asked for: not shown to this viewer."""


def take_interest(c: sqlite3.Connection, jid: str, owner: str, now: float) -> None:
    """Record that `owner` asked for job `jid` and everything below it (a shared job's children are theirs too)."""
    todo = [jid]
    while todo:
        j = todo.pop()
        c.execute("INSERT OR IGNORE INTO interest (job_id, owner, created) VALUES (?,?,?)", (j, owner, now))
        todo += [r[0] for r in c.execute("SELECT id FROM jobs WHERE parent=?", (j,))]


class Interests:
    """The per-member half of `JobStore` (a mixin: it uses the store's `_conn`, `_tx`, `status` and
    `request_cancel`)."""

    viewer: str | None = None  # whose jobs the reads show (None: everyone's)

    def for_viewer(self, viewer: str | None) -> Any:
        """The same store (same file, same connections) whose reads show only the jobs `viewer` asked for
        (and the shared examples, owner ''): a class member's view. None: every job (the teacher, the
        local app). `get_job` (and `metrics`, `frames`) of another's job raise `NotYours`."""
        out = copy.copy(self)
        out.viewer = viewer
        return out

    def _seen(self) -> tuple[str, list[Any]]:
        """The SQL condition (on `jobs`) and arguments that keep the viewer's jobs only."""
        return ("", []) if self.viewer is None else (_SEEN, [self.viewer])

    def visible(self, jid: str) -> bool:
        """True when the viewer may see job `jid` (False also when there is no such job)."""
        cond, args = self._seen()
        return self._conn().execute(f"SELECT 1 FROM jobs WHERE id=?{cond}", [jid, *args]).fetchone() is not None

    def hidden(self, jid: str | None = None, group: str | None = None) -> bool:
        """True when job `jid` (or some job of `group`) exists but is another's: the viewer may not see it."""
        if self.viewer is None:
            return False
        if jid is not None:
            return self.status(jid) is not None and not self.visible(jid)
        cond, args = self._seen()
        c = self._conn()
        return c.execute("SELECT 1 FROM jobs WHERE grp=? LIMIT 1", (group,)).fetchone() is not None and \
            c.execute(f"SELECT 1 FROM jobs WHERE grp=?{cond} LIMIT 1", (group, *args)).fetchone() is None

    def take_interest(self, jid: str, owner: str) -> None:
        """Record that `owner` asked for the existing job `jid` (and its children): it is theirs to see too."""
        with self._tx() as c:
            take_interest(c, jid, owner, time.time())

    def _mine(self, jid: str) -> None:
        if self.viewer is not None and not self.visible(jid) and self.status(jid) is not None:
            raise NotYours(f"job or run {jid} belongs to another member of this class: it is not shown. Open your "
                           "own work from this page's list (or ask your teacher, who sees every student's).")

    def withdraw(self, jid: str, owner: str) -> str:
        """`owner` no longer wants job `jid` (and its children): their interest is dropped, and the job is
        cancelled (`request_cancel`) only when nobody else asked for it. Returns the job's status."""
        with self._tx() as c:
            todo = [jid]
            while todo:
                j = todo.pop()
                c.execute("DELETE FROM interest WHERE job_id=? AND owner=?", (j, owner))
                todo += [r["id"] for r in c.execute("SELECT id FROM jobs WHERE parent=?", (j,))]
            others = c.execute("SELECT COUNT(*) FROM interest WHERE job_id=?", (jid,)).fetchone()[0]
        return self.request_cancel(jid) if not others else self.status(jid) or "cancelled"

    def owners(self, jid: str) -> list[str]:
        """Who asked for job `jid` (the members of a class sharing it), first asker first."""
        return [r["owner"] for r in self._conn().execute("SELECT owner FROM interest WHERE job_id=? ORDER BY created, "
                                                         "owner", (jid,))]

