"""Background jobs in the run store: a pruning of a big model, a lottery experiment, a
playground training — any long work a page hands to the worker, beside ordinary runs.

A job is a `kind` (registered in `explorer.training.jobs.registry`) and a JSON config; its id
hashes both, so submitting the same job twice finds the first. While it runs it writes
*frames* — small JSON payloads a page reads live (`frames(job_id, since=seq)`) — progress and
a note; it ends with a result document or an error. A job whose worker dies is queued again
as its next attempt (up to `MAX_ATTEMPTS`), so a killed experiment resumes from the state it
kept in its work folder; its frames are kept, numbered by attempt.

    >>> import tempfile
    >>> from explorer.training.store import RunStore
    >>> s = RunStore(tempfile.mkdtemp())
    >>> jid = s.submit_job("demo", {"n": 3})
    >>> s.claim_job("w").id == jid
    True
    >>> s.emit_frame(jid, "tick", {"i": 1}, "w"), s.emit_frame(jid, "tick", {"i": 2}, "w")
    (1, 2)
    >>> [f.payload["i"] for f in s.frames(jid, since=1)]
    [2]
    >>> s.finish_job(jid, "done", {"total": 3}, worker_id="w"), s.get_job(jid).result
    (True, {'total': 3})
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")
JOB_TERMINAL = ("done", "failed", "cancelled")
MAX_ATTEMPTS = 3  # a job whose worker died is resumed this many times before it fails

JOB_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    attempt INTEGER NOT NULL DEFAULT 1,
    progress REAL NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    result TEXT,
    error TEXT,
    worker_id TEXT,
    worker_pid INTEGER,
    worker_host TEXT,
    heartbeat REAL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created);
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


class JobError(ValueError):
    """A job call that cannot be honoured: unknown job, bad status, a config that is not JSON."""


def job_id(kind: str, config: Mapping[str, Any]) -> str:
    """12 hex digits naming (kind, config): the same job submitted twice is one job."""
    try:
        text = json.dumps({"kind": kind, "config": config}, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise JobError(f"a {kind} job's config must be plain JSON (numbers, strings, lists, dicts): {e}") from e
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Job:
    """One row of the jobs table."""

    id: str
    kind: str
    config: dict[str, Any]
    status: str
    attempt: int
    progress: float
    note: str
    result: dict[str, Any] | None
    error: str | None
    worker_id: str | None
    worker_pid: int | None
    worker_host: str | None
    heartbeat: float | None
    created: float
    started: float | None
    finished: float | None
    cancel_requested: bool

    @property
    def done(self) -> bool:
        return self.status in JOB_TERMINAL

    @property
    def eta_s(self) -> float | None:
        if self.status != "running" or not self.started or self.progress <= 0:
            return None
        elapsed = (self.heartbeat or time.time()) - self.started
        return max(0.0, elapsed * (1 - self.progress) / self.progress)

    @classmethod
    def from_row(cls, r: Any) -> Job:
        try:
            config = json.loads(r["config"])
            result = json.loads(r["result"]) if r["result"] else None
        except ValueError as e:
            raise JobError(f"job {r['id']} in the store cannot be read ({e}); submit it again") from e
        return cls(r["id"], r["kind"], config, r["status"], r["attempt"], r["progress"], r["note"], result,
                   r["error"], r["worker_id"], r["worker_pid"], r["worker_host"], r["heartbeat"], r["created"],
                   r["started"], r["finished"], bool(r["cancel_requested"]))


@dataclass(frozen=True)
class Frame:
    seq: int
    attempt: int
    kind: str
    payload: dict[str, Any]
    created: float


class JobRows:
    """The job methods of `RunStore` (mixed in; they use its `_tx` and `_conn`)."""

    def submit_job(self, kind: str, config: Mapping[str, Any]) -> str:
        """Queue a job; returns its id. A failed or cancelled one is queued again as its next attempt."""
        jid = job_id(kind, config)
        with self._tx() as c:  # type: ignore[attr-defined]
            row = c.execute("SELECT status FROM jobs WHERE id=?", (jid,)).fetchone()
            if row is None:
                c.execute("INSERT INTO jobs (id, kind, config, created) VALUES (?,?,?,?)",
                          (jid, kind, json.dumps(dict(config), sort_keys=True), time.time()))
            elif row["status"] in ("failed", "cancelled"):
                c.execute("UPDATE jobs SET status='queued', attempt=attempt+1, error=NULL, finished=NULL, "
                          "cancel_requested=0, worker_id=NULL, worker_pid=NULL, created=? WHERE id=?",
                          (time.time(), jid))
        return jid

    def restore_job(self, job: str, kind: str, config: Mapping[str, Any], result: Mapping[str, Any], note: str,
                    worker_id: str, times: Mapping[str, float | None]) -> bool:
        """Insert a job that finished elsewhere (a result shipped with the app) as done, with its `result`
        and `times` (created, started, finished); False, and nothing changes, when the store has it."""
        if job_id(kind, config) != job:
            raise JobError(f"job {job} is not the id of its kind and config ({job_id(kind, config)}); it was altered")
        with self._tx() as c:  # type: ignore[attr-defined]
            cur = c.execute("INSERT OR IGNORE INTO jobs (id, kind, config, status, progress, note, result, worker_id, "
                            "created, started, finished) VALUES (?,?,?,'done',1.0,?,?,?,?,?,?)",
                            (job, kind, json.dumps(dict(config), sort_keys=True), note,
                             json.dumps(dict(result), default=_jsonable), worker_id, times["created"],
                             times["started"], times["finished"]))
            return cur.rowcount > 0

    def get_job(self, job: str) -> Job:
        row = self._conn().execute("SELECT * FROM jobs WHERE id=?", (job,)).fetchone()  # type: ignore[attr-defined]
        if row is None:
            raise JobError(f"no job {job!r} in the store; it may have been submitted to another data folder")
        return Job.from_row(row)

    def list_jobs(self, kind: str | None = None, status: str | None = None) -> list[Job]:
        q, args = "SELECT * FROM jobs WHERE 1=1", []
        if kind is not None:
            q, args = q + " AND kind=?", [*args, kind]
        if status is not None:
            q, args = q + " AND status=?", [*args, status]
        return [Job.from_row(r) for r in self._conn().execute(q + " ORDER BY created, id", args)]  # type: ignore

    def claim_job(self, worker_id: str, pid: int | None = None, job: str | None = None) -> Job | None:
        """Atomically take the oldest queued job (or the queued job `job`) for `worker_id`; None if none."""
        now = time.time()
        with self._tx() as c:  # type: ignore[attr-defined]
            if job is None:
                row = c.execute("SELECT id FROM jobs WHERE status='queued' ORDER BY created, id LIMIT 1").fetchone()
            else:
                row = c.execute("SELECT id FROM jobs WHERE status='queued' AND id=?", (job,)).fetchone()
            if row is None:
                return None
            c.execute("UPDATE jobs SET status='running', worker_id=?, worker_pid=?, worker_host=?, heartbeat=?, "
                      "started=COALESCE(started, ?) WHERE id=?",
                      (worker_id, pid if pid is not None else os.getpid(), socket.gethostname(), now, now, row["id"]))
        return self.get_job(row["id"])

    def job_heartbeat(self, job: str, worker_id: str, progress: float | None = None, note: str | None = None) -> bool:
        with self._tx() as c:  # type: ignore[attr-defined]
            cur = c.execute("UPDATE jobs SET heartbeat=?, progress=COALESCE(?, progress), note=COALESCE(?, note) "
                            "WHERE id=? AND status='running' AND worker_id=?",
                            (time.time(), progress, note, job, worker_id))
            return cur.rowcount > 0

    def emit_frame(self, job: str, kind: str, payload: Mapping[str, Any], worker_id: str) -> int:
        """Append a frame of the running job; returns its sequence number (0: the job is not ours)."""
        text = json.dumps(dict(payload), default=_jsonable)
        with self._tx() as c:  # type: ignore[attr-defined]
            row = c.execute("SELECT attempt, status, worker_id FROM jobs WHERE id=?", (job,)).fetchone()
            if row is None or row["status"] != "running" or row["worker_id"] != worker_id:
                return 0
            seq = c.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM frames WHERE job_id=?", (job,)).fetchone()[0]
            c.execute("INSERT INTO frames (job_id, seq, attempt, kind, payload, created) VALUES (?,?,?,?,?,?)",
                      (job, seq, row["attempt"], kind, text, time.time()))
            c.execute("UPDATE jobs SET heartbeat=? WHERE id=?", (time.time(), job))
        return int(seq)

    def frames(self, job: str, since: int = 0, kind: str | None = None) -> list[Frame]:
        """The job's frames after sequence number `since` (all attempts), oldest first."""
        q, args = "SELECT * FROM frames WHERE job_id=? AND seq>?", [job, since]
        if kind is not None:
            q, args = q + " AND kind=?", [*args, kind]
        return [Frame(r["seq"], r["attempt"], r["kind"], json.loads(r["payload"]), r["created"])
                for r in self._conn().execute(q + " ORDER BY seq", args)]  # type: ignore[attr-defined]

    def finish_job(self, job: str, status: str, result: Mapping[str, Any] | None = None, error: str | None = None,
                   worker_id: str | None = None) -> bool:
        """End a job once (False and nothing changes when it is not running for `worker_id`)."""
        if status not in JOB_TERMINAL:
            raise JobError(f"finish status {status!r} must be one of {JOB_TERMINAL}")
        with self._tx() as c:  # type: ignore[attr-defined]
            cur = c.execute("UPDATE jobs SET status=?, result=?, error=?, finished=?, heartbeat=?, "
                            "progress=CASE WHEN ?='done' THEN 1.0 ELSE progress END "
                            "WHERE id=? AND status IN ('running', 'queued') AND (? IS NULL OR worker_id=?)",
                            (status, json.dumps(dict(result), default=_jsonable) if result is not None else None,
                             error, time.time(), time.time(), status, job, worker_id, worker_id))
            return cur.rowcount > 0

    def request_cancel_job(self, job: str) -> str:
        self.get_job(job)
        with self._tx() as c:  # type: ignore[attr-defined]
            c.execute("UPDATE jobs SET status='cancelled', finished=? WHERE id=? AND status='queued'",
                      (time.time(), job))
            c.execute("UPDATE jobs SET cancel_requested=1 WHERE id=? AND status='running'", (job,))
        return self.get_job(job).status

    def job_should_stop(self, job: str, worker_id: str) -> bool:
        row = self._conn().execute("SELECT cancel_requested, status, worker_id FROM jobs WHERE id=?",  # type: ignore
                                   (job,)).fetchone()
        return row is None or bool(row["cancel_requested"]) or row["status"] != "running" \
            or row["worker_id"] != worker_id

    def reap_jobs(self, alive: Any, stale_after_s: float) -> list[str]:
        """Jobs whose worker died go back to the queue as their next attempt (the work folder keeps
        what they finished), or fail after `MAX_ATTEMPTS`. `alive(pid)` says whether a local pid lives."""
        now, host, out = time.time(), socket.gethostname(), []
        for j in self.list_jobs(status="running"):
            gone = j.worker_host == host and j.worker_pid is not None and not alive(j.worker_pid)
            if not (gone or j.heartbeat is None or now - j.heartbeat > stale_after_s):
                continue
            with self._tx() as c:  # type: ignore[attr-defined]
                if j.attempt < MAX_ATTEMPTS:
                    c.execute("UPDATE jobs SET status='queued', attempt=attempt+1, worker_id=NULL, worker_pid=NULL, "
                              "note=? WHERE id=? AND status='running'",
                              (f"its worker died; resuming (attempt {j.attempt + 1} of {MAX_ATTEMPTS})", j.id))
                else:
                    c.execute("UPDATE jobs SET status='failed', finished=?, error=? WHERE id=? AND status='running'",
                              (now, f"its worker died {MAX_ATTEMPTS} times; the frames so far are kept", j.id))
            out.append(j.id)
        return out


def _jsonable(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)
