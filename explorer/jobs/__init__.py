"""Jobs: every piece of background work, one way. A training run, a batched sweep, a lottery experiment,
a prune, a playground run are jobs of kinds that register themselves beside their code; this package
imports no domain package.

- `store`     — `JobStore`: the one table and state machine (queued -> running -> done/failed/cancelled),
                attempts, metrics and frames per job, children, control, owner; the claim policy hook;
- `migrate`   — an older store file (runs and jobs in two tables) brought into the one table on open;
- `database`  — the SQLite file: connections, transactions, damage;
- `kinds`     — `@job_kind(name)`, the registry the decorator fills, and submissions naming the module;
- `context`   — `JobContext` (emit, log, progress, should_stop, control, workdir, child jobs) and `execute`;
- `worker`    — the one worker loop (`python -m explorer.jobs.worker`); `lifecycle` — its start and lock;
- `backends`  — `LocalBackend`, `InlineBackend`, `get_backend`; `ray_backend` — `RayBackend`;
- `follow`    — what a page needs to follow jobs: one frame cache and the change signature;
- `demo`      — two small kinds for tests and smoke checks.
"""
