"""Sweeps: K run configs trained as ONE batched job (`explorer.training.batched`) whose
variants are ordinary runs in the store, so the Train page draws them like any other.

- `why_not_batched(configs)`: None when the configs can share a job, else the reason.
- `execute_sweep(configs, sink, should_stop)`: `runner.execute` for K runs at once.
- `submit_sweep(configs, store)`: the local backend entry. It claims the runs in the
  store (status running, so the ordinary worker never takes them) and starts a niced
  one-thread process `python -m explorer.training.sweep --runs ID,ID,...` that trains
  them and writes metrics, heartbeats and final statuses; cancel any of them with
  `store.request_cancel` as usual. `RayBackend.submit_sweep` does the same on Ray.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from explorer.mask import Mask
from explorer.training.batched import BatchedError, train_batched

HEARTBEAT_S = 2.0

# What the runs of one batched job must share (init, seed, pruned_dir, data_seed, group
# and label may differ: those are what a sweep sweeps).
SHARED_FIELDS = ("model", "dataset", "optimizer", "lr", "momentum", "weight_decay", "schedule", "steps",
                 "batch_size", "eval_every", "log_every", "device")


def why_not_batched(configs: Sequence[Any]) -> str | None:
    """None when `configs` (RunConfigs) can train as one batched job, else the reason.

    >>> from explorer.training.config import RunConfig
    >>> why_not_batched([RunConfig(seed=0), RunConfig(seed=1)]) is None
    True
    >>> why_not_batched([RunConfig(lr=1e-3), RunConfig(lr=1e-2)])
    'runs differ in lr (0.001 vs 0.01); a batched job shares model, dataset, optimiser and schedule'
    """
    if not configs:
        return "no runs given"
    c0 = configs[0]
    for c in configs[1:]:
        for f in SHARED_FIELDS:
            if getattr(c, f) != getattr(c0, f):
                return (f"runs differ in {f} ({getattr(c0, f)!r} vs {getattr(c, f)!r}); a batched job shares "
                        "model, dataset, optimiser and schedule")
    if len({c.run_id for c in configs}) < len(configs):
        return "the same run appears twice; give each config once"
    return None


def batched_blocker(configs: Sequence[Any]) -> str | None:
    """`why_not_batched` plus what only building the models would reveal, checked up front
    so a page can offer (or grey out) the batched option: buffers (BatchNorm) and op-level
    graph rewrites (the pruned network is then a different architecture from the dense one).

    >>> from explorer.training.config import RunConfig
    >>> batched_blocker([RunConfig(model="mlp", seed=0), RunConfig(model="mlp", seed=1)]) is None
    True
    >>> batched_blocker([RunConfig(model="resnet_tiny", dataset="digits", seed=s) for s in (0, 1)])
    'resnet_tiny has buffers (BatchNorm running statistics); train its runs one by one'
    """
    import json

    reason = why_not_batched(configs)
    if reason is not None:
        return reason
    from explorer.zoo import load

    try:
        model = load(configs[0].model).model
    except ValueError as e:
        return str(e)
    if any(True for _ in model.named_buffers()):
        return f"{configs[0].model} has buffers (BatchNorm running statistics); train its runs one by one"
    for c in configs:
        spec = Path(c.pruned_dir) / "spec.json" if c.pruned_dir else None
        if spec is not None and spec.is_file() and json.loads(spec.read_text()).get("rewrites"):
            return "the pruned network removes ops (an op-level rewrite), so it is not the dense architecture"
    return None


def execute_sweep(configs: Sequence[Any], sink: Callable[[str, list[dict[str, Any]]], None] = lambda rid, rows: None,
                  should_stop: Callable[[str], bool] = lambda rid: False, *, checkpoint_root: Any = None,
                  on_start: Callable[[str, str, str], None] | None = None) -> list[Any]:
    """`runner.execute` for K runs at once: build each config's model, mask and init as the
    runner does (`explorer.training.init.build`), train them batched, and return one
    `runner.RunResult` per config. `sink(run_id, rows)`, `should_stop(run_id)` and
    `on_start(run_id, device, torch_version)` are per run. Dense runs save their rewind
    checkpoints (step 0 and rewind_step) as the runner does. Raises BatchedError when the
    configs cannot share a job (see `why_not_batched`), or the runner's ValueErrors."""

    from explorer.data import load_dataset
    from explorer.training import device as devices
    from explorer.training import init as inits
    from explorer.training.runner import RunResult, _check_outputs
    from explorer.training.store import data_dir

    reason = why_not_batched(configs)
    if reason is not None:
        raise BatchedError(reason)
    c0, ids = configs[0], [c.run_id for c in configs]
    root = Path(checkpoint_root) if checkpoint_root is not None else data_dir() / "checkpoints"
    dev = devices.resolve(c0.device)
    dev_name = devices.describe(dev)
    for rid in ids:
        if on_start is not None:
            on_start(rid, dev_name, torch.__version__)
    starts = [inits.build(c, checkpoint_root=root) for c in configs]
    for c, st in zip(configs, starts):
        if type(st.model) is not type(starts[0].model):
            raise BatchedError(f"run {c.run_id} builds a {type(st.model).__name__}, run {ids[0]} a "
                               f"{type(starts[0].model).__name__}: a batched job needs one architecture")
    data = load_dataset(c0.dataset).reshaped(starts[0].info.input_shape)
    _check_outputs(starts[0].model, data.x_train, data.n_classes, c0)
    masks = [st.mask if st.mask is not None else Mask() for st in starts]
    states = [st.model.state_dict() for st in starts]
    dense = [k for k, c in enumerate(configs) if c.init == "dense"]
    snap_steps = {0} | {c.rewind_step for c in configs if c.init == "dense" and 0 < c.rewind_step <= c0.steps}

    def on_snapshot(step: int, sds: list[dict[str, torch.Tensor]]) -> None:
        from explorer.training.init import checkpoint_path, save_checkpoint

        for k in dense:
            if step in (0, configs[k].rewind_step):
                starts[k].model.load_state_dict(sds[k])
                save_checkpoint(starts[k].model, checkpoint_path(root, ids[k], step))

    seeds = [c.data_seed for c in configs]
    t0 = time.perf_counter()
    res = train_batched(starts[0].model, masks, states, data, c0.optimizer, c0.lr, c0.steps, c0.batch_size,
                        c0.eval_every, lambda k, rows: sink(ids[k], rows), log_every=c0.log_every,
                        data_seed=seeds[0], data_seeds=None if len(set(seeds)) == 1 else seeds,
                        momentum=c0.momentum if c0.optimizer == "sgd" else 0.0, weight_decay=c0.weight_decay,
                        schedule=c0.schedule, device=dev, should_stop=lambda k: should_stop(ids[k]),
                        snapshot_steps=snap_steps if dense else (), on_snapshot=on_snapshot)
    wall = time.perf_counter() - t0
    n_params = sum(p.numel() for p in starts[0].model.parameters())
    out = []
    for c, st, m, r in zip(configs, starts, masks, res):
        train, test = r.last("train"), r.last("test")
        final = {}
        if train:
            final.update(train_loss=train["loss"], train_acc=train["acc"])
        if test:
            final.update(test_loss=test["loss"], test_acc=test["acc"])
        out.append(RunResult(
            run_id=c.run_id, status=r.status, steps_done=r.steps_done, device=dev_name, torch_version=torch.__version__,
            seed=c.seed, init_source=f"{st.source} (batched job of {len(configs)} runs)", params=n_params,
            kept_params=n_params - (m.total - m.kept), sparsity=m.sparsity if st.mask is not None else 0.0,
            wall_time_s=wall, steps_per_s=r.steps_done / wall if wall > 0 else float("nan"), final=final,
            best_train_acc=r.best_train_acc,
            best_test_acc=max((x["acc"] for x in r.rows if x["split"] == "test"), default=float("nan"))))
    return out


# ---------------------------------------------------------------------------------------
# The store side: claim runs for a job, run a claimed job, record its results.
# ---------------------------------------------------------------------------------------


def claim_runs(store: Any, configs: Sequence[Any], worker_id: str, pid: int) -> list[str]:
    """In ONE store transaction, put each config in the store as a running run of
    `worker_id`/`pid` (new, or queued/failed/cancelled ones requeued with old metrics
    dropped, as `RunStore.submit` does); runs already running or finished are left alone.
    Returns the ids claimed. One transaction, so the local worker never claims a run in
    between. (Uses the store's transaction helper: `RunStore` has no claim-by-id.)"""
    now, host, claimed = time.time(), socket.gethostname(), []  # created += i µs keeps submission order
    with store._tx() as c:
        for i, cfg in enumerate(configs):
            rid = cfg.run_id
            row = c.execute("SELECT status FROM runs WHERE id=?", (rid,)).fetchone()
            if row is None:
                c.execute("INSERT INTO runs (id, config, grp, label, status, seed, created) VALUES (?,?,?,?,?,?,?)",
                          (rid, cfg.to_json(), cfg.group, cfg.label, "queued", cfg.seed, now + i * 1e-6))
            elif row["status"] in ("queued", "failed", "cancelled"):
                c.execute("DELETE FROM metrics WHERE run_id=?", (rid,))
                c.execute("UPDATE runs SET created=? WHERE id=?", (now + i * 1e-6, rid))
            else:
                continue
            c.execute("UPDATE runs SET status='running', worker_id=?, worker_pid=?, worker_host=?, heartbeat=?, "
                      "started=?, finished=NULL, error=NULL, progress=0, step=0, cancel_requested=0, summary=NULL, "
                      "config=?, label=? WHERE id=?",
                      (worker_id, pid, host, now, now, cfg.to_json(), cfg.label, rid))
            claimed.append(rid)
    return claimed


def _set_worker_pid(store: Any, run_ids: Sequence[str], pid: int) -> None:
    with store._tx() as c:
        c.executemany("UPDATE runs SET worker_pid=?, heartbeat=? WHERE id=? AND status='running'",
                      [(pid, time.time(), rid) for rid in run_ids])


STOP_MESSAGES = {"diverged": "loss became NaN/inf at step {step}; lower the learning rate",
                 "cancelled": "cancelled by request"}


def record_results(store: Any, results: Sequence[Any]) -> None:
    """Finish each run in the store with its RunResult (status, error line, summary)."""
    for r in results:
        msg = STOP_MESSAGES.get(r.status)
        store.finish(r.run_id, r.status, msg.format(step=r.steps_done) if msg else None, summary=r.to_dict())


def failure_message(e: BaseException) -> str:
    msg = f"{type(e).__name__}: {e}"
    if not isinstance(e, ValueError):  # library errors carry their own message; others need the trace
        msg += "\n" + "".join(traceback.format_exception(e, limit=5))
    return msg


def run_claimed(store: Any, run_ids: Sequence[str]) -> None:
    """Train the claimed runs `run_ids` as one batched job, writing everything to `store`."""
    runs = [store.get(rid) for rid in run_ids]
    steps = runs[0].config.steps
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_S):
            for rid in run_ids:
                try:
                    store.heartbeat(rid)
                except Exception:  # a busy database must not kill the job; the next beat retries
                    pass

    def sink(rid: str, rows: list[dict[str, Any]]) -> None:
        store.log_metrics(rid, rows)
        step = max(r["step"] for r in rows)
        store.heartbeat(rid, step=step, progress=min(1.0, step / steps))

    threading.Thread(target=beat, daemon=True).start()
    try:
        results = execute_sweep([r.config for r in runs], sink, store.is_cancel_requested,
                                checkpoint_root=store.dir / "checkpoints", on_start=store.set_started)
        record_results(store, results)
    except Exception as e:  # the whole job failed: every run says why
        for rid in run_ids:
            store.finish(rid, "failed", failure_message(e))
    finally:
        done.set()


_children: list[subprocess.Popen[bytes]] = []


def submit_sweep(configs: Sequence[Any], store: Any = None) -> list[str]:
    """Local backend entry: run `configs` as one batched job in a new worker process.
    Returns the run ids in order (runs already running or finished are not re-run).
    Raises BatchedError when they cannot share a job (train them run by run instead)."""
    from explorer.training.store import RunStore

    reason = why_not_batched(configs)
    if reason is not None:
        raise BatchedError(reason)
    store = store or RunStore()
    for p in list(_children):  # collect finished jobs so they do not linger as zombies
        if p.poll() is not None:
            _children.remove(p)
    ids = claim_runs(store, configs, f"batched:{socket.gethostname()}:{os.getpid()}", os.getpid())
    if ids:
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "EXPLORER_DATA_DIR": str(store.dir),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        with open(store.dir / "worker.log", "ab") as log:
            p = subprocess.Popen([sys.executable, "-m", "explorer.training.sweep", "--data-dir", str(store.dir),
                                  "--runs", ",".join(ids)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 env=env, start_new_session=True)
        _children.append(p)
        _set_worker_pid(store, ids, p.pid)  # reap() now watches the job process itself
    return [c.run_id for c in configs]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m explorer.training.sweep", description=__doc__)
    ap.add_argument("--data-dir", default=os.environ.get("EXPLORER_DATA_DIR", "./data"))
    ap.add_argument("--runs", required=True, help="comma-separated ids of runs claimed for this job")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (keep 1 beside the UI)")
    ap.add_argument("--nice", type=int, default=10, help="niceness increment")
    a = ap.parse_args(argv)
    if a.nice:
        os.nice(a.nice)
    torch.set_num_threads(max(1, a.threads))
    from explorer.training.store import RunStore

    store = RunStore(a.data_dir)
    ids = [r for r in a.runs.split(",") if r]
    _set_worker_pid(store, ids, os.getpid())
    ids = [r for r in ids if store.get(r).status == "running"]  # cancelled meanwhile: nothing to do
    if ids:
        run_claimed(store, ids)
    return 0


if __name__ == "__main__":
    sys.exit(main())
