"""What the Ray tests share: a small run config and a wait on a condition (generous limits: a loaded
machine is slow, never wrong)."""

from __future__ import annotations

import time

from explorer.training.config import RunConfig


def cfg(**kw) -> RunConfig:
    base = dict(model="moons_mlp", dataset="moons", steps=30, eval_every=10, log_every=5, device="cpu")
    return RunConfig(**{**base, **kw})


def wait_for(pred, timeout: float = 180.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False
