"""Sweeps: K run configs trained as ONE batched job (`explorer.training.batched`) whose
variants are ordinary runs in the store, so the Train page draws them like any other.

- `why_not_batched(configs)`: None when the configs can share a job, else the reason.
- `execute_sweep(configs, sink, should_stop)`: `runner.execute` for K runs at once.
- `submit_sweep(configs, store)`: the local backend entry. It claims the runs in the
  store (status running, so the queue worker never takes them) and starts the worker
  process in batched mode (`python -m explorer.training.jobs.worker --runs ID,ID,...`), which
  trains them and writes metrics, heartbeats and final statuses; cancel any of them with
  `store.request_cancel` as usual. `RayBackend.submit_sweep` does the same on Ray.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from explorer import paths
from explorer.pruning.mask import Mask
from explorer.training.batched import BatchedError, train_batched
from explorer.training.jobs.lifecycle import Heartbeat, failure_message, spawn, stop_message

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
    """`why_not_batched`, checked up front so a page can offer (or explain) the batched option.
    BatchNorm trains batched (each variant its own running statistics) and op-level rewritten
    tickets train batched beside their own architecture (`architectures`), so only settings that
    differ stand in the way.

    >>> from explorer.training.config import RunConfig
    >>> batched_blocker([RunConfig(model="resnet_tiny", dataset="digits", seed=s) for s in (0, 1)]) is None
    True
    """
    return why_not_batched(configs)


def execute_sweep(configs: Sequence[Any], sink: Callable[[str, list[dict[str, Any]]], None] = lambda rid, rows: None,
                  should_stop: Callable[[str], bool] = lambda rid: False, *, checkpoint_root: Any = None,
                  on_start: Callable[[str, str, str], None] | None = None) -> list[Any]:
    """`runner.execute` for K runs at once: build each config's model, mask and init as the
    runner does (`explorer.training.roles.build`), train them batched, and return one
    `runner.RunResult` per config. `sink(run_id, rows)`, `should_stop(run_id)` and
    `on_start(run_id, device, torch_version)` are per run. Dense runs save their rewind
    checkpoints (step 0 and rewind_step) and `save_final` runs their last step, as the runner does. Raises BatchedError when the
    configs cannot share a job (see `why_not_batched`), or the runner's ValueErrors."""

    from explorer.data import load_dataset
    from explorer.training import roles
    from explorer.runtime import device as devices
    from explorer.training.runner import RunResult, check_outputs

    reason = why_not_batched(configs)
    if reason is not None:
        raise BatchedError(reason)
    c0, ids = configs[0], [c.run_id for c in configs]
    root = Path(checkpoint_root) if checkpoint_root is not None else paths.checkpoints()
    dev = devices.resolve(c0.device)
    dev_name = devices.describe(dev)
    for rid in ids:
        if on_start is not None:
            on_start(rid, dev_name, torch.__version__)
    starts = [roles.build(c, checkpoint_root=root) for c in configs]
    data = load_dataset(c0.dataset).reshaped(starts[0].info.input_shape)
    check_outputs(starts[0].model, data.x_train, data.n_classes, c0)
    results: list[Any] = [None] * len(configs)
    families = architectures(starts)
    t0 = time.perf_counter()
    for members in families:  # one vmapped job per architecture: dense + masks, then each rewritten graph
        res = _train_family([configs[k] for k in members], [starts[k] for k in members], data, root, dev, sink,
                            should_stop)
        for k, r in zip(members, res):
            results[k] = r
    wall = time.perf_counter() - t0
    out = []
    for c, st, r in zip(configs, starts, results):
        m = st.mask if st.mask is not None else Mask()
        n_params = sum(p.numel() for p in st.model.parameters())
        train, test = r.last("train"), r.last("test")
        final = {}
        if train:
            final.update(train_loss=train["loss"], train_acc=train["acc"])
        if test:
            final.update(test_loss=test["loss"], test_acc=test["acc"])
        how = f"batched job of {len(configs)} runs" + (f" in {len(families)} architectures" if len(families) > 1 else "")
        out.append(RunResult(
            run_id=c.run_id, status=r.status, steps_done=r.steps_done, device=dev_name, torch_version=torch.__version__,
            seed=c.seed, init_source=f"{st.source} ({how})", params=n_params,
            kept_params=n_params - (m.total - m.kept), sparsity=m.sparsity if st.mask is not None else 0.0,
            wall_time_s=wall, steps_per_s=r.steps_done / wall if wall > 0 else float("nan"), final=final,
            stop_reason=r.stop_reason, best_train_acc=r.best_train_acc,
            best_test_acc=max((x["acc"] for x in r.rows if x["split"] == "test"), default=float("nan"))))
    return out


def architectures(starts: Sequence[Any]) -> list[list[int]]:
    """Indices of the starts grouped by architecture (class, and generated code for a rewritten
    graph): the variants of one group share a vmapped job."""
    groups: dict[tuple, list[int]] = {}
    for k, st in enumerate(starts):
        key = (type(st.model), getattr(st.model, "code", None),
               tuple((n, tuple(p.shape)) for n, p in st.model.named_parameters()))
        groups.setdefault(key, []).append(k)
    return list(groups.values())


def _train_family(configs: Sequence[Any], starts: Sequence[Any], data: Any, root: Path, dev: Any,
                  sink: Callable[[str, list[dict[str, Any]]], None], should_stop: Callable[[str], bool]) -> list[Any]:
    from explorer.training.checkpoints import save_checkpoint

    c0, ids = configs[0], [c.run_id for c in configs]
    masks = [st.mask if st.mask is not None else Mask() for st in starts]
    states = [st.model.state_dict() for st in starts]
    dense = [k for k, c in enumerate(configs) if c.init == "dense"]
    snap_steps = {0} | {c.rewind_step for c in configs if c.init == "dense" and 0 < c.rewind_step <= c0.steps}

    def on_snapshot(step: int, sds: list[dict[str, torch.Tensor]]) -> None:
        for k in dense:
            if step in (0, configs[k].rewind_step):
                starts[k].model.load_state_dict(sds[k])
                save_checkpoint(starts[k].model, paths.checkpoint(root, ids[k], step))

    seeds = [c.data_seed for c in configs]
    res = train_batched(starts[0].model, masks, states, data, c0.optimizer, c0.lr, c0.steps, c0.batch_size,
                        c0.eval_every, lambda k, rows: sink(ids[k], rows), log_every=c0.log_every,
                        data_seed=seeds[0], data_seeds=None if len(set(seeds)) == 1 else seeds,
                        momentum=c0.momentum if c0.optimizer == "sgd" else 0.0, weight_decay=c0.weight_decay,
                        schedule=c0.schedule, device=dev, should_stop=lambda k: should_stop(ids[k]),
                        snapshot_steps=snap_steps if dense else (), on_snapshot=on_snapshot)
    for k, (c, r) in enumerate(zip(configs, res)):
        if c.save_final and r.status == "done":  # as the runner's checkpoint at the last step
            starts[k].model.load_state_dict(r.state_dict)
            save_checkpoint(starts[k].model, paths.checkpoint(root, ids[k], c.steps))
    return res


# ---------------------------------------------------------------------------------------
# The store side: claim runs for a job, run a claimed job, record its results.
# ---------------------------------------------------------------------------------------


def record_results(store: Any, results: Sequence[Any], worker_id: str | None = None) -> None:
    """Finish each run in the store with its RunResult (status, error line, summary)."""
    for r in results:
        store.finish(r.run_id, r.status, stop_message(r.status, r.steps_done, getattr(r, 'stop_reason', '')), summary=r.to_dict(),
                     worker_id=worker_id)


def run_claimed(store: Any, run_ids: Sequence[str], worker_id: str | None = None,
                should_stop: Callable[[], bool] | None = None) -> None:
    """Train the claimed runs `run_ids` as one batched job, writing everything to `store` as the
    worker that claimed them (`worker_id`, by default the one recorded on the runs), so a job that
    lost its runs (reaped while frozen) stops and changes nothing. `should_stop()` stops them all."""
    runs = [store.get(rid) for rid in run_ids]
    me = worker_id or runs[0].worker_id
    steps = runs[0].config.steps
    beat = Heartbeat(store, run_ids, me)

    def sink(rid: str, rows: list[dict[str, Any]]) -> None:
        store.log_metrics(rid, rows, me)
        step = max(r["step"] for r in rows)
        store.heartbeat(rid, step=step, progress=min(1.0, step / steps), worker_id=me)

    def stop(rid: str) -> bool:
        return store.should_stop(rid, me) or bool(should_stop and should_stop())

    beat.start()
    try:
        results = execute_sweep([r.config for r in runs], sink, stop, checkpoint_root=paths.checkpoints(store.dir),
                                on_start=store.set_started)
        record_results(store, results, me)
    except Exception as e:  # noqa: BLE001 - the whole job failed: every run says why
        for rid in run_ids:
            store.finish(rid, "failed", failure_message(e), worker_id=me)
    finally:
        beat.stopped.set()


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
    ids = store.claim_batch(configs, f"batched:{socket.gethostname()}:{os.getpid()}", os.getpid())
    if ids:
        p = spawn(store.dir, ["--runs", ",".join(ids)])
        _children.append(p)
        store.set_worker_pid(ids, p.pid)  # reap() now watches the job process itself
    return [c.run_id for c in configs]
