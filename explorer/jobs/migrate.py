"""Bring a store file written before the one job table up to date, once, on open.

Before, runs and background jobs lived in two tables with mirrored columns (`runs` + `metrics.run_id`,
and `jobs`); now every one is a row of `jobs` (`explorer.jobs.store`). The migration runs inside one
write transaction (a second process opening the file meanwhile waits, then finds it done): every run
becomes a job of kind `train` (its config, group, label, seed, device, status — `diverged` included —,
attempt and summary as its result, one attempt allowed as before), every job keeps its columns, and
metrics and frames keep their rows, ids and attempts.

`LEGACY_MODULES` says where the kinds of that time are registered now, so that a job queued before
the change still runs after it (a record of the old kinds, not a registry: new kinds register
themselves, `explorer.jobs.kinds`).
"""

from __future__ import annotations

import sqlite3

LEGACY_MODULES = {
    "train": "explorer.training.kinds",
    "prune": "explorer.pruning.job",
    "demo.count": "explorer.jobs.demo",
    "demo.gated": "explorer.jobs.demo",
    "lottery.imp": "explorer.lottery.kinds",
    "lottery.sweep": "explorer.lottery.kinds",
    "lottery.transfer": "explorer.lottery.kinds",
    "lottery.stability": "explorer.lottery.kinds",
    "lottery.earlybird": "explorer.lottery.kinds",
    "propagation.spectra": "explorer.propagation.kinds",
    "propagation.depth": "explorer.propagation.kinds",
    "propagation.grid": "explorer.propagation.kinds",
    "playground": "explorer.playground.job",
}
RUN_ATTEMPTS, JOB_ATTEMPTS = 1, 3  # a run whose worker died failed at once; a job was resumed up to 3 times
_COMMON = ("status, attempt, progress, error, worker_id, worker_pid, worker_host, heartbeat, created, started, finished, "
           "cancel_requested")


def _tables(c: sqlite3.Connection) -> set[str]:
    return {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def migrate(c: sqlite3.Connection, schema: str) -> bool:
    """Move an older file's `runs` and `jobs` tables into the one `jobs` table of `schema`; True when it did."""
    if "runs" not in _tables(c):
        return False
    for table in ("runs", "metrics"):  # a file older still: before attempts were counted
        if "attempt" not in {r[1] for r in c.execute(f"PRAGMA table_info({table})")}:
            c.execute(f"ALTER TABLE {table} ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1")
    c.execute("ALTER TABLE runs RENAME TO runs_before")
    c.execute("ALTER TABLE metrics RENAME TO metrics_before")
    had_jobs = "jobs" in _tables(c)
    if had_jobs:
        c.execute("ALTER TABLE jobs RENAME TO jobs_before")
    for statement in schema.split(";"):
        if statement.strip():
            c.execute(statement)
    c.execute(f"INSERT INTO jobs (id, kind, module, config, grp, label, seed, device, torch_version, step, result, "
              f"max_attempts, {_COMMON}) SELECT id, 'train', ?, config, grp, label, seed, device, torch_version, step, "
              f"summary, ?, {_COMMON} FROM runs_before", (LEGACY_MODULES["train"], RUN_ATTEMPTS))
    if had_jobs:
        c.execute(f"INSERT INTO jobs (id, kind, module, config, note, result, max_attempts, {_COMMON}) "
                  f"SELECT id, kind, '', config, note, result, ?, {_COMMON} FROM jobs_before", (JOB_ATTEMPTS,))
        c.executemany("UPDATE jobs SET module=? WHERE kind=? AND module=''", [(m, k) for k, m in LEGACY_MODULES.items()])
    c.execute("INSERT INTO metrics (job_id, step, split, loss, acc, wall_time, attempt) "
              "SELECT run_id, step, split, loss, acc, wall_time, attempt FROM metrics_before ORDER BY rowid")
    for t in ("runs_before", "metrics_before", "jobs_before"):
        c.execute(f"DROP TABLE IF EXISTS {t}")
    return True
