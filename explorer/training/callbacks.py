"""The loop's features, one callback each (see explorer.training.loop).

Order matters and `runner.execute` fixes it: re-apply the mask first (so every later
callback sees pruned weights held at zero), then train metrics and the divergence check,
evaluation, rewind checkpoints, the cancel check, and last the writer that hands the
metric rows to the sink.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer.pruning.mask import Mask
from explorer.training.checkpoints import save_checkpoint
from explorer.training.loop import Callback, LoopState


class MaskCallback(Callback):
    """Hold pruned weights at zero: multiply the mask in after every optimiser step."""

    def __init__(self, mask: Mask, model: nn.Module):
        mask.check(model)
        params = dict(model.named_parameters())
        self.params = [params[k] for k in mask]
        self.masks = [mask[k].to(params[k].device, params[k].dtype) for k in mask]

    @torch.no_grad()
    def _apply(self) -> None:
        if self.params:
            torch._foreach_mul_(self.params, self.masks)

    def on_start(self, s: LoopState) -> None:
        self._apply()

    def on_step(self, s: LoopState) -> None:
        self._apply()


class TrainMetrics(Callback):
    """Mean train loss and accuracy over each window of `every` steps; one "train" row per window.
    Per step it only keeps references to the detached loss, logits and labels; the window is
    reduced in one batched pass at its end (one host sync per window, no per-step tensor ops)."""

    def __init__(self, every: int):
        self.every = every
        self.losses: list[torch.Tensor] = []
        self.logits: list[torch.Tensor] = []
        self.ys: list[torch.Tensor] = []
        self.last: dict[str, Any] | None = None
        self.best_acc = float("nan")

    def on_step(self, s: LoopState) -> None:
        assert s.loss is not None and s.logits is not None and s.y is not None
        self.losses.append(s.loss)
        self.logits.append(s.logits)
        self.ys.append(s.y)
        if s.step % self.every == 0 or s.step == s.steps:
            self.flush(s)

    @torch.no_grad()
    def flush(self, s: LoopState) -> None:
        if not self.losses:
            return
        loss = torch.stack(self.losses).mean().item()
        y = torch.cat(self.ys)
        acc = (torch.cat(self.logits).argmax(-1) == y).sum().item() / len(y)
        self.last = {"step": s.step, "split": "train", "loss": loss, "acc": acc, "wall_time": s.wall_time}
        s.rows.append(self.last)
        if not acc <= self.best_acc:  # also replaces the initial NaN
            self.best_acc = acc
        s.extra["train_loss"] = loss
        self.losses, self.logits, self.ys = [], [], []

    def on_end(self, s: LoopState) -> None:
        if s.stop is not None:  # stopped mid-window: write what was seen
            self.flush(s)


DIVERGE_FACTOR, DIVERGE_MARGIN = 10.0, 10.0


def divergence(loss: float, start: float | None, factor: float = DIVERGE_FACTOR,
               margin: float = DIVERGE_MARGIN) -> str:
    """Why a train loss means the run diverged ('' when it does not): NaN/inf, or far above `start`."""
    if not math.isfinite(loss):
        return "loss became NaN/inf"
    if start is not None and math.isfinite(start) and loss > max(factor * start, start + margin):
        return f"loss rose to {loss:.4g}, far above its start {start:.4g}"
    return ""


class Divergence(Callback):
    """Stop with "diverged" once a train window's mean loss is NaN or infinite, or far above where it
    started (more than `factor` times the first window's loss and `margin` above it: a learning rate
    too large sends the loss to thousands while staying finite). It reads the value TrainMetrics
    synced (`s.extra["train_loss"]`), so it adds no host sync of its own; the reason goes to
    `s.extra["stop_reason"]`."""

    def __init__(self, factor: float = DIVERGE_FACTOR, margin: float = DIVERGE_MARGIN):
        self.factor, self.margin = factor, margin
        self.start: float | None = None

    def on_step(self, s: LoopState) -> None:
        if self.start is None and s.step == 1 and s.loss is not None:
            self.start = float(s.loss)  # the loss before the first update: where training starts from
        loss = s.extra.pop("train_loss", None)
        if loss is None:
            return
        if self.start is None and math.isfinite(loss):
            self.start = loss
        why = divergence(loss, self.start, self.factor, self.margin)
        if why:
            s.stop, s.extra["stop_reason"] = "diverged", why

    on_end = on_step  # a window flushed at the end is checked too


class Evaluate(Callback):
    """Test loss and accuracy at step 0, every `every` steps and at the end; one "test" row each."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, every: int, batch: int = 2048,
                 loss_fn: Callable[..., torch.Tensor] = nn.functional.cross_entropy):
        self.x, self.y, self.every, self.batch, self.loss_fn = x, y, every, batch, loss_fn
        self.last_step = -1
        self.history: list[dict[str, Any]] = []

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> tuple[float, float]:
        was = model.training
        model.eval()
        loss, correct = torch.zeros((), device=self.x.device), torch.zeros((), device=self.x.device)
        for i in range(0, len(self.y), self.batch):
            xb, yb = self.x[i:i + self.batch], self.y[i:i + self.batch]
            out = model(xb)
            loss += self.loss_fn(out, yb, reduction="sum")
            correct += (out.argmax(-1) == yb).sum()
        model.train(was)
        n = max(1, len(self.y))
        return loss.item() / n, correct.item() / n

    def _row(self, s: LoopState) -> None:
        if s.step == self.last_step:
            return
        loss, acc = self.evaluate(s.model)
        row = {"step": s.step, "split": "test", "loss": loss, "acc": acc, "wall_time": s.wall_time}
        self.history.append(row)
        s.rows.append(row)
        self.last_step = s.step

    def on_start(self, s: LoopState) -> None:
        self._row(s)

    def on_step(self, s: LoopState) -> None:
        if s.step % self.every == 0 and s.stop is None:
            self._row(s)

    def on_end(self, s: LoopState) -> None:
        if s.stop != "diverged":
            self._row(s)


class RewindCheckpoints(Callback):
    """Save the weights (safetensors) at the given steps (step 0 = the initialisation)."""

    def __init__(self, steps: Iterable[int], path_of: Callable[[int], Path]):
        self.steps, self.path_of = set(steps), path_of

    def on_start(self, s: LoopState) -> None:
        if 0 in self.steps:
            save_checkpoint(s.model, self.path_of(0))

    def on_step(self, s: LoopState) -> None:
        if s.step in self.steps:
            save_checkpoint(s.model, self.path_of(s.step))


class CancelCheck(Callback):
    """Stop with "cancelled" when `should_stop()` says so; asked at most every `interval_s`."""

    def __init__(self, should_stop: Callable[[], bool], interval_s: float = 0.25):
        self.should_stop, self.interval_s = should_stop, interval_s
        self.next_t = 0.0

    def on_step(self, s: LoopState) -> None:
        t = time.monotonic()
        if t >= self.next_t:
            self.next_t = t + self.interval_s
            if self.should_stop():
                s.stop = "cancelled"


class MetricWriter(Callback):
    """Hand pending rows to `sink(rows)` at most every `interval_s` (and at the end), so the
    store sees a few batched inserts per second instead of one per step."""

    def __init__(self, sink: Callable[[Sequence[dict[str, Any]]], None], interval_s: float = 0.25):
        self.sink, self.interval_s = sink, interval_s
        self.next_t = 0.0

    def flush(self, s: LoopState) -> None:
        if s.rows:
            rows, s.rows = s.rows, []
            self.sink(rows)

    def on_start(self, s: LoopState) -> None:
        self.flush(s)
        self.next_t = time.monotonic() + self.interval_s

    def on_step(self, s: LoopState) -> None:
        if s.rows:
            t = time.monotonic()
            if t >= self.next_t:
                self.next_t = t + self.interval_s
                self.flush(s)

    def on_end(self, s: LoopState) -> None:
        self.flush(s)
