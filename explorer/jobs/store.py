"""The job store: every piece of background work — a training run, a batched sweep, a lottery
experiment, a prune, a playground run — is one row of ONE table with ONE state machine, in SQLite
(WAL mode, `explorer.jobs.database`) shared by the app, the CLI, the worker and the Ray driver.

    queued -> running -> done | failed | cancelled   (and `diverged`: a training run's own end)

A job is a `kind` (`explorer.jobs.kinds`), the module that registered it, and a JSON config; its id
hashes kind and config unless the submitter names it (a run is named by its config's hash). While it
runs it writes *metrics* (numeric rows per step and split), *frames* (small JSON payloads a page reads
live), progress and a note; it ends once, with a result document or an error. A job may have children
(`parent`): the queue hands out root jobs only, and a parent runs or claims its own children. The
`control` field carries the page's wishes to a running job (the Playground's "pause at step S"),
`owner` whose work it is (one person today; a class tomorrow). Resubmitting a failed or cancelled job
queues its next *attempt*; a job whose worker died is queued again until `max_attempts`, then fails.
Metrics and frames are kept per attempt.

    >>> import tempfile
    >>> s = JobStore(tempfile.mkdtemp())
    >>> jid = s.submit(Submission("demo.count", {"n": 3}))
    >>> s.claim("w1").id == jid, s.get_job(jid).status
    (True, 'running')
    >>> s.emit_frame(jid, "tick", {"i": 1}, "w1"), s.log_metrics(jid, [{"step": 1, "split": "train", "loss": 0.5}], "w1")
    (1, True)
    >>> s.finish(jid, "done", result={"n": 3}, worker_id="w2")  # not the worker that holds it: nothing changes
    False
    >>> s.finish(jid, "done", result={"n": 3}, worker_id="w1"), s.get_job(jid).result, len(s.metrics(jid))
    (True, {'n': 3}, 1)
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from explorer import paths
from explorer.jobs.database import Database
from explorer.jobs.interest import INTEREST_SCHEMA, Interests, NotYours, take_interest
from explorer.jobs.migrate import migrate
from explorer.jobs.policy import ClaimPolicy, Fifo
from explorer.jobs.rows import (DEFAULT_ATTEMPTS, STATUSES, TERMINAL, WATCHED, Frame, Job, JobError, Submission,
                                dumps, jsonable, job_id, loads)

# the claimable rows in claim order, with when each owner was served last (`policy.ClaimPolicy`)
QUEUED = ("SELECT id, owner, kind, priority, created, (SELECT MAX(s.started) FROM jobs s WHERE s.owner=jobs.owner AND "
          "s.parent IS NULL) AS served FROM jobs WHERE status='queued' AND parent IS NULL ORDER BY priority DESC, "
          "created, id")
STALE_HEARTBEAT_S = 30.0  # a running job whose worker has not spoken for this long is dead
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    module TEXT NOT NULL DEFAULT '',
    config TEXT NOT NULL,
    grp TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    parent TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'queued',
    attempt INTEGER NOT NULL DEFAULT 1,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    progress REAL NOT NULL DEFAULT 0,
    step INTEGER NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    control TEXT,
    result TEXT,
    error TEXT,
    seed INTEGER,
    device TEXT,
    torch_version TEXT,
    worker_id TEXT,
    worker_pid INTEGER,
    worker_host TEXT,
    heartbeat REAL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(status, priority, created);
CREATE INDEX IF NOT EXISTS jobs_group ON jobs(grp, created);
CREATE INDEX IF NOT EXISTS jobs_kind ON jobs(kind, created);
CREATE INDEX IF NOT EXISTS jobs_parent ON jobs(parent);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner, status);
CREATE TABLE IF NOT EXISTS metrics (
    job_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    split TEXT NOT NULL,
    loss REAL,
    acc REAL,
    wall_time REAL,
    attempt INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS metrics_job ON metrics(job_id, step);
""" + INTEREST_SCHEMA + """
CREATE TABLE IF NOT EXISTS frames (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (job_id, seq)
);
"""


def pid_alive(pid: int) -> bool:
    """True when process `pid` exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a SIGKILLed child not yet waited for is a zombie: dead for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


_REQUEUE = ("status='queued', error=NULL, result=NULL, finished=NULL, started=NULL, progress=0, step=0, "
            "cancel_requested=0, worker_id=NULL, worker_pid=NULL, worker_host=NULL, heartbeat=NULL, "
            "attempt=attempt+1")


class JobStore(Interests):
    """The store at `paths.runs_db(data_dir)`; see the module docstring. Raises `StoreDamaged` (with
    the way out) when the file cannot be read. An older file (runs and jobs in two tables) is migrated
    on open (`explorer.jobs.migrate`)."""

    def __init__(self, data_dir_: str | Path | None = None, *, stale_after_s: float = STALE_HEARTBEAT_S):
        self.dir = paths.ensure_dir(data_dir_ if data_dir_ is not None else paths.data_dir())
        self.path = paths.runs_db(self.dir)
        self.stale_after_s = stale_after_s
        self.db = Database(self.path, SCHEMA, migrate=lambda c: migrate(c, SCHEMA))


    def _conn(self) -> sqlite3.Connection:
        return self.db.conn()

    def _tx(self, immediate: bool = True) -> Any:
        return self.db.transaction(immediate)

    def close(self) -> None:
        self.db.close()

    # ---- submitting -------------------------------------------------------------------------
    def submit(self, sub: Submission, parent: str | None = None) -> str:
        """Queue `sub` (and its children) in one transaction; returns its id. A job already in the store is
        not queued twice: a failed or cancelled one is queued again as its next attempt, a queued one is
        left as it is, and one running or done is left alone — unless it has ended and a child of it is
        queued again now (it must run again to run that child)."""
        with self._tx() as c:
            return self._submit(c, sub, parent, time.time())

    def _submit(self, c: sqlite3.Connection, sub: Submission, parent: str | None, now: float) -> str:
        jid = sub.job_id
        config = json.dumps(dict(sub.config), sort_keys=True)
        row = c.execute("SELECT status FROM jobs WHERE id=?", (jid,)).fetchone()
        if row is None:
            c.execute("INSERT INTO jobs (id, kind, module, config, grp, label, owner, parent, priority, max_attempts, "
                      "seed, control, created) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      (jid, sub.kind, sub.module, config, sub.group, sub.label, sub.owner, parent, sub.priority,
                       sub.max_attempts, sub.seed, dumps(sub.control), now))
            status = "queued"
        else:
            status = row["status"]
            if status in ("failed", "cancelled", "diverged"):
                c.execute(f"UPDATE jobs SET {_REQUEUE}, config=?, label=?, module=COALESCE(NULLIF(?, ''), module), "
                          "control=?, created=? WHERE id=?", (config, sub.label, sub.module, dumps(sub.control), now, jid))
                status = "queued"
            if status == "queued" and parent is not None:  # a queued job now run by `parent`
                c.execute("UPDATE jobs SET parent=? WHERE id=?", (parent, jid))
        if sub.owner:
            take_interest(c, jid, sub.owner, now)
        if parent is not None:  # whoever asked for the parent asked for its children
            c.execute("INSERT OR IGNORE INTO interest (job_id, owner, created) SELECT ?, owner, created FROM interest "
                      "WHERE job_id=?", (jid, parent))
        kids = [replace(k, owner=k.owner or sub.owner) for k in sub.children]
        requeued = [self._submit(c, kid, jid, now + (k + 1) * 1e-6) for k, kid in enumerate(kids)]
        again = [k for k in requeued if c.execute("SELECT status FROM jobs WHERE id=?", (k,)).fetchone()[0] == "queued"]
        if status == "done" and again:
            c.execute(f"UPDATE jobs SET {_REQUEUE}, created=? WHERE id=?", (now, jid))
        return jid

    def restore_job(self, job: Mapping[str, Any], metrics: Iterable[Mapping[str, Any]] = ()) -> bool:
        """Insert a job that ended elsewhere (a result shipped with the app, `explorer.lessons.results`)
        with its row fields (id, kind, module, config, status, result, ... as `Job` names them) and metric
        rows, in one transaction; False, and nothing changes, when the store has that job."""
        if job["status"] not in TERMINAL:
            raise JobError(f"a restored job must have ended; {job['id']} is {job['status']!r}")
        cols = {f.name for f in fields(Job)} - {"cancel_requested"}
        row = {("grp" if k == "group" else k): v for k, v in job.items() if k in cols}
        row.update(config=json.dumps(dict(job["config"]), sort_keys=True), result=dumps(job.get("result")),
                   control=None, progress=job.get("progress", 1.0 if job["status"] == "done" else 0.0))
        with self._tx() as c:
            cur = c.execute(f"INSERT OR IGNORE INTO jobs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                            list(row.values()))
            if cur.rowcount == 0:
                return False
            c.executemany("INSERT INTO metrics (job_id, step, split, loss, acc, wall_time) VALUES (?,?,?,?,?,?)",
                          [_metric_row(job["id"], m) for m in metrics])
        return True

    # ---- reading ----------------------------------------------------------------------------
    def get_job(self, jid: str) -> Job:
        self._mine(jid)
        row = self._conn().execute("SELECT * FROM jobs WHERE id=?", (jid,)).fetchone()
        if row is None:
            raise JobError(f"no job or run {jid!r} in {self.path}; list them with `python -m explorer runs list`")
        return Job.from_row(row)

    def status(self, jid: str) -> str | None:
        """The job's status, or None when the store has no such job."""
        row = self._conn().execute("SELECT status FROM jobs WHERE id=?", (jid,)).fetchone()
        return row["status"] if row else None

    def list_jobs(self, kind: str | None = None, status: str | None = None, group: str | None = None,
                  owner: str | None = None, parent: str | None = None) -> list[Job]:
        """Jobs in submission order (those the viewer may see), optionally only those of one kind, status,
        group, owner (asked for by `owner`) or parent."""
        cond, args = self._seen()
        q = "SELECT * FROM jobs WHERE 1=1" + cond
        for col, v in (("kind", kind), ("status", status), ("grp", group), ("parent", parent)):
            if v is not None:
                q, args = q + f" AND {col}=?", [*args, v]
        if owner is not None:
            q, args = q + " AND (jobs.owner=? OR EXISTS (SELECT 1 FROM interest i WHERE i.job_id=jobs.id AND " \
                          "i.owner=?))", [*args, owner, owner]
        return [Job.from_row(r) for r in self._conn().execute(q + " ORDER BY created, id", args)]

    def groups(self, kind: str | None = None) -> list[str]:
        """The groups of the store's jobs (of `kind`) the viewer may see, oldest first."""
        cond, args = self._seen()
        rows = self._conn().execute(f"SELECT grp, MIN(created) AS t FROM jobs WHERE (? IS NULL OR kind=?){cond} "
                                    "GROUP BY grp ORDER BY t", (kind, kind, *args))
        return [r["grp"] for r in rows]

    def metrics(self, jid: str, since_step: int | None = None, split: str | None = None,
                attempt: int | None = None) -> list[dict[str, Any]]:
        """Metric rows of a job's current attempt (or of `attempt`) ordered by step (then split),
        optionally only those after `since_step`."""
        self._mine(jid)
        q = ("SELECT step, split, loss, acc, wall_time FROM metrics WHERE job_id=? AND attempt="
             + ("?" if attempt is not None else "(SELECT attempt FROM jobs WHERE id=metrics.job_id)"))
        args: list[Any] = [jid] + ([attempt] if attempt is not None else [])
        if since_step is not None:
            q, args = q + " AND step>?", [*args, since_step]
        if split is not None:
            q, args = q + " AND split=?", [*args, split]
        return [dict(r) for r in self._conn().execute(q + " ORDER BY step, split, rowid", args)]

    def metrics_after(self, jid: str, attempt: int, rowid: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Attempt `attempt`'s metric rows of job `jid` stored after row `rowid`, in the order they were stored,
        and the last row's id (`rowid` when none): a live page reads only what is new (`follow.MetricCache`)."""
        self._mine(jid)
        got = self._conn().execute("SELECT rowid AS r, step, split, loss, acc, wall_time FROM metrics WHERE job_id=? "
                                   "AND attempt=? AND rowid>? ORDER BY rowid", (jid, attempt, rowid)).fetchall()
        return [{k: g[k] for k in ("step", "split", "loss", "acc", "wall_time")} for g in got], \
            (got[-1]["r"] if got else rowid)

    def frames(self, jid: str, since: int = 0, kind: str | None = None) -> list[Frame]:
        """The job's frames after sequence number `since` (all attempts), oldest first."""
        self._mine(jid)
        q, args = "SELECT * FROM frames WHERE job_id=? AND seq>?", [jid, since]
        if kind is not None:
            q, args = q + " AND kind=?", [*args, kind]
        return [Frame(r["seq"], r["attempt"], r["kind"], json.loads(r["payload"]), r["created"])
                for r in self._conn().execute(q + " ORDER BY seq", args)]

    def last_seq(self, ids: Sequence[str]) -> dict[str, int]:
        """The newest frame's sequence number of each job (0 without frames), in one query."""
        q = f"SELECT job_id, MAX(seq) AS s FROM frames WHERE job_id IN ({','.join('?' * len(ids))}) GROUP BY job_id"
        got = {r["job_id"]: r["s"] for r in self._conn().execute(q, list(ids))} if ids else {}
        return {j: int(got.get(j) or 0) for j in ids}

    def claimable(self) -> bool:
        """True while some root job waits in the queue (a worker should be running)."""
        return self._conn().execute("SELECT 1 FROM jobs WHERE status='queued' AND parent IS NULL LIMIT 1").fetchone() \
            is not None

    def control(self, jid: str) -> dict[str, Any]:
        """What the page asks of the running job (the Playground's pause point); {} when nothing."""
        row = self._conn().execute("SELECT control FROM jobs WHERE id=?", (jid,)).fetchone()
        return (loads(row["control"]) or {}) if row else {}

    # ---- the worker's side ------------------------------------------------------------------
    def claim(self, worker_id: str, pid: int | None = None, *, job: str | None = None,
              policy: ClaimPolicy | None = None) -> Job | None:
        """Atomically take a queued job and mark it running for `worker_id`: the queued job `job`
        (a root or a child its parent runs), else the root job `policy` (default `Fifo`) picks. None if none."""
        with self._tx() as c:
            if job is not None:
                row = c.execute("SELECT id FROM jobs WHERE status='queued' AND id=?", (job,)).fetchone()
                pick = row["id"] if row else None
            else:
                queued = c.execute(QUEUED).fetchall()
                running = c.execute("SELECT id, owner, kind FROM jobs WHERE status='running'").fetchall() \
                    if policy is not None else []
                pick = (policy or Fifo()).pick(queued, running)
            if pick is None:
                return None
            self._run(c, [pick], worker_id, pid)
        return self.get_job(pick)

    def claim_children(self, parent: str, worker_id: str, pid: int | None = None) -> list[Job]:
        """Atomically take every queued child of `parent` for `worker_id` (a batched job trains them together)."""
        with self._tx() as c:
            ids = [r["id"] for r in c.execute("SELECT id FROM jobs WHERE parent=? AND status='queued' "
                                              "ORDER BY created, id", (parent,))]
            self._run(c, ids, worker_id, pid)
        return [self.get_job(i) for i in ids]

    @staticmethod
    def _run(c: sqlite3.Connection, ids: Sequence[str], worker_id: str, pid: int | None) -> None:
        now = time.time()
        c.executemany("UPDATE jobs SET status='running', worker_id=?, worker_pid=?, worker_host=?, heartbeat=?, "
                      "started=COALESCE(started, ?) WHERE id=?",
                      [(worker_id, pid if pid is not None else os.getpid(), socket.gethostname(), now, now, i)
                       for i in ids])

    def set_started(self, jid: str, device: str, torch_version: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE jobs SET device=?, torch_version=?, heartbeat=? WHERE id=?",
                      (device, torch_version, time.time(), jid))

    def set_worker_pid(self, ids: Iterable[str], pid: int) -> None:
        """The process now running these (claimed) jobs: `reap` watches it."""
        with self._tx() as c:
            c.executemany("UPDATE jobs SET worker_pid=?, heartbeat=? WHERE id=? AND status='running'",
                          [(pid, time.time(), j) for j in ids])

    def set_note(self, ids: Iterable[str], note: str, worker_id: str) -> None:
        """Say `note` beside running jobs `ids` held by `worker_id` (one transaction): "" says nothing."""
        with self._tx() as c:
            c.executemany("UPDATE jobs SET note=? WHERE id=? AND status='running' AND worker_id=?",
                          [(note, j, worker_id) for j in ids])

    def heartbeat(self, jid: str, worker_id: str | None = None, *, step: int | None = None,
                  progress: float | None = None, note: str | None = None) -> bool:
        """Say the job is alive (and how far); False when it is no longer running for `worker_id`."""
        with self._tx() as c:
            cur = c.execute("UPDATE jobs SET heartbeat=?, step=COALESCE(?, step), progress=COALESCE(?, progress), "
                            "note=COALESCE(?, note) WHERE id=? AND status='running' AND (? IS NULL OR worker_id=?)",
                            (time.time(), step, progress, note, jid, worker_id, worker_id))
            return cur.rowcount > 0

    def _holds(self, c: sqlite3.Connection, jid: str, worker_id: str | None) -> sqlite3.Row | None:
        row = c.execute("SELECT status, worker_id, attempt FROM jobs WHERE id=?", (jid,)).fetchone()
        if row is None or (worker_id is not None and (row["status"] != "running" or row["worker_id"] != worker_id)):
            return None
        return row

    def log_metrics(self, jid: str, rows: Iterable[Mapping[str, Any]], worker_id: str | None = None) -> bool:
        """Insert metric rows ({step, split, loss, acc, wall_time}) of the job's current attempt in one
        transaction, advancing its step and heartbeat. False (nothing written) when the job is not
        running for `worker_id` (given): a reaped worker that wakes up cannot add to it."""
        vals = [_metric_row(jid, r) for r in rows]
        if not vals:
            return True
        with self._tx() as c:
            row = self._holds(c, jid, worker_id)
            if row is None:
                return False
            c.executemany("INSERT INTO metrics (job_id, step, split, loss, acc, wall_time, attempt) "
                          "VALUES (?,?,?,?,?,?,?)", [(*v, row["attempt"]) for v in vals])
            c.execute("UPDATE jobs SET heartbeat=?, step=MAX(step, ?) WHERE id=?",
                      (time.time(), max(v[1] for v in vals), jid))
        return True

    def emit_frame(self, jid: str, kind: str, payload: Mapping[str, Any], worker_id: str) -> int:
        """Append a frame of the running job; returns its sequence number (0: the job is not ours)."""
        text = json.dumps(dict(payload), default=jsonable)
        with self._tx() as c:
            row = self._holds(c, jid, worker_id)
            if row is None:
                return 0
            seq = c.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM frames WHERE job_id=?", (jid,)).fetchone()[0]
            c.execute("INSERT INTO frames (job_id, seq, attempt, kind, payload, created) VALUES (?,?,?,?,?,?)",
                      (jid, seq, row["attempt"], kind, text, time.time()))
            c.execute("UPDATE jobs SET heartbeat=? WHERE id=?", (time.time(), jid))
        return int(seq)

    def should_stop(self, jid: str, worker_id: str) -> bool:
        """A worker's stop check: cancel requested, or the job is no longer its own (reaped meanwhile)."""
        row = self._conn().execute("SELECT cancel_requested, status, worker_id FROM jobs WHERE id=?",
                                   (jid,)).fetchone()
        return row is None or bool(row["cancel_requested"]) or row["status"] != "running" \
            or row["worker_id"] != worker_id

    def is_cancel_requested(self, jid: str) -> bool:
        row = self._conn().execute("SELECT cancel_requested FROM jobs WHERE id=?", (jid,)).fetchone()
        return bool(row and row["cancel_requested"])

    def finish(self, jid: str, status: str, *, result: Mapping[str, Any] | None = None, error: str | None = None,
               worker_id: str | None = None) -> bool:
        """End a job with `status` (done, failed, cancelled, diverged). A job's end is decided once: False,
        and nothing changes, when it is not queued or running (for `worker_id`, when given). Its children
        still queued are cancelled with it: nobody else would run them."""
        if status not in TERMINAL:
            raise JobError(f"finish status {status!r} must be one of {TERMINAL}")
        now = time.time()
        with self._tx() as c:
            cur = c.execute("UPDATE jobs SET status=?, error=?, finished=?, heartbeat=?, "
                            "progress=CASE WHEN ?='done' THEN 1.0 ELSE progress END, result=COALESCE(?, result) "
                            "WHERE id=? AND status IN ('running', 'queued') AND (? IS NULL OR worker_id=?)",
                            (status, error, now, now, status, dumps(result), jid, worker_id, worker_id))
            if cur.rowcount:
                c.execute("UPDATE jobs SET status='cancelled', finished=?, error=? WHERE parent=? AND status='queued'",
                          (now, f"its parent {jid} ended {status} first", jid))
            return cur.rowcount > 0

    # ---- the page's side --------------------------------------------------------------------
    def request_cancel(self, jid: str) -> str:
        """Cancel a job and its children: queued ones at once, running ones at their worker's next check.
        Returns the job's status after the request."""
        self.get_job(jid)
        with self._tx() as c:
            todo, now = [jid], time.time()
            while todo:
                j = todo.pop()
                c.execute("UPDATE jobs SET status='cancelled', finished=? WHERE id=? AND status='queued'", (now, j))
                c.execute("UPDATE jobs SET cancel_requested=1 WHERE id=? AND status='running'", (j,))
                todo += [r["id"] for r in c.execute("SELECT id FROM jobs WHERE parent=? AND status IN "
                                                    "('queued', 'running')", (j,))]
        return self.get_job(jid).status

    def set_control(self, jid: str, control: Mapping[str, Any] | None) -> None:
        """Tell a job what the page wants of it (None clears); the job reads it with `control`."""
        with self._tx() as c:
            c.execute("UPDATE jobs SET control=? WHERE id=?", (dumps(control), jid))

    def watch(self, ids: Sequence[str], now: float | None = None) -> None:
        """Say that a page shows jobs `ids` now: their control message's `watched` time, which an interactive
        job (the Playground's) reads with `JobContext.unwatched` to pause itself once nobody shows it."""
        now = time.time() if now is None else now
        with self._tx() as c:
            for jid in ids:
                row = c.execute("SELECT control FROM jobs WHERE id=? AND status IN ('queued', 'running')",
                                (jid,)).fetchone()
                if row is not None:
                    c.execute("UPDATE jobs SET control=? WHERE id=?",
                              (dumps({**(loads(row["control"]) or {}), WATCHED: now}), jid))

    def reap(self) -> list[str]:
        """Running jobs whose worker is dead (pid gone on this host) or silent for `stale_after_s` go back
        to the queue as their next attempt (their work folder keeps what they finished), or fail after
        their `max_attempts`, keeping their metrics and frames. Returns their ids."""
        now, host, out = time.time(), socket.gethostname(), []
        cond, args = self._seen()
        c = self._conn()
        # every page refresh of every session polls: ask SQLite for the few candidates, checking each worker
        # process once (a batched job's hundreds of member runs share one), not every running job in Python
        pids = [r[0] for r in c.execute("SELECT DISTINCT worker_pid FROM jobs WHERE status='running' AND "
                                        f"worker_host=? AND worker_pid IS NOT NULL{cond}", [host, *args])]
        dead = [p for p in pids if not pid_alive(p)]
        q = (f"SELECT * FROM jobs WHERE status='running'{cond} AND (heartbeat IS NULL OR heartbeat<? OR "
             f"(worker_host=? AND worker_pid IN ({','.join('?' * len(dead))})))")
        for j in [Job.from_row(r) for r in c.execute(q + " ORDER BY created, id",
                                                     [*args, now - self.stale_after_s, host, *dead])]:
            with self._tx() as c:
                if j.attempt < j.max_attempts:
                    c.execute("UPDATE jobs SET status='queued', attempt=attempt+1, worker_id=NULL, worker_pid=NULL, "
                              "note=? WHERE id=? AND status='running'",
                              (f"its worker died; resuming (attempt {j.attempt + 1} of {j.max_attempts})", j.id))
                else:
                    c.execute("UPDATE jobs SET status='failed', finished=?, error=? WHERE id=? AND status='running'",
                              (now, "its worker died (process gone or heartbeat stale)"
                               + (f" {j.max_attempts} times" if j.max_attempts > 1 else "")
                               + "; the metrics and frames so far are kept", j.id))
            out.append(j.id)
        return out

    def delete(self, jid: str) -> None:
        """Remove a job, its metrics and frames (e.g. a row that can no longer be read)."""
        with self._tx() as c:
            for table, col in (("metrics", "job_id"), ("frames", "job_id"), ("jobs", "id")):
                c.execute(f"DELETE FROM {table} WHERE {col}=?", (jid,))


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def _metric_row(jid: str, r: Mapping[str, Any]) -> tuple[Any, ...]:
    split = r["split"]
    if not isinstance(split, str) or not split:
        raise JobError(f"metric split {split!r} must be a name such as 'train' or 'test'")
    return (jid, int(r["step"]), split, _num(r.get("loss")), _num(r.get("acc")), _num(r.get("wall_time")))
