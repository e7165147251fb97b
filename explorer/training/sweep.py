"""Sweeps: K run configs trained as ONE batched job (`explorer.training.batched`) whose variants are
ordinary runs in the store, so the Train page draws them like any other. As a job it is the
`train.batch` kind (`explorer.training.kinds`), whose children are the runs.

- `why_not_batched(configs)`: None when the configs can share a job, else the reason.
- `execute_sweep(configs, sink, should_stop)`: `runner.execute` for K runs at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from explorer import paths
from explorer.pruning.mask import Mask
from explorer.training.batched import BatchedError, train_batched

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
