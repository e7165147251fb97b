"""The Ray backend on a real multi-node cluster the test starts (`ray.cluster_utils.Cluster`):
a head node with no CPUs (it holds the driver and the hub actor) and two worker nodes of one CPU
each, every node on 127.0.0.1 (tests/conftest.py sets RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 before
Ray is imported). Checked: runs spread over both nodes (two run at once; only the two worker nodes
have CPUs), their metrics land in the driver's store, and a node killed mid-run fails its run with
a reason naming the lost worker, keeps every metric row stored before the kill, and leaves the
run on the other node training."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import ray  # a requirement: CI must run this test, never skip it
from ray.cluster_utils import Cluster

from explorer import paths
from explorer.training.config import RunConfig
from explorer.training.store import RunStore
from tests.ray_support import assert_done_with_every_metric, cfg, wait_for

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


# ---- the only lines that know the backend's API ------------------------------------------------------
def make_backend(store: RunStore):
    from explorer.jobs.ray_backend import RayBackend

    return RayBackend(store, poll_s=0.1, cancel_grace_s=20)  # joins the cluster the driver is connected to


def submit(backend, configs: list[RunConfig]) -> list[str]:
    from explorer.training.kinds import submit_runs

    return submit_runs(backend, configs)  # a train job each: a Ray task each
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if ray.is_initialized():
        ray.shutdown()
    data = tmp_path_factory.mktemp("ray_cluster_data")
    c = Cluster(initialize_head=True, head_node_args=dict(num_cpus=0, object_store_memory=80 * MB,
                                                            include_dashboard=False))
    workers = [c.add_node(num_cpus=1, object_store_memory=80 * MB) for _ in range(2)]
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), paths.ENV: str(data),
                                       "OMP_NUM_THREADS": "1"}})
    backend = make_backend(RunStore(data))
    yield c, workers, backend
    backend.shutdown()
    ray.shutdown()
    c.shutdown()


def test_every_node_is_on_loopback_and_only_workers_have_cpus(cluster):
    c, workers, _ = cluster
    nodes = [n for n in ray.nodes() if n["Alive"]]
    assert len(nodes) == 3
    assert {n["NodeManagerAddress"] for n in nodes} == {"127.0.0.1"}
    cpus = sorted(n["Resources"].get("CPU", 0) for n in nodes)
    assert cpus == [0, 1, 1]
    assert {w.node_ip_address for w in workers} == {"127.0.0.1"}


def test_runs_spread_over_nodes_and_land_in_the_driver_store(cluster):
    _, _, backend = cluster
    store = backend.store
    configs = [cfg(seed=s, group="spread") for s in range(4)]
    ids = submit(backend, configs)
    assert backend.wait(ids, 300), [store.get(r) for r in ids]
    for rid in ids:
        assert_done_with_every_metric(store, rid)


def _node_of_hub(backend) -> str:
    return ray._private.state.actors(backend.hub._actor_id.hex())["Address"]["NodeID"]


def test_a_node_killed_mid_run_fails_its_run_and_keeps_its_metrics(cluster):
    c, workers, backend = cluster
    store = backend.store
    long = [cfg(seed=100 + s, steps=10_000_000, eval_every=200, log_every=20, group="kill") for s in range(2)]
    ids = submit(backend, long)
    # both train at once: the head has no CPU and each worker node one, so they run on different nodes
    assert wait_for(lambda: all(store.metrics(r, split="train") for r in ids)), [store.get(r) for r in ids]
    worker_ids = {w.node_id for w in workers}
    # the per-node resource view is gossiped and lags the tasks: wait for it to show both workers busy
    busy = ray._private.state.available_resources_per_node
    assert wait_for(lambda: all(busy()[n].get("CPU", 0) == 0 for n in worker_ids), 60), busy()
    # the hub actor is pinned to the driver's node (the head): killing either worker node leaves it
    assert _node_of_hub(backend) == ray.get_runtime_context().get_node_id() not in worker_ids
    victim = workers[0]
    before = {r: store.metrics(r) for r in ids}
    c.remove_node(victim, allow_graceful=False)
    assert wait_for(lambda: any(store.get(r).status == "failed" for r in ids), 120), [store.get(r) for r in ids]
    failed = [r for r in ids if store.get(r).status == "failed"]
    assert len(failed) == 1  # the run on the other node is not touched
    lost, alive = failed[0], next(r for r in ids if r not in failed)
    err = store.get(lost).error
    # e.g. "NodeDiedError: Task failed because the node it was running on is dead or unavailable. ..."
    assert err and ("NodeDiedError" in err or "WorkerCrashedError" in err), err
    kept = store.metrics(lost)
    assert kept[:len(before[lost])] == before[lost]  # nothing stored before the kill was lost
    # the survivor keeps training after the kill, then stops cleanly on cancel with its metrics
    step = store.get(alive).step
    assert wait_for(lambda: store.get(alive).step > step), store.get(alive)
    backend.cancel(alive)
    assert wait_for(lambda: store.get(alive).status == "cancelled", 120), store.get(alive)
    assert store.metrics(alive)[:len(before[alive])] == before[alive]
