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


def assert_done_with_every_metric(store, rid: str) -> None:
    """A `cfg()` run finished with its whole metric record (train every 5 steps, test every 10, 30 steps)."""
    run = store.get(rid)
    assert run.status == "done", run.error
    m = store.metrics(rid)
    assert [x["step"] for x in m if x["split"] == "train"] == [5, 10, 15, 20, 25, 30]
    assert [x["step"] for x in m if x["split"] == "test"] == [0, 10, 20, 30]
    assert run.summary["steps_done"] == 30 and run.progress == 1.0
