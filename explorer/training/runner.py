"""`execute(config, sink, should_stop)`: one run, start to finish, as a pure library call.

It builds the model (with mask and init), the data, the optimiser and schedule, and runs
the loop with its callbacks, handing metric rows to `sink(rows)`. No SQLite here: the
`train` job kind (`explorer.training.kinds`) adapts `sink` and `should_stop` to its job's context.

    >>> from explorer.training.config import RunConfig
    >>> rows = []
    >>> r = execute(RunConfig(model="moons_mlp", dataset="moons", steps=20, eval_every=10, device="cpu"), rows.extend)
    >>> r.status, r.steps_done, sorted({row["split"] for row in rows})
    ('done', 20, ['test', 'train'])
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer import paths
from explorer.data import Batches, DataError, load_dataset
from explorer.training import roles
from explorer.runtime import device as devices
from explorer.training.callbacks import CancelCheck, Divergence, Evaluate, MaskCallback, MetricWriter, RewindCheckpoints, TrainMetrics
from explorer.training.config import RunConfig
from explorer.training.loop import Callback, train
from explorer.training.optim import make_optimizer, make_schedule

Sink = Callable[[Sequence[dict[str, Any]]], None]
STOP_MESSAGES = {"diverged": "{why} at step {step}; lower the learning rate", "cancelled": "cancelled by request"}


def stop_message(status: str, steps_done: int, why: str = "") -> str | None:
    """The error line of a run that stopped early ('diverged', 'cancelled'); None for 'done'.

    >>> stop_message("diverged", 12), stop_message("done", 40)
    ('loss became NaN/inf at step 12; lower the learning rate', None)
    """
    msg = STOP_MESSAGES.get(status)
    return msg.format(step=steps_done, why=why or "loss became NaN/inf") if msg else None


@dataclass
class RunResult:
    """How a run ended and its headline numbers (also stored as the run's summary)."""

    run_id: str
    status: str  # done | diverged | cancelled
    steps_done: int
    device: str
    torch_version: str
    seed: int
    init_source: str
    params: int
    kept_params: int  # parameters not masked out
    sparsity: float  # of the masked tensors (0 for dense)
    wall_time_s: float
    steps_per_s: float  # training steps per second, evaluation included
    final: dict[str, float] = field(default_factory=dict)  # train_loss, train_acc, test_loss, test_acc
    best_train_acc: float = float("nan")
    best_test_acc: float = float("nan")
    stop_reason: str = ""  # why a run stopped early ("loss rose to ...", "loss became NaN/inf")

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        """Back from `to_dict` (a run's stored summary); unknown keys are ignored, None floats are NaN."""
        names = {f.name: f for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("best_train_acc", "best_test_acc", "steps_per_s", "wall_time_s", "sparsity"):
            if k in kw and kw[k] is None:
                kw[k] = float("nan")
        return cls(**kw)


def check_outputs(model: nn.Module, x: torch.Tensor, n_classes: int, config: RunConfig) -> None:
    with torch.no_grad():
        out = model.eval()(x[:2])
    if out.dim() != 2 or out.shape[1] < n_classes:
        raise DataError(f"model {config.model!r} outputs shape {tuple(out.shape)} but dataset {config.dataset!r} "
                        f"has {n_classes} classes; the model must output (batch, >= {n_classes}) logits — "
                        "pick the model's default dataset or a model with that many outputs")


def checkpoint_steps(c: RunConfig) -> set[int]:
    """The steps whose weights a run saves: a dense run its init and `rewind_step` (what tickets
    rewind to), any run with `save_final` its last step (what the next IMP round prunes).

    >>> sorted(checkpoint_steps(RunConfig(steps=50, rewind_step=10))), sorted(checkpoint_steps(
    ...     RunConfig(init="ticket", pruned_dir="m", steps=50, save_final=True)))
    ([0, 10], [50])
    """
    keep = {0} | ({c.rewind_step} if 0 < c.rewind_step <= c.steps else set()) if c.init == "dense" else set()
    return keep | ({c.steps} if c.save_final else set())


def execute(config: RunConfig, sink: Sink = lambda rows: None, should_stop: Callable[[], bool] = lambda: False, *,
            checkpoint_root: str | Path | None = None,
            on_start: Callable[[str, str], None] | None = None,
            extra_callbacks: Sequence[Callback] = ()) -> RunResult:
    """Train `config` to the end (or until it diverges or `should_stop()` turns true).

    sink: receives lists of metric rows {step, split: train|test, loss, acc, wall_time}.
    checkpoint_root: where rewind checkpoints live (default: <data dir>/checkpoints).
    on_start(device, torch_version): called once the device is chosen, before training.
    Raises ValueError subclasses (ConfigError, DataError, InitError, RewindError, MaskError, DeviceError,
    ModelSpecError) naming what is wrong and the fix.
    """
    c = config
    root = Path(checkpoint_root) if checkpoint_root is not None else paths.checkpoints()
    dev = devices.resolve(c.device)
    dev_name = devices.describe(dev)
    if on_start is not None:
        on_start(dev_name, torch.__version__)

    start = roles.build(c, checkpoint_root=root)
    data = load_dataset(c.dataset).reshaped(start.info.input_shape)
    model = start.model.to(dev)
    data = data.to(dev)
    check_outputs(model, data.x_train, data.n_classes, c)

    torch.manual_seed(c.seed)  # dropout and any other randomness inside the model
    opt = make_optimizer(c.optimizer, [p for p in model.parameters() if p.requires_grad], c.lr,
                         momentum=c.momentum, weight_decay=c.weight_decay)
    sched = make_schedule(opt, c.schedule, c.steps)
    batches = Batches(data.x_train, data.y_train, c.batch_size, c.data_seed)
    train_metrics = TrainMetrics(c.log_every)
    evaluate = Evaluate(data.x_test, data.y_test, c.eval_every)
    cbs: list[Callback] = []
    if start.mask is not None:
        cbs.append(MaskCallback(start.mask, model))
    cbs += [train_metrics, Divergence(), evaluate]
    keep = checkpoint_steps(c)
    if keep:
        cbs.append(RewindCheckpoints(keep, lambda k: paths.checkpoint(root, c.run_id, k)))
    cbs += [*extra_callbacks, CancelCheck(should_stop), MetricWriter(sink)]

    t0 = time.perf_counter()
    s = train(model, opt, batches, c.steps, cbs, scheduler=sched)
    wall = time.perf_counter() - t0

    final = {}
    if train_metrics.last:
        final.update(train_loss=train_metrics.last["loss"], train_acc=train_metrics.last["acc"])
    if evaluate.history:
        final.update(test_loss=evaluate.history[-1]["loss"], test_acc=evaluate.history[-1]["acc"])
    n_params = sum(p.numel() for p in model.parameters())
    masked = start.mask.total - start.mask.kept if start.mask is not None else 0
    return RunResult(
        run_id=c.run_id, status=s.stop or "done", steps_done=s.step, device=dev_name, torch_version=torch.__version__,
        seed=c.seed, init_source=start.source, params=n_params, kept_params=n_params - masked,
        sparsity=start.mask.sparsity if start.mask is not None else 0.0, wall_time_s=wall,
        steps_per_s=s.step / wall if wall > 0 else float("nan"), final=final,
        stop_reason=s.extra.get("stop_reason", ""), best_train_acc=train_metrics.best_acc, best_test_acc=max(
            (r["acc"] for r in evaluate.history), default=float("nan")))

