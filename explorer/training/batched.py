"""Batched tickets: train K masked variants of one small model at once.

A sweep (many masks, seeds or sparsities of one model, docs/science.md §4 and §7) is K
independent training runs that differ only in their mask and initial weights. Here the
K parameter sets are stacked along a new leading axis, the model's forward is
vectorised over that axis with `torch.func.functional_call` + `torch.vmap`, and one
backward of the summed losses gives every variant its own gradient (the variants share
no weights, so no gradient crosses between them). The optimiser is the ordinary
`torch.optim.Adam`/`SGD` acting on the stacked tensors: both are elementwise, so one
optimiser over (K, ...) tensors is exactly K optimisers over (...) tensors, with the
same math and each variant its own moments. Masks are re-applied after every step.

All variants see the batches of `explorer.data.Batches` in the same order, or each its
own order when `data_seeds` is given, and write the metric rows `runner.execute` writes
({step, split, loss, acc, wall_time}: train rows averaged over `log_every` steps, test
rows at step 0, every `eval_every` steps and at the end), so a batched sweep equals K
one-by-one runs to float tolerance (`tests/test_batched.py` checks losses and weights)
and lands in the run store as K ordinary runs (`explorer.training.sweep`).

    >>> import torch
    >>> from explorer.pruning.mask import Mask
    >>> g = torch.Generator().manual_seed(0)
    >>> data = Data(torch.randn(64, 2, generator=g), torch.randint(0, 2, (64,), generator=g),
    ...             torch.randn(32, 2, generator=g), torch.randint(0, 2, (32,), generator=g))
    >>> out = train_batched("moons_mlp", [Mask(), Mask()], [0, 1], data, "sgd", 0.1,
    ...                     steps=4, batch_size=16, eval_every=2)
    >>> [(r["step"], r["split"]) for r in out[0].rows if r["split"] == "test"], out[1].status
    ([(0, 'test'), (2, 'test'), (4, 'test')], 'done')
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from explorer.pruning.mask import Mask
from explorer.training.callbacks import divergence
from explorer.training.optim import make_optimizer, make_schedule

# sink(k, rows): variant k's new metric rows; should_stop(k): has variant k been cancelled?
Sink = Callable[[int, list[dict[str, Any]]], None]
StopCheck = Callable[[int], bool]
FLUSH_SECONDS = 0.25  # rows reach the sink a few times a second, as runner's MetricWriter does
STOP_POLL_SECONDS = 0.25  # should_stop is asked at most this often (it may hit the store)


class BatchedError(ValueError):
    """A sweep that cannot be trained as one batched job; the message says why and what to do."""


@dataclass(frozen=True)
class Data:
    """Tensors of a classification dataset: inputs (N, *shape) and integer labels (N,)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @classmethod
    def of(cls, data: Any) -> Data:
        """Accept a `Data`, anything with `x_train/y_train/x_test/y_test` attributes or keys
        (e.g. `explorer.data.DataSplit`), or the mnist1d dict (`x`, `y`, `x_test`, `y_test`)."""
        if isinstance(data, Data):
            return data
        get = (lambda k: data[k]) if isinstance(data, Mapping) else (lambda k: getattr(data, k))
        for keys in [("x_train", "y_train", "x_test", "y_test"), ("x", "y", "x_test", "y_test")]:
            try:
                xs = [get(k) for k in keys]
            except (KeyError, AttributeError):
                continue
            x, y, xt, yt = (torch.as_tensor(v) for v in xs)
            return cls(x.float(), y.long(), xt.float(), yt.long())
        raise BatchedError(f"cannot read a dataset from {type(data).__name__}: give an object with "
                           "x_train, y_train, x_test, y_test (tensors or arrays)")


@dataclass
class VariantResult:
    """One variant's outcome: metric rows, final weights, status ('done', 'diverged' on a
    NaN/inf train window, 'cancelled') and the completed optimiser steps."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict)
    status: str = "done"
    steps_done: int = 0
    best_train_acc: float = float("nan")
    wall_time_s: float = 0.0
    stop_reason: str = ""

    def last(self, split: str) -> dict[str, Any] | None:
        return next((r for r in reversed(self.rows) if r["split"] == split), None)


def batch_order(n: int, batch_size: int, steps: int, seed: int) -> torch.Tensor:
    """(steps, b) indices into a training set of `n` examples, b = min(batch_size, n): the
    order `explorer.data.Batches(x, y, batch_size, seed)` yields (per epoch one seeded
    permutation, the ragged tail dropped).

    >>> batch_order(5, 2, 3, seed=0).shape
    torch.Size([3, 2])
    """
    b = min(batch_size, n)
    if b < 1:
        raise BatchedError(f"batch_size must be >= 1 and the training set non-empty; got {batch_size}, n={n}")
    g = torch.Generator().manual_seed(int(seed))
    per_epoch = n // b
    perms = [torch.randperm(n, generator=g)[: per_epoch * b].view(per_epoch, b)
             for _ in range(math.ceil(steps / per_epoch))]
    return torch.cat(perms)[:steps]


def _template(model: str | nn.Module) -> tuple[nn.Module, str]:
    if isinstance(model, nn.Module):
        return model, type(model).__name__
    from explorer import models

    return models.load(model, seed=0).model, model


def _init_state(model: str | nn.Module, init: int | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if isinstance(init, int):
        if not isinstance(model, str):
            raise BatchedError("a seed as init needs a model spec (a zoo name), not a module; give state_dicts")
        from explorer import models

        return dict(models.load(model, seed=init).model.state_dict())
    return {k: torch.as_tensor(v) for k, v in init.items()}


def _stack_buffers(template: nn.Module, states: Sequence[Mapping[str, torch.Tensor]], device: torch.device
                   ) -> dict[str, torch.Tensor]:
    """Stacked buffers {name: (K, *shape)}: every variant keeps its own BatchNorm running statistics,
    which BatchNorm updates in place in its slice of the stack during training."""
    out = {}
    for n, b in template.named_buffers():
        if b is None:
            continue
        vals = [s[n] if n in s else b for s in states]
        out[n] = torch.stack([v.detach().to(b.dtype) for v in vals]).to(device)
    return out


def _stack(template: nn.Module, name: str, masks: Sequence[Mask], states: Sequence[Mapping[str, torch.Tensor]],
           device: torch.device) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Stacked leaf parameters {param: (K, *shape)} (masked) and stacked masks {param: (K, *shape)}."""
    shapes = {n: tuple(p.shape) for n, p in template.named_parameters()}
    for k, (m, s) in enumerate(zip(masks, states)):
        m.check(template)
        for n, shape in shapes.items():
            if n not in s:
                raise BatchedError(f"init {k} lacks parameter {n!r} of {name}; give a full state_dict or a seed")
            if tuple(s[n].shape) != shape:
                raise BatchedError(f"init {k}: {n!r} has shape {tuple(s[n].shape)}, {name} wants {shape}")
    masked = sorted({n for m in masks for n in m})
    stacked_masks = {n: torch.stack([m[n] if n in m else torch.ones(shapes[n]) for m in masks]).to(device)
                     for n in masked}
    params = {}
    for n in shapes:
        p = torch.stack([s[n].detach().float() for s in states]).to(device)  # (K, *shape)
        if n in stacked_masks:
            p = p * stacked_masks[n]
        if len(shapes[n]) == 2:  # a Linear weight: kept as (K, in, out), see `stored`
            p = p.transpose(1, 2).contiguous()
            if n in stacked_masks:
                stacked_masks[n] = stacked_masks[n].transpose(1, 2).contiguous()
        params[n] = p.requires_grad_(True)
    return params, stacked_masks


def stored(params: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's view of the stacked leaves: 2-D weights are stored transposed, (K, in, out), and
    handed over as `.mT` views of shape (K, out, in). Under vmap a Linear's weight gradient then comes
    out in the leaf's own layout (x^T @ grad), instead of being computed transposed and copied back —
    the copy and the strided batched matmul it needs cost more than the layer's forward pass on a
    CPU. Elementwise optimisers and masks do not care about the layout."""
    return {n: (p.mT if p.dim() == 3 else p) for n, p in params.items()}


def train_batched(model: str | nn.Module, masks: Sequence[Mask], inits: Sequence[int | Mapping[str, torch.Tensor]],
                  data: Any, optimizer: str = "adam", lr: float = 1e-3, steps: int = 100, batch_size: int = 64,
                  eval_every: int = 50, sink: Sink | None = None, *, log_every: int = 1, data_seed: int = 0,
                  data_seeds: Sequence[int] | None = None, momentum: float = 0.0, weight_decay: float = 0.0,
                  schedule: str = "constant", device: str | torch.device = "cpu",
                  should_stop: StopCheck | None = None, snapshot_steps: Sequence[int] = (),
                  on_snapshot: Callable[[int, list[dict[str, torch.Tensor]]], None] | None = None
                  ) -> list[VariantResult]:
    """Train K = len(masks) masked variants of one model at once; one `VariantResult` each.

    model: a zoo spec (or an `nn.Module` whose architecture all variants share).
    masks: one `Mask` per variant (an empty `Mask()` is the dense network).
    inits: one per variant: a seed (the zoo's init under that seed) or a state_dict.
    data: a `Data` or anything `Data.of` reads. All variants follow `batch_order(...,
      data_seed)` unless `data_seeds` gives each its own order.
    schedule: 'constant' or 'cosine' (CosineAnnealingLR to 0 at the last step).
    sink(k, rows) receives variant k's rows as they appear; should_stop(k) is polled a
    few times a second and, when true, stops variant k ('cancelled'). At each step in
    `snapshot_steps` (0 = the masked init) `on_snapshot(step, [state_dict per variant])`
    is called (rewind checkpoints of dense runs). A variant whose
    train window loss is NaN/inf stops as 'diverged'. Stopped variants still compute
    (their slices are independent) but report nothing more; the job ends when all stop.
    """
    K = len(masks)
    if K == 0 or len(inits) != K:
        raise BatchedError(f"give one init per mask: {K} masks, {len(inits)} inits")
    if data_seeds is not None and len(data_seeds) != K:
        raise BatchedError(f"give one data seed per variant: {K} variants, {len(data_seeds)} data_seeds")
    if min(steps, eval_every, log_every) < 1:
        raise BatchedError(f"steps ({steps}), eval_every ({eval_every}) and log_every ({log_every}) must be >= 1")
    dev = torch.device(device)
    template, name = _template(model)
    states = [_init_state(model, i) for i in inits]
    template = template.to(dev).train()
    d = Data.of(data)
    x_tr, y_tr, x_te, y_te = (t.to(dev) for t in (d.x_train, d.y_train, d.x_test, d.y_test))
    params, stacked_masks = _stack(template, name, masks, states, dev)
    buffers = _stack_buffers(template, states, dev)
    opt = make_optimizer(optimizer, list(params.values()), lr, momentum=momentum, weight_decay=weight_decay,
                         fused=True)
    sched = make_schedule(opt, schedule, steps)
    seeds = list(data_seeds) if data_seeds is not None else [data_seed]
    order = torch.stack([batch_order(len(x_tr), batch_size, steps, s) for s in seeds], 1).to(dev)  # (steps, 1|K, b)

    def one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(template, (p, b), (x,))

    shared_v = torch.vmap(one, in_dims=(0, 0, None))  # one batch for all: x (b, ...) -> (K, b, C)
    own_v = torch.vmap(one, in_dims=(0, 0, 0))  # a batch each: x (K, b, ...) -> (K, b, C)

    def shared(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return shared_v(p, buffers, x)

    def own(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return own_v(p, buffers, x)

    @torch.no_grad()
    def evaluate() -> tuple[list[float], list[float]]:
        template.eval()  # running statistics, as runner's Evaluate does
        try:
            return _evaluate()
        finally:
            template.train()

    def _evaluate() -> tuple[list[float], list[float]]:
        loss, hits = torch.zeros(K, device=dev), torch.zeros(K, device=dev)
        for i in range(0, len(y_te), 2048):
            xb, yb = x_te[i:i + 2048], y_te[i:i + 2048]
            logits = shared(stored(params), xb)  # (K, n, C)
            loss += _ce_sum(logits, yb)
            hits += (logits.argmax(-1) == yb).sum(1)
        n = max(1, len(y_te))
        return (loss / n).tolist(), (hits / n).tolist()

    res = [VariantResult() for _ in range(K)]
    live = [True] * K
    pending: list[list[dict[str, Any]]] = [[] for _ in range(K)]
    t0 = time.perf_counter()
    next_flush = next_poll = time.monotonic()

    def wall() -> float:
        return time.perf_counter() - t0

    def flush() -> None:
        for k in range(K):
            if pending[k] and sink is not None:
                sink(k, pending[k])
            pending[k] = []

    def test_rows(step: int, which: list[int]) -> None:
        if not which:
            return
        loss, acc = evaluate()
        for k in which:
            row = {"step": step, "split": "test", "loss": loss[k], "acc": acc[k], "wall_time": wall()}
            res[k].rows.append(row)
            pending[k].append(row)

    def train_rows(step: int, loss_sum: torch.Tensor, hits: torch.Tensor, n_steps: int, n: int,
                   which: list[int]) -> None:
        losses, accs = (loss_sum / n_steps).tolist(), (hits / n).tolist()
        for k in which:
            row = {"step": step, "split": "train", "loss": losses[k], "acc": accs[k], "wall_time": wall()}
            res[k].rows.append(row)
            pending[k].append(row)
            if not accs[k] <= res[k].best_train_acc:  # also replaces the initial NaN
                res[k].best_train_acc = accs[k]
            why = divergence(losses[k], start[k])
            if why:
                res[k].status, res[k].stop_reason, live[k] = "diverged", why, False

    snapshot_steps = set(snapshot_steps)

    def snapshot(step: int) -> None:
        if on_snapshot is not None and step in snapshot_steps:
            on_snapshot(step, [state(k) for k in range(K)])

    def state(k: int) -> dict[str, torch.Tensor]:
        """Variant k's state dict: its parameters in the model's layout and its own buffers."""
        out = {n: p[k].detach().cpu().contiguous().clone() for n, p in stored(params).items()}
        out.update({n: b[k].detach().cpu().clone() for n, b in buffers.items()})
        return out

    snapshot(0)
    test_rows(0, list(range(K)))
    flush()
    loss_sum, hits, n_steps, n_seen = torch.zeros(K, device=dev), torch.zeros(K, device=dev), 0, 0
    step = 0
    start: list[float] = [float("nan")] * K
    while step < steps and any(live):
        idx = order[step]  # (1|K, b)
        if data_seeds is None:
            x, y = x_tr[idx[0]], y_tr[idx[0]].expand(K, -1)  # (b, ...), (K, b)
            logits = shared(stored(params), x)  # (K, b, C)
        else:
            x, y = x_tr[idx], y_tr[idx]  # (K, b, ...), (K, b)
            logits = own(stored(params), x)
        losses = _ce_mean(logits, y)  # (K,)
        if step == 0:
            start = losses.detach().tolist()  # the loss before the first update, per variant
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()  # variant k's parameters reach only losses[k]: gradients stay per variant
        opt.step()
        if sched is not None:
            sched.step()
        step += 1
        with torch.no_grad():
            if stacked_masks:
                torch._foreach_mul_([params[n] for n in stacked_masks], list(stacked_masks.values()))
            loss_sum += losses.detach()
            hits += (logits.argmax(-1) == y).sum(1)
        n_steps, n_seen = n_steps + 1, n_seen + y.shape[1]
        snapshot(step)
        alive = [k for k in range(K) if live[k]]
        if step % log_every == 0 or step == steps:
            train_rows(step, loss_sum, hits, n_steps, n_seen, alive)
            loss_sum, hits, n_steps, n_seen = torch.zeros_like(loss_sum), torch.zeros_like(hits), 0, 0
        for k in alive:
            res[k].steps_done = step
        cancelled: list[int] = []
        if should_stop is not None and time.monotonic() >= next_poll:
            next_poll = time.monotonic() + STOP_POLL_SECONDS
            cancelled = [k for k in alive if live[k] and should_stop(k)]
        if step % eval_every == 0 and step < steps:
            test_rows(step, [k for k in alive if live[k] and k not in cancelled])
        if cancelled:  # as runner: the partial train window and a last test row are written
            if n_steps:
                train_rows(step, loss_sum, hits, n_steps, n_seen, cancelled)
            last_test = [k for k in cancelled if res[k].rows[-1]["split"] != "test" or res[k].rows[-1]["step"] != step]
            test_rows(step, last_test)
            for k in cancelled:
                res[k].status, live[k] = "cancelled", False
        if time.monotonic() >= next_flush:
            next_flush = time.monotonic() + FLUSH_SECONDS
            flush()
    test_rows(step, [k for k in range(K) if live[k]])  # the end of training
    flush()
    for k in range(K):
        res[k].state_dict = state(k)
        res[k].wall_time_s = wall()
    return res


def _ce_mean(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-variant mean cross-entropy: logits (K, b, C), y (K, b) -> (K,)."""
    return nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(1)


def _ce_sum(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-variant summed cross-entropy on a shared batch: logits (K, n, C), y (n,) -> (K,)."""
    return nn.functional.cross_entropy(logits.transpose(1, 2), y.expand(len(logits), -1), reduction="none").sum(1)

