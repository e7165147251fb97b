"""Jobs: where runs and background jobs execute. The store is the shared truth; these keep work moving.

- `backend`     — the `Backend` interface, `LocalBackend` (store + on-demand worker), `get_backend`;
- `worker`      — the worker process: the queue loop (runs, then jobs), or one batched job (`--runs`);
- `sweep`       — K configs trained as one batched job (`training.batched`), each its own run;
- `ray_backend` — the same interface on Ray (a local instance, or `RAY_ADDRESS`);
- `registry`    — the kinds of background job (`JOB_KINDS`: kind -> "module:function");
- `context`     — `JobContext` (frames, progress, stop check, work folder, `train`) and `run_inline`;
- `lifecycle`   — what every job process shares: its start, heartbeat and end messages.
"""
