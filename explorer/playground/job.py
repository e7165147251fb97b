"""The `playground` job: trains a `PlaygroundNet` in the worker and emits a frame every
`frame_every` steps — metrics, the exact regions and boundaries, the region count, the partition
distance to the frame one epoch earlier and the early-bird draw (docs/science.md §6).

It runs the house's one training loop (`explorer.training.loop.train`) with callbacks: the mask
of pruned units and arcs (`MaskCallback`), the frames (`Frames`), the cancel check. The state
after every frame (weights, optimiser, probe codes) is kept in the job's work folder, so a
cancelled job — a pause — resumes where it stopped when it is submitted again, and a killed
worker costs at most one frame. The job's control message (`{"until_step": S}`, set by
`explorer.playground.control` through the store) makes the job pause itself at its first frame at or
after step S: that is the page's "step" button, and a new run's preview of its first frame. A run that continues another after a prune (`cfg.parent`)
starts from the parent's weights at `cfg.parent_step`, with `cfg.pruned` removed through
`explorer.pruning.apply` (the mask holds them at zero); its optimiser starts afresh (frames keep
the weights, not Adam's moments), and it inherits the parent's early-bird draw. A run a page followed
(`JobStore.watch`) pauses itself when no page has shown it for `UNWATCHED_S` — a closed tab does not keep
the worker busy — and Play resumes it.

    >>> import tempfile
    >>> from explorer.jobs.backends import InlineBackend
    >>> be = InlineBackend(tempfile.mkdtemp())
    >>> cfg = PlaygroundConfig(hidden=(4,), steps=40, frame_every=20, dataset="gauss")
    >>> job = be.run(KIND, cfg)
    >>> job.status, [f.payload["step"] for f in be.store.frames(job.id)], job.result["steps"]
    ('done', [0, 20, 40], 40)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.jobs.context import Stop
from explorer.jobs.kinds import job_kind
from explorer.playground.config import PlaygroundConfig
from explorer.playground.data import PlaygroundData, make_data
from explorer.playground.frame import frame_codes, inputs, lifting_of, load_weights, make_frame
from explorer.playground.net import build_net
from explorer.playground.snapshot import structure_dag
from explorer.regions.distance import EB_WINDOW, early_bird, partition_distance
from explorer.training.callbacks import CancelCheck, MaskCallback
from explorer.training.loop import Callback, LoopState, train
from explorer.training.optim import make_optimizer

KIND = "playground"
STATE = "state.pt"
UNWATCHED_S = 120.0  # a run the page followed pauses itself when no page has shown it for this long


class PlaygroundJobError(ValueError):
    """A run that cannot start: its parent's frame is missing, its prune list is refused."""


class Batches:
    """Minibatches fixed by (seed, step): epoch e is a permutation drawn from [seed, e], so a resumed
    run sees the very batches it would have seen."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int, start: int):
        self.x, self.y, self.bs, self.seed, self.step = x, y, batch_size, seed, start
        self.per_epoch = math.ceil(len(y) / batch_size)
        self._epoch, self._perm = -1, np.zeros(0, dtype=np.int64)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            e, k = divmod(self.step, self.per_epoch)
            if e != self._epoch:
                self._epoch, self._perm = e, np.random.default_rng([self.seed, e]).permutation(len(self.y))
            idx = torch.from_numpy(self._perm[k * self.bs:(k + 1) * self.bs])
            self.step += 1
            yield self.x[idx], self.y[idx]


def loss_fn(model: nn.Module, cfg: PlaygroundConfig):
    """Cross-entropy plus the L1 / L2 penalty on the weight matrices (biases are not penalised)."""
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]

    def fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(logits, y)
        if cfg.regularization == "l1" and cfg.reg_rate > 0:
            loss = loss + cfg.reg_rate * sum(w.abs().sum() for w in weights)
        elif cfg.regularization == "l2" and cfg.reg_rate > 0:
            loss = loss + cfg.reg_rate * 0.5 * sum((w * w).sum() for w in weights)
        return loss

    return fn


def read_hold(control: dict[str, Any]) -> int | None:
    """The step a run pauses at (its control message's `until_step`), or None to run on."""
    try:
        return int(control["until_step"])
    except (KeyError, ValueError, TypeError):
        return None


class Frames(Callback):
    """Every `frame_every` steps (and at the end or on a pause): emit a frame, keep the state, obey the hold."""

    def __init__(self, ctx: Any, cfg: PlaygroundConfig, data: PlaygroundData, model: nn.Module,
                 opt: torch.optim.Optimizer, step0: int, state: dict[str, Any]):
        self.ctx, self.cfg, self.data, self.model, self.opt, self.step0 = ctx, cfg, data, model, opt, step0
        self.codes: dict[int, torch.Tensor] = state.get("codes", {})
        self.distances: list[float | None] = state.get("distances", [])
        self.eb: int | None = state.get("eb")
        self.last = int(state.get("last", -1))
        self.lag = max(cfg.frame_every, math.ceil(len(data.y_train) / cfg.batch_size))  # one epoch back
        self.count: int | None = None
        self.unwatched = False  # paused because no page showed the run (a closed tab)

    def step(self, s: LoopState | None) -> int:
        return self.step0 + (s.step if s is not None else 0)

    def emit(self, step: int) -> None:
        lift = lifting_of(self.model, self.cfg)
        frame = make_frame(self.model, self.cfg, self.data, step, lift)
        codes = frame_codes(self.model, self.cfg, self.data, lift)
        back = [k for k in self.codes if k <= step - self.lag]
        d = None
        if back:
            d = partition_distance(self.codes[max(back)].numpy(), codes.codes, codes.level)
        self.codes = {k: v for k, v in self.codes.items() if k >= step - 2 * self.lag}
        self.codes[step] = torch.from_numpy(codes.codes.astype(np.int16))
        self.distances.append(d)
        if self.eb is None and early_bird(self.distances, EB_WINDOW, self.cfg.eb_threshold) is not None:
            self.eb = step
        frame.update(distance=None if d is None else round(d, 6), early_bird=self.eb)
        self.ctx.emit("frame", frame)
        self.ctx.progress(step / self.cfg.steps, f"step {step} of {self.cfg.steps}: {frame['count']} regions")
        self.last, self.count = step, frame["count"]
        self.save(step)

    def save(self, step: int) -> None:
        tmp = self.ctx.workdir / f"{STATE}.tmp"
        torch.save({"model": self.model.state_dict(), "opt": self.opt.state_dict(), "step": step,
                    "codes": self.codes, "distances": self.distances, "eb": self.eb, "last": self.last}, tmp)
        tmp.replace(self.ctx.workdir / STATE)

    def held(self, step: int) -> bool:
        """The page asked for a pause at or before `step`, or no page has shown the run for UNWATCHED_S."""
        until = read_hold(self.ctx.control())
        self.unwatched = self.ctx.unwatched(UNWATCHED_S)
        return self.unwatched or (until is not None and step >= until)

    def on_step(self, s: LoopState) -> None:
        step = self.step(s)
        if step % self.cfg.frame_every == 0 or step == self.cfg.steps:
            self.emit(step)
            if self.held(step):
                s.stop = "held"

    def on_end(self, s: LoopState) -> None:
        step = self.step(s)
        if step != self.last:  # paused between frames: show where it stopped
            self.emit(step)


def start_model(cfg: PlaygroundConfig, store: Any) -> tuple[nn.Module, Any, dict[str, Any]]:
    """The network a run starts from (its init, or its parent's frame), the mask of its prune list, and what it
    inherits of the parent's history (the early-bird draw)."""
    model = build_net(cfg)
    inherited: dict[str, Any] = {}
    if cfg.parent:
        frames = [f.payload for f in store.frames(cfg.parent, kind="frame") if f.payload["step"] == cfg.parent_step]
        if not frames:
            raise PlaygroundJobError(f"run {cfg.parent} has no frame at step {cfg.parent_step} to continue from; "
                                     "prune at a frame the page shows")
        load_weights(model, frames[-1]["weights"])
        inherited["eb"] = frames[-1].get("early_bird")
    if not cfg.pruned:
        return model, None, inherited
    from explorer.pruning.apply import apply
    from explorer.pruning.selection import Selection

    dag = structure_dag(cfg)  # the architecture with every arc, whatever the weights are now
    p = apply(model, dag, Selection.from_ids(dag, cfg.pruned, note="playground"), torch.zeros(1, len(cfg.features)))
    return p.model, p.mask, inherited


@job_kind(KIND)
def run_job(ctx: Any) -> dict[str, Any] | Stop:
    """The `playground` job kind: train, frame by frame, until the end or the pause the page asked for."""
    cfg = PlaygroundConfig.from_dict(ctx.config)
    data = make_data(cfg)
    model, mask, state = start_model(cfg, ctx.store)
    opt = make_optimizer(cfg.optimizer, list(model.parameters()), cfg.learning_rate)
    step = cfg.parent_step
    saved = Path(ctx.workdir) / STATE
    if saved.exists():  # a resumed attempt or a paused run played again
        state = torch.load(saved, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = int(state["step"])
    frames = Frames(ctx, cfg, data, model, opt, step, state)
    if frames.last < step:
        frames.emit(step)
    if step < cfg.steps and not frames.held(step) and not ctx.should_stop():
        x = inputs(data.x_train, cfg)
        callbacks = ([MaskCallback(mask, model)] if mask is not None else []) + [frames, CancelCheck(ctx.should_stop)]
        s = train(model, opt, iter(Batches(x, data.y_train, cfg.batch_size, cfg.seed, step)), cfg.steps - step,
                  callbacks, loss_fn=loss_fn(model, cfg))
        step = frames.step(s)
    result = {"steps": step, "frames": len(frames.distances), "early_bird": frames.eb, "regions": frames.count}
    if step < cfg.steps and not ctx.should_stop():  # held: pause (end as cancelled), to be resumed by a new submit
        why = f": no page showed it for {UNWATCHED_S:.0f} s (a closed tab); Play resumes it" if frames.unwatched else ""
        return Stop("cancelled", result, f"paused at step {step}{why}")
    return result
