"""Batched tickets: train K masked variants of one small model at once (issue 4 §6).

A sweep (many masks, seeds or sparsities of one model, SCIENCE.md §4 and §7) is K
independent training runs that differ only in their mask and initial weights. Here the
K parameter sets are stacked along a new leading axis, the model's forward is
vectorised over that axis with `torch.func.functional_call` + `torch.vmap`, and one
backward of the summed losses gives every variant its own gradient (the variants share
no weights, so no gradient crosses between them). The optimiser is the ordinary
`torch.optim.Adam`/`SGD` acting on the stacked tensors: both are elementwise, so one
optimiser over (K, ...) tensors is exactly K optimisers over (...) tensors, with the
same math and each variant its own moments. Masks are re-applied after every step.

All variants see the same batches in the same order (`batch_order`), or each its own
order when `data_seeds` is given, so a batched sweep equals K one-by-one runs to float
tolerance (`tests/test_batched.py` checks losses per step and final weights).

    >>> import torch
    >>> from explorer.mask import Mask
    >>> g = torch.Generator().manual_seed(0)
    >>> data = Data(torch.randn(64, 2, generator=g), torch.randint(0, 2, (64,), generator=g),
    ...             torch.randn(32, 2, generator=g), torch.randint(0, 2, (32,), generator=g))
    >>> dense = Mask()
    >>> out = train_batched("moons_mlp", [dense, dense], [0, 1], data, "sgd", 0.1,
    ...                     steps=3, batch_size=16, eval_every=3)
    >>> [len(v.rows) for v in out], [v.status for v in out]
    ([3, 3], ['done', 'done'])
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from explorer.mask import Mask

# A sink receives (variant index, metric rows) as soon as rows exist; the Ray and local
# backends turn it into `RunStore.log_metrics(run_ids[k], rows)`.
Sink = Callable[[int, list[dict]], None]
FLUSH_SECONDS = 0.5


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
        (e.g. `explorer.data`'s datasets), or the mnist1d dict (`x`, `y`, `x_test`, `y_test`)."""
        if isinstance(data, Data):
            return data
        get = (lambda k: data[k]) if isinstance(data, Mapping) else (lambda k: getattr(data, k))
        names = [("x_train", "y_train", "x_test", "y_test"), ("x", "y", "x_test", "y_test")]
        for keys in names:
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
    """One variant's outcome: its metric rows, final weights and status
    ('done', 'diverged' on a NaN/inf loss, or 'cancelled')."""

    rows: list[dict] = field(default_factory=list)
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict)
    status: str = "done"
    steps_done: int = 0


def batch_order(n: int, batch_size: int, steps: int, seed: int) -> torch.Tensor:
    """(steps, batch_size) indices into a training set of `n` examples: successive epochs of
    a seeded random permutation, the last partial batch of each epoch dropped.

    >>> batch_order(5, 2, 3, seed=0).shape
    torch.Size([3, 2])
    """
    if batch_size > n:
        raise BatchedError(f"batch_size {batch_size} exceeds the {n} training examples; lower it")
    g = torch.Generator().manual_seed(seed)
    per_epoch = n // batch_size
    epochs = math.ceil(steps / per_epoch)
    perms = [torch.randperm(n, generator=g)[: per_epoch * batch_size].view(per_epoch, batch_size)
             for _ in range(epochs)]
    return torch.cat(perms)[:steps]


def make_optimizer(name: str, params: list[torch.Tensor], lr: float, momentum: float = 0.0,
                   weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The optimiser both batched and sequential runs use: 'adam' or 'sgd'."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise BatchedError(f"unknown optimizer {name!r}; use 'adam' or 'sgd'")


def _init_state(model_spec: str, init: int | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    from explorer import zoo

    if isinstance(init, int):
        return {k: v.detach().clone() for k, v in zoo.load(model_spec, seed=init).model.state_dict().items()}
    return {k: torch.as_tensor(v).detach().clone() for k, v in init.items()}


def _check_model(model: nn.Module, model_spec: str) -> None:
    buffers = [n for n, _ in model.named_buffers()]
    if buffers:
        raise BatchedError(f"{model_spec} has buffers ({', '.join(buffers[:3])}...): batched training "
                           "vectorises parameters only (no BatchNorm running stats); train it run by run")


def _stack(model: nn.Module, masks: Sequence[Mask], inits: Sequence[Any], model_spec: str,
           device: torch.device) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Stacked leaf parameters {name: (K, *shape)} and stacked masks for the masked names."""
    names = [n for n, _ in model.named_parameters()]
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    states = [_init_state(model_spec, i) for i in inits]
    for k, (m, s) in enumerate(zip(masks, states)):
        m.check(model)
        missing = [n for n in names if n not in s]
        if missing:
            raise BatchedError(f"init {k} lacks parameter {missing[0]!r} of {model_spec}; "
                               "give a full state_dict of the model or a seed")
        for n in names:
            if tuple(s[n].shape) != shapes[n]:
                raise BatchedError(f"init {k}: {n!r} has shape {tuple(s[n].shape)}, the model wants {shapes[n]}")
    masked = sorted({n for m in masks for n in m})
    stacked_masks = {n: torch.stack([m[n] if n in m else torch.ones(shapes[n]) for m in masks]).to(device)
                     for n in masked}
    params = {}
    for n in names:
        p = torch.stack([s[n].float() for s in states]).to(device)  # (K, *shape)
        if n in stacked_masks:
            p = p * stacked_masks[n]
        params[n] = p.requires_grad_(True)
    return params, stacked_masks


def train_batched(model_spec: str, masks: Sequence[Mask], inits: Sequence[int | Mapping[str, torch.Tensor]],
                  data: Any, optimizer: str = "adam", lr: float = 1e-3, steps: int = 100,
                  batch_size: int = 64, eval_every: int = 50, sink: Sink | None = None, *,
                  data_seed: int = 0, data_seeds: Sequence[int] | None = None, momentum: float = 0.0,
                  weight_decay: float = 0.0, device: str = "cpu",
                  should_stop: Callable[[], bool] | None = None) -> list[VariantResult]:
    """Train K = len(masks) masked variants of `model_spec` at once; returns one
    `VariantResult` per variant.

    masks: one `Mask` per variant (an empty `Mask()` is the dense network).
    inits: one per variant, a seed (the zoo's init under that seed) or a state_dict.
    data: a `Data` or anything `Data.of` reads. All variants follow `batch_order(...,
      data_seed)` unless `data_seeds` gives each its own.
    Each step every variant writes a row {step, train_loss, train_acc, wall_time}; every
    `eval_every` steps and at the end the row also holds test_loss and test_acc (the
    full test set). `sink(k, rows)` receives rows as they appear. A variant whose loss
    turns NaN/inf is marked 'diverged' and stops reporting; the others carry on (the
    stacked tensors keep the variants independent). `should_stop()` is polled each step.
    """
    from explorer import zoo

    K = len(masks)
    if K == 0 or len(inits) != K:
        raise BatchedError(f"give one init per mask: {K} masks, {len(inits)} inits")
    if data_seeds is not None and len(data_seeds) != K:
        raise BatchedError(f"give one data seed per variant: {K} variants, {len(data_seeds)} data_seeds")
    if steps < 1 or eval_every < 1:
        raise BatchedError(f"steps ({steps}) and eval_every ({eval_every}) must be >= 1")
    dev = torch.device(device)
    model = zoo.load(model_spec, seed=0).model.to(dev).train()
    _check_model(model, model_spec)
    d = Data.of(data)
    x_tr, y_tr, x_te, y_te = (t.to(dev) for t in (d.x_train, d.y_train, d.x_test, d.y_test))
    params, stacked_masks = _stack(model, masks, inits, model_spec, dev)
    opt = make_optimizer(optimizer, list(params.values()), lr, momentum, weight_decay)

    if data_seeds is None:
        order = batch_order(len(x_tr), batch_size, steps, data_seed).to(dev)  # (steps, B)
    else:
        order = torch.stack([batch_order(len(x_tr), batch_size, steps, s) for s in data_seeds], 1).to(dev)  # (steps, K, B)

    def one(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(model, p, (x,))

    shared = vmap_forward = torch.vmap(one, in_dims=(0, None))  # same batch for all: (K, B, C)
    if data_seeds is not None:
        vmap_forward = torch.vmap(one, in_dims=(0, 0))  # own batch each: x (K, B, ...)

    def evaluate() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            logits = shared(params, x_te)  # (K, N_test, C)
            loss = nn.functional.cross_entropy(logits.transpose(1, 2), y_te.expand(K, -1), reduction="none").mean(1)
            acc = (logits.argmax(-1) == y_te).float().mean(1)
        return loss, acc  # (K,), (K,)

    results = [VariantResult() for _ in range(K)]
    live = [True] * K
    pending: list[list[dict]] = [[] for _ in range(K)]
    t0 = last_flush = time.perf_counter()

    def flush() -> None:
        nonlocal last_flush
        last_flush = time.perf_counter()
        for k in range(K):
            if pending[k] and sink is not None:
                sink(k, pending[k])
            pending[k] = []

    for step in range(1, steps + 1):
        if should_stop is not None and should_stop():
            for k in range(K):
                if live[k]:
                    results[k].status, live[k] = "cancelled", False
            break
        idx = order[step - 1]
        x, y = x_tr[idx], y_tr[idx]  # (B, ...) or (K, B, ...)
        logits = vmap_forward(params, x)  # (K, B, C)
        y_k = y if y.dim() == 2 else y.expand(K, -1)  # (K, B)
        losses = nn.functional.cross_entropy(logits.transpose(1, 2), y_k, reduction="none").mean(1)  # (K,)
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()  # variant k's params only touch losses[k]: grads stay per variant
        opt.step()
        with torch.no_grad():
            for n, m in stacked_masks.items():
                params[n].mul_(m)
            acc = (logits.argmax(-1) == y_k).float().mean(1)
        wall = time.perf_counter() - t0
        loss_l, acc_l = losses.detach().tolist(), acc.tolist()
        test = evaluate() if step % eval_every == 0 or step == steps else None
        for k in range(K):
            if not live[k]:
                continue
            row = {"step": step, "train_loss": loss_l[k], "train_acc": acc_l[k], "wall_time": wall}
            if test is not None:
                row["test_loss"], row["test_acc"] = float(test[0][k]), float(test[1][k])
            results[k].rows.append(row)
            results[k].steps_done = step
            pending[k].append(row)
            if not math.isfinite(loss_l[k]):
                results[k].status, live[k] = "diverged", False
        # Rows reach the sink in small batches: at evaluations and a few times a second,
        # so live curves move without one store transaction per step and variant.
        if test is not None or wall + t0 - last_flush > FLUSH_SECONDS:
            flush()
        if not any(live):
            break
    flush()
    for k in range(K):
        results[k].state_dict = {n: p[k].detach().cpu().clone() for n, p in params.items()}
    return results
