"""Instability (linear mode connectivity, docs/science.md §7): two copies of a network start
from the same point — the init, or a parent run's weights at `rewind_step` — and train with
different data orders. Along the straight line θ(α) = (1-α) θ_A + α θ_B between the two
results the test error is measured at `points` values of α; the *barrier* is its maximum
minus the mean of the two ends. A stable network (or ticket) shows no barrier; two copies
trained with the same data order are the same network, so their barrier is exactly 0.

Buffers (BatchNorm running statistics) are interpolated with the weights.

    >>> import torch
    >>> barrier([(0.0, 0.1), (0.5, 0.4), (1.0, 0.2)])
    0.25
    >>> a = {"w": torch.zeros(2)}; b = {"w": torch.ones(2)}
    >>> interpolate(a, b, 0.25)["w"].tolist()
    [0.25, 0.25]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from explorer.lottery.experiment import StabilityConfig
from explorer.lottery.rounds import clean, final_weights, train_round
from explorer.pruning.export import write_mask
from explorer.pruning.mask import Mask
from explorer.training.kinds import train_runs


def interpolate(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """(1-α) a + α b for floating tensors; integer buffers (BatchNorm's step counter) from the nearer end."""
    out = {}
    for k, va in a.items():
        vb = b[k]
        out[k] = torch.lerp(va, vb, alpha) if va.is_floating_point() else (va if alpha < 0.5 else vb).clone()
    return out


def barrier(curve: Sequence[tuple[float, float]]) -> float:
    """max error along the line minus the mean of the two ends' errors."""
    errs = [e for _, e in curve]
    return max(errs) - 0.5 * (errs[0] + errs[-1])


@torch.no_grad()
def error_curve(model: torch.nn.Module, a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor],
                x: torch.Tensor, y: torch.Tensor, points: int = 11, mask: Mask | None = None) -> list[list[float]]:
    """[[α, test error], ...] at `points` evenly spaced α in [0, 1] (`model` is overwritten)."""
    from explorer.training.callbacks import Evaluate

    ev = Evaluate(x, y, every=1)
    out = []
    for i in range(points):
        alpha = i / (points - 1)
        model.load_state_dict(interpolate(a, b, alpha))
        if mask is not None:
            mask.apply_(model)
        _, acc = ev.evaluate(model)
        out.append([alpha, 1.0 - acc])
    return out


def copy_configs(cfg: StabilityConfig, seed: int, mask_dir: str) -> tuple[Any | None, list[Any]]:
    """The parent run (None when the copies start at the init) and the two copies of `seed`."""
    k, group = cfg.rewind_step, f"stab-{cfg.id[:6]}"
    parent = None
    if k > 0:
        parent = cfg.run_config(init="dense", seed=seed, steps=k, rewind_step=k, group=group, label=f"parent s{seed}")
    copies = []
    for name, order in (("A", cfg.order_a), ("B", cfg.order_b)):
        g = group + ("-B" if name == "B" and cfg.order_a == cfg.order_b else "")  # identical copies: two runs still
        common = dict(seed=seed, pruned_dir=mask_dir, data_seed=order, save_final=True, group=g,
                      label=f"copy {name} s{seed}", steps=cfg.train.steps - k)
        if parent is not None:
            copies.append(cfg.run_config(init="rewind", rewind_step=k, rewind_from=parent.run_id, **common))
        else:
            copies.append(cfg.run_config(init="ticket", **common))
    return parent, copies


def _mask_dir(ctx: Any, cfg: StabilityConfig) -> str:
    """The ticket's folder, or (dense network) an all-ones mask written to the work folder."""
    if cfg.pruned_dir:
        return cfg.pruned_dir
    from explorer import models
    from explorer.lottery.magnitude import ones, prunable

    m = models.load(cfg.train.model, 0).model
    params = dict(m.named_parameters())
    return write_mask(Path(ctx.workdir) / "dense", ones({n: params[n] for n in prunable(m)}), spec=cfg.train.model,
                      extra={"lottery": {"note": "all ones: the dense network"}})


def run_stability(ctx: Any, cfg: StabilityConfig) -> dict[str, Any]:
    """Train the copies of each seed and measure the error along the line between them."""
    from explorer import models
    from explorer.data import load_dataset

    cfg = cfg.resolved()
    mask_dir = _mask_dir(ctx, cfg)
    mask = Mask.load(Path(mask_dir) / "mask.safetensors") if Path(mask_dir).is_dir() else Mask.load(mask_dir)
    plans = [copy_configs(cfg, s, mask_dir) for s in cfg.seed_list()]
    parents = [p for p, _ in plans if p is not None]
    if parents:
        ctx.progress(0.0, "training the parent runs to the rewind step")
        train_runs(ctx, parents)
    copies = [c for _, cs in plans for c in cs]
    if not train_round(ctx, "copies", "two copies per seed", copies, 0.2, "training the two copies"):
        return {"config": cfg.to_dict(), "barrier": None, "curve": []}
    per_seed = []
    for s, (_, (a, b)) in zip(cfg.seed_list(), plans):
        lm = models.load(cfg.train.model, s)
        data = load_dataset(cfg.train.dataset).reshaped(lm.info.input_shape)
        curve = error_curve(lm.model, final_weights(ctx.store, a), final_weights(ctx.store, b), data.x_test,
                            data.y_test, cfg.points, mask)
        per_seed.append({"seed": s, "barrier": barrier(curve), "curve": curve, "run_ids": [a.run_id, b.run_id]})
        ctx.emit("curve", per_seed[-1])
    mean = [[per_seed[0]["curve"][i][0], sum(p["curve"][i][1] for p in per_seed) / len(per_seed)]
            for i in range(cfg.points)]
    ctx.progress(1.0, "done")
    return clean({"config": cfg.to_dict(), "barrier": barrier(mean), "curve": mean, "per_seed": per_seed,
                  "sparsity": mask.sparsity})

