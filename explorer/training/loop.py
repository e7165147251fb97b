"""The one training loop. It knows nothing about metrics, masks, checkpoints or
cancelling: those are callbacks (explorer.training.callbacks), called after every
optimiser step in the order given. The loop should not be modified to add behaviours.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass
class LoopState:
    """What callbacks see and may change: `stop` ends the loop with that status."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    steps: int  # planned
    step: int = 0  # completed optimiser steps
    loss: torch.Tensor | None = None  # this step's batch loss, detached
    logits: torch.Tensor | None = None  # detached
    y: torch.Tensor | None = None
    stop: str | None = None  # "diverged" | "cancelled" | None
    t0: float = field(default_factory=time.perf_counter)
    rows: list[dict[str, Any]] = field(default_factory=list)  # metric rows waiting to be written
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def wall_time(self) -> float:
        return time.perf_counter() - self.t0


class Callback:
    """Hooks of the loop; override what you need."""

    def on_start(self, s: LoopState) -> None: ...

    def on_step(self, s: LoopState) -> None: ...

    def on_end(self, s: LoopState) -> None: ...


def train(model: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
          steps: int, callbacks: Sequence[Callback] = (), *,
          loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = nn.functional.cross_entropy,
          scheduler: Any = None) -> LoopState:
    """Run `steps` optimiser steps of `loss_fn(model(x), y)` over `batches`; returns the final state."""
    s = LoopState(model, optimizer, steps)
    for cb in callbacks:
        cb.on_start(s)
    model.train()
    it = iter(batches)
    while s.step < steps and s.stop is None:
        x, y = next(it)
        logits = model(x)
        loss = loss_fn(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        s.step += 1
        s.loss, s.logits, s.y = loss.detach(), logits.detach(), y
        for cb in callbacks:
            cb.on_step(s)
    for cb in callbacks:
        cb.on_end(s)
    return s
