"""The optimiser and learning-rate schedule of a run, for one model or for K stacked variants.

    >>> import torch
    >>> p = [torch.zeros(3, requires_grad=True)]
    >>> type(make_optimizer("sgd", p, 0.1, momentum=0.9)).__name__
    'SGD'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where it is used, so `--help` and config stay light
    import torch

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "cosine")


class OptimError(ValueError):
    """An optimiser or schedule name that does not exist."""


def make_optimizer(name: str, params: list[torch.Tensor], lr: float, *, momentum: float = 0.0,
                   weight_decay: float = 0.0, fused: bool = False) -> torch.optim.Optimizer:
    """'adam' or 'sgd' over `params`. With `fused`, torch's fused implementation where this build has
    one for the device (the same update to rounding, in one pass instead of ~10 — it pays once the
    tensors are K stacked variants); otherwise, or where there is none, the default per-tensor loop."""
    import torch

    if name not in OPTIMIZERS:
        raise OptimError(f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}")
    for f in ((True, None) if fused else (None,)):
        try:
            if name == "adam":
                return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=f)
            return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, fused=f)
        except (RuntimeError, TypeError, ValueError):
            if f is None:
                raise
    raise AssertionError("unreachable")


def make_schedule(optimizer: torch.optim.Optimizer, schedule: str, steps: int) -> Any:
    """None for 'constant'; CosineAnnealingLR to 0 at the last step for 'cosine'."""
    if schedule not in SCHEDULES:
        raise OptimError(f"unknown schedule {schedule!r}; use one of {', '.join(SCHEDULES)}")
    if schedule == "cosine":
        import torch

        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return None
