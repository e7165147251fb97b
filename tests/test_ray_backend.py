"""Ray backend smoke test against a local Ray instance the test starts:
runs reach done with their metrics in the driver's store, cancel works (a running task
stops cleanly, a waiting one is ray.cancel'led), a sweep runs as one batched task, a bad
run fails with its reason, and the dashboard is off."""

from __future__ import annotations

import time

import pytest
import ray  # a requirement: CI must run this test, never skip it

from explorer.training.config import RunConfig
from explorer.training.store import RunStore


def cfg(**kw) -> RunConfig:
    base = dict(model="moons_mlp", dataset="moons", steps=30, eval_every=10, log_every=5, device="cpu")
    return RunConfig(**{**base, **kw})


def wait_for(pred, timeout=120.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    from explorer.training.jobs.ray_backend import RayBackend

    if ray.is_initialized():
        ray.shutdown()
    store = RunStore(tmp_path_factory.mktemp("ray_data"))
    b = RayBackend(store, num_cpus=1, object_store_memory=100 * 1024 * 1024, poll_s=0.1, cancel_grace_s=20)
    yield b
    b.shutdown()
    assert not ray.is_initialized()  # it stopped the instance it started


def test_two_runs_reach_done_with_metrics(backend):
    store = backend.store
    configs = [cfg(seed=0, group="two"), cfg(seed=1, group="two")]
    ids = backend.submit(configs)
    assert ids == [c.run_id for c in configs]
    assert all(store.get(r).status == "running" and store.get(r).worker_id.startswith("ray:") for r in ids)
    assert backend.wait(ids, 240), [store.get(r) for r in ids]
    for rid in ids:
        run = store.get(rid)
        assert run.status == "done", run.error
        m = store.metrics(rid)
        assert [x["step"] for x in m if x["split"] == "train"] == [5, 10, 15, 20, 25, 30]
        assert [x["step"] for x in m if x["split"] == "test"] == [0, 10, 20, 30]
        assert run.device == "cpu" and run.torch_version and run.summary["steps_done"] == 30
        assert run.progress == 1.0
    assert not backend.active()
    # the dashboard is off: nothing of ours listens for the web
    assert not ray._private.worker.global_worker.node.address_info.get("webui_url")


def test_cancel_running_and_waiting_runs(backend):
    store = backend.store
    running, waiting = cfg(seed=10, steps=10_000_000, eval_every=10_000), cfg(seed=11, steps=10_000_000)
    ids = backend.submit([running, waiting])
    assert wait_for(lambda: store.metrics(ids[0], split="train"), 120)  # the first is training
    assert store.get(ids[1]).step == 0  # one CPU: the second waits for a Ray slot
    backend.cancel(ids[1])
    store.request_cancel(ids[0])  # from the store alone, as another process would
    assert wait_for(lambda: all(store.get(r).status == "cancelled" for r in ids), 60), [store.get(r) for r in ids]
    first = store.get(ids[0])
    assert first.step > 0 and store.metrics(ids[0])  # stopped cleanly, metrics kept
    assert first.summary is not None and first.summary["status"] == "cancelled"
    assert not store.metrics(ids[1], split="train")


def test_sweep_is_one_task_and_bad_runs_fail(backend, tmp_path):
    store = backend.store
    sweep = [cfg(seed=s, group="sweep") for s in (20, 21, 22)]
    ids = backend.submit_sweep(sweep)
    assert len({id(backend.jobs[r]) for r in ids if r in backend.jobs}) <= 1
    bad = cfg(dataset=str(tmp_path / "missing.csv"))
    bad_id = backend.submit([bad])[0]
    assert backend.wait([*ids, bad_id], 240)
    for rid in ids:
        assert store.get(rid).status == "done"
        assert [x["step"] for x in store.metrics(rid, split="test")] == [0, 10, 20, 30]
        assert "batched job of 3 runs" in store.get(rid).summary["init_source"]
    run = store.get(bad_id)
    assert run.status == "failed" and "missing.csv" in run.error and "does not exist" in run.error
