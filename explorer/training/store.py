"""The run store: runs and their metrics in SQLite (WAL mode, `training.database`), shared by
the app, the CLI, the worker process and the Ray driver; background jobs live in the same
file (`training.job_store`).

`claim` is atomic (BEGIN IMMEDIATE), so two workers never run the same run. A run's end is
decided once: `finish`, `log_metrics` and `heartbeat` from a worker that no longer holds the
run (it was reaped as dead, then woke up) change nothing. Resubmitting a failed or cancelled
config queues a new *attempt* of the same run id; the metrics of earlier attempts are kept.

    >>> import tempfile
    >>> from explorer.training.config import RunConfig
    >>> s = RunStore(tempfile.mkdtemp())
    >>> rid = s.submit(RunConfig(model="mlp", steps=10))
    >>> s.get(rid).status
    'queued'
    >>> s.claim("w1").id == rid, s.get(rid).status
    (True, 'running')
    >>> s.log_metrics(rid, [{"step": 1, "split": "train", "loss": 2.3, "acc": 0.1, "wall_time": 0.01}], "w1")
    True
    >>> s.finish(rid, "done", worker_id="w2")  # not the worker that holds it: nothing changes
    False
    >>> s.finish(rid, "done", worker_id="w1"), s.get(rid).status, len(s.metrics(rid))
    (True, 'done', 1)
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer import paths
from explorer.training.config import RunConfig
from explorer.training.database import Database
from explorer.training.job_store import JOB_SCHEMA, JobRows

STATUSES = ("queued", "running", "done", "failed", "diverged", "cancelled")
TERMINAL = ("done", "failed", "diverged", "cancelled")
SPLITS = ("train", "test")
STALE_HEARTBEAT_S = 30.0  # a running run whose worker has not spoken for this long is dead


class StoreError(ValueError):
    """A store call that cannot be honoured: unknown run, bad status or split."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    grp TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'queued',
    device TEXT,
    torch_version TEXT,
    seed INTEGER,
    worker_id TEXT,
    worker_pid INTEGER,
    worker_host TEXT,
    heartbeat REAL,
    error TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    progress REAL NOT NULL DEFAULT 0,
    step INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    summary TEXT,
    attempt INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, created);
CREATE INDEX IF NOT EXISTS runs_group ON runs(grp, created);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    split TEXT NOT NULL,
    loss REAL,
    acc REAL,
    wall_time REAL,
    attempt INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, step);
"""
_MIGRATIONS = (("runs", "attempt", "INTEGER NOT NULL DEFAULT 1"), ("metrics", "attempt", "INTEGER NOT NULL DEFAULT 1"))


@dataclass(frozen=True)
class Run:
    """One row of the runs table, with its config parsed."""

    id: str
    config: RunConfig
    status: str
    device: str | None
    torch_version: str | None
    seed: int | None
    worker_id: str | None
    worker_pid: int | None
    worker_host: str | None
    heartbeat: float | None
    error: str | None
    created: float
    started: float | None
    finished: float | None
    progress: float  # 0..1
    step: int
    cancel_requested: bool
    summary: dict[str, Any] | None
    attempt: int = 1

    @property
    def group(self) -> str:
        return self.config.group

    @property
    def label(self) -> str:
        return self.config.name

    @property
    def eta_s(self) -> float | None:
        """Seconds left, extrapolated from the progress so far (None before any progress)."""
        if self.status != "running" or not self.started or self.progress <= 0:
            return None
        elapsed = (self.heartbeat or time.time()) - self.started
        return max(0.0, elapsed * (1 - self.progress) / self.progress)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> Run:
        try:
            config = RunConfig.from_json(r["config"])
            summary = json.loads(r["summary"]) if r["summary"] else None
        except ValueError as e:  # JSONDecodeError and ConfigError are ValueErrors
            raise StoreError(f"run {r['id']} in the store has a config or summary that cannot be read ({e}); "
                             f"delete it with `python -m explorer runs delete {r['id']}`") from e
        return cls(id=r["id"], config=config, status=r["status"], device=r["device"],
                   torch_version=r["torch_version"], seed=r["seed"], worker_id=r["worker_id"],
                   worker_pid=r["worker_pid"], worker_host=r["worker_host"], heartbeat=r["heartbeat"],
                   error=r["error"], created=r["created"], started=r["started"], finished=r["finished"],
                   progress=r["progress"], step=r["step"], cancel_requested=bool(r["cancel_requested"]),
                   summary=summary, attempt=r["attempt"])


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


class RunStore(JobRows):
    """The run store at `paths.runs_db(data_dir)`; see the module docstring. Raises
    `StoreDamaged` (with the way out) when the file cannot be read."""

    def __init__(self, data_dir_: str | Path | None = None, *, stale_after_s: float = STALE_HEARTBEAT_S):
        self.dir = paths.ensure_dir(data_dir_ if data_dir_ is not None else paths.data_dir())
        self.path = paths.runs_db(self.dir)
        self.stale_after_s = stale_after_s
        self.db = Database(self.path, _SCHEMA + JOB_SCHEMA, _MIGRATIONS)

    def _conn(self) -> sqlite3.Connection:
        return self.db.conn()

    def _tx(self, immediate: bool = True) -> Any:
        return self.db.transaction(immediate)

    def close(self) -> None:
        self.db.close()

    # ---- submitting and reading ----------------------------------------------------------
    def submit(self, config: RunConfig) -> str:
        """Queue `config`; returns its run id. Submitting a config that already has a run
        returns that run's id; a failed or cancelled one is queued again as its next attempt (the
        metrics of earlier attempts stay in the store, `metrics(run_id, attempt=k)`)."""
        rid = config.run_id
        with self._tx() as c:
            row = c.execute("SELECT status FROM runs WHERE id=?", (rid,)).fetchone()
            if row is None:
                c.execute("INSERT INTO runs (id, config, grp, label, status, seed, created) VALUES (?,?,?,?,?,?,?)",
                          (rid, config.to_json(), config.group, config.label, "queued", config.seed, time.time()))
            elif row["status"] in ("failed", "cancelled"):
                c.execute("UPDATE runs SET status='queued', error=NULL, started=NULL, finished=NULL, progress=0, "
                          "step=0, cancel_requested=0, worker_id=NULL, worker_pid=NULL, heartbeat=NULL, summary=NULL, "
                          "attempt=attempt+1, config=?, label=?, created=? WHERE id=?",
                          (config.to_json(), config.label, time.time(), rid))
        return rid

    def get(self, run_id: str) -> Run:
        row = self._conn().execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"no run {run_id!r} in {self.path}; list runs with `python -m explorer runs list`")
        return Run.from_row(row)

    def list_runs(self, group: str | None = None, status: str | None = None) -> list[Run]:
        """Runs in submission order, optionally only one group's or one status's."""
        q, args = "SELECT * FROM runs WHERE 1=1", []
        if group is not None:
            q, args = q + " AND grp=?", [*args, group]
        if status is not None:
            q, args = q + " AND status=?", [*args, status]
        return [Run.from_row(r) for r in self._conn().execute(q + " ORDER BY created, id", args)]

    def groups(self) -> list[str]:
        rows = self._conn().execute("SELECT grp, MIN(created) AS t FROM runs GROUP BY grp ORDER BY t")
        return [r["grp"] for r in rows]

    def group_roles(self) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        """Per group, oldest first: the inits (roles) and the models of its runs, read without parsing configs."""
        rows = self._conn().execute("SELECT grp, json_extract(config, '$.init') AS init, "
                                    "json_extract(config, '$.model') AS model FROM runs ORDER BY created, id")
        out: dict[str, tuple[set[str], set[str]]] = {}
        for r in rows:
            inits, models = out.setdefault(r["grp"], (set(), set()))
            inits.add(str(r["init"]))
            models.add(str(r["model"]))
        return {g: (frozenset(i), frozenset(m)) for g, (i, m) in out.items()}

    # ---- the worker's side ---------------------------------------------------------------
    def claim(self, worker_id: str, pid: int | None = None, run_id: str | None = None) -> Run | None:
        """Atomically take the oldest queued run (or the queued run `run_id`), mark it running
        for `worker_id`; None if there is none."""
        now = time.time()
        with self._tx() as c:
            if run_id is None:
                row = c.execute("SELECT id FROM runs WHERE status='queued' ORDER BY created, id LIMIT 1").fetchone()
            else:
                row = c.execute("SELECT id FROM runs WHERE status='queued' AND id=?", (run_id,)).fetchone()
            if row is None:
                return None
            c.execute("UPDATE runs SET status='running', worker_id=?, worker_pid=?, worker_host=?, heartbeat=?, "
                      "started=? WHERE id=?", (worker_id, pid if pid is not None else os.getpid(),
                                               socket.gethostname(), now, now, row["id"]))
        return self.get(row["id"])

    def set_started(self, run_id: str, device: str, torch_version: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE runs SET device=?, torch_version=?, heartbeat=? WHERE id=?",
                      (device, torch_version, time.time(), run_id))

    def heartbeat(self, run_id: str, step: int | None = None, progress: float | None = None,
                  worker_id: str | None = None) -> bool:
        """Say the run is alive (and how far); False when the run is no longer running for `worker_id`."""
        with self._tx() as c:
            cur = c.execute("UPDATE runs SET heartbeat=?, step=COALESCE(?, step), progress=COALESCE(?, progress) "
                            "WHERE id=? AND status='running' AND (? IS NULL OR worker_id=?)",
                            (time.time(), step, progress, run_id, worker_id, worker_id))
            return cur.rowcount > 0

    def log_metrics(self, run_id: str, rows: Iterable[Mapping[str, Any]], worker_id: str | None = None) -> bool:
        """Insert metric rows ({step, split, loss, acc, wall_time}) of the run's current attempt in one
        transaction, advancing its step and heartbeat. False (nothing written) when the run is not
        running for `worker_id` (given): a reaped worker that wakes up cannot add to it."""
        vals = []
        for r in rows:
            if r["split"] not in SPLITS:
                raise StoreError(f"metric split {r['split']!r} is not one of {SPLITS}")
            vals.append((run_id, int(r["step"]), r["split"], _num(r.get("loss")), _num(r.get("acc")),
                         _num(r.get("wall_time"))))
        if not vals:
            return True
        with self._tx() as c:
            row = c.execute("SELECT status, worker_id, attempt FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is None or (worker_id is not None and (row["status"] != "running" or row["worker_id"] != worker_id)):
                return False
            c.executemany("INSERT INTO metrics (run_id, step, split, loss, acc, wall_time, attempt) "
                          "VALUES (?,?,?,?,?,?,?)", [(*v, row["attempt"]) for v in vals])
            c.execute("UPDATE runs SET heartbeat=?, step=MAX(step, ?) WHERE id=?",
                      (time.time(), max(v[1] for v in vals), run_id))
        return True

    def finish(self, run_id: str, status: str, error: str | None = None,
               summary: Mapping[str, Any] | None = None, worker_id: str | None = None) -> bool:
        """End a running run with `status` (done, failed, diverged, cancelled). A run's end is decided
        once: False, and nothing changes, when it is not running (for `worker_id`, when given)."""
        if status not in TERMINAL:
            raise StoreError(f"finish status {status!r} must be one of {TERMINAL}")
        with self._tx() as c:
            progress = "1.0" if status == "done" else "progress"
            cur = c.execute(f"UPDATE runs SET status=?, error=?, finished=?, heartbeat=?, progress={progress}, "
                            "summary=COALESCE(?, summary) WHERE id=? AND status IN ('running', 'queued') "
                            "AND (? IS NULL OR worker_id=?)",
                            (status, error, time.time(), time.time(), json.dumps(dict(summary)) if summary else None,
                             run_id, worker_id, worker_id))
            return cur.rowcount > 0

    # ---- cancelling and reaping ----------------------------------------------------------
    def request_cancel(self, run_id: str) -> str:
        """Cancel a run: a queued one at once, a running one at its worker's next check.
        Returns the run's status after the request."""
        self.get(run_id)
        with self._tx() as c:
            c.execute("UPDATE runs SET status='cancelled', finished=? WHERE id=? AND status='queued'",
                      (time.time(), run_id))
            c.execute("UPDATE runs SET cancel_requested=1 WHERE id=? AND status='running'", (run_id,))
        return self.get(run_id).status

    def is_cancel_requested(self, run_id: str) -> bool:
        row = self._conn().execute("SELECT cancel_requested FROM runs WHERE id=?", (run_id,)).fetchone()
        return bool(row and row["cancel_requested"])

    def should_stop(self, run_id: str, worker_id: str) -> bool:
        """A worker's stop check: cancel requested, or the run is no longer its own (reaped meanwhile)."""
        row = self._conn().execute("SELECT cancel_requested, status, worker_id FROM runs WHERE id=?",
                                   (run_id,)).fetchone()
        return row is None or bool(row["cancel_requested"]) or row["status"] != "running" \
            or row["worker_id"] != worker_id

    def reap(self) -> list[str]:
        """Mark running runs whose worker is dead (pid gone on this host) or silent for
        `stale_after_s` as failed ("worker died"), keeping their metrics. Returns their ids."""
        now, host, dead = time.time(), socket.gethostname(), []
        for r in self.list_runs(status="running"):
            gone = r.worker_host == host and r.worker_pid is not None and not pid_alive(r.worker_pid)
            stale = r.heartbeat is None or now - r.heartbeat > self.stale_after_s
            if gone or stale:
                dead.append(r.id)
        for rid in dead:
            with self._tx() as c:
                c.execute("UPDATE runs SET status='failed', error=?, finished=? WHERE id=? AND status='running'",
                          ("worker died (process gone or heartbeat stale); metrics up to then are kept",
                           now, rid))
        return dead + self.reap_jobs(pid_alive, self.stale_after_s)

    # ---- metrics ---------------------------------------------------------------------------
    def metrics(self, run_id: str, since_step: int | None = None, split: str | None = None,
                attempt: int | None = None) -> list[dict[str, Any]]:
        """Metric rows of a run's current attempt (or of `attempt`) ordered by step (then split),
        optionally only those after `since_step`."""
        q = ("SELECT step, split, loss, acc, wall_time FROM metrics WHERE run_id=? AND attempt="
             + ("?" if attempt is not None else "(SELECT attempt FROM runs WHERE id=metrics.run_id)"))
        args: list[Any] = [run_id] + ([attempt] if attempt is not None else [])
        if since_step is not None:
            q, args = q + " AND step>?", [*args, since_step]
        if split is not None:
            q, args = q + " AND split=?", [*args, split]
        return [dict(r) for r in self._conn().execute(q + " ORDER BY step, split, rowid", args)]

    def delete(self, run_id: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM metrics WHERE run_id=?", (run_id,))
            c.execute("DELETE FROM runs WHERE id=?", (run_id,))

    def checkpoint_dir(self, run_id: str) -> Path:
        return paths.checkpoints(self.dir) / run_id

    # ---- batched jobs ----------------------------------------------------------------------
    def claim_batch(self, configs: Iterable[RunConfig], worker_id: str, pid: int) -> list[str]:
        """In ONE transaction, put each config in the store as a running run of `worker_id`/`pid`
        (new, or queued/failed/cancelled ones as their next attempt, as `submit` does);
        runs already running or finished are left alone. Returns the ids claimed. One
        transaction, so the local worker never claims one of them in between."""
        now, host, claimed = time.time(), socket.gethostname(), []  # created += i µs keeps submission order
        with self._tx() as c:
            for i, cfg in enumerate(configs):
                rid = cfg.run_id
                row = c.execute("SELECT status FROM runs WHERE id=?", (rid,)).fetchone()
                if row is None:
                    c.execute("INSERT INTO runs (id, config, grp, label, status, seed, created) VALUES (?,?,?,?,?,?,?)",
                              (rid, cfg.to_json(), cfg.group, cfg.label, "queued", cfg.seed, now + i * 1e-6))
                elif row["status"] in ("failed", "cancelled"):
                    c.execute("UPDATE runs SET created=?, attempt=attempt+1 WHERE id=?", (now + i * 1e-6, rid))
                elif row["status"] == "queued":
                    c.execute("UPDATE runs SET created=? WHERE id=?", (now + i * 1e-6, rid))
                else:
                    continue
                c.execute("UPDATE runs SET status='running', worker_id=?, worker_pid=?, worker_host=?, heartbeat=?, "
                          "started=?, finished=NULL, error=NULL, progress=0, step=0, cancel_requested=0, "
                          "summary=NULL, config=?, label=? WHERE id=?",
                          (worker_id, pid, host, now, now, cfg.to_json(), cfg.label, rid))
                claimed.append(rid)
        return claimed

    def set_worker_pid(self, run_ids: Iterable[str], pid: int) -> None:
        """The process now running these (claimed) runs: `reap` watches it."""
        with self._tx() as c:
            c.executemany("UPDATE runs SET worker_pid=?, heartbeat=? WHERE id=? AND status='running'",
                          [(pid, time.time(), rid) for rid in run_ids])


def _num(v: Any) -> float | None:
    return None if v is None else float(v)
