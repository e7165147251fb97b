"""The lottery experiments as jobs, end to end on tiny models: IMP rounds reach exactly the sparsity
they should, their masks nest, every ticket's zeros survive training (batched and one by one),
rewinding starts from the dense run's step, the sweep and transfer documents, and a killed IMP job
resumes from its last finished round in the real worker process. Waits are for states only."""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path

import pytest
import torch

from explorer import paths
from explorer.lottery.experiment import LotteryConfig, TransferConfig
from explorer.lottery.rounds import final_weights
from explorer.pruning.mask import Mask
from explorer.training.checkpoints import read_checkpoint
from explorer.jobs.backends import InlineBackend
from explorer.jobs.kinds import submission
from explorer.jobs.lifecycle import spawn
from explorer.lottery.kinds import IMP, SWEEP, TRANSFER
from explorer.training.store import RunStore

TINY = dict(model="moons_mlp", dataset="moons", steps=40, eval_every=20, log_every=5, lr=1e-2, device="cpu")


def wait_for(pred, timeout=300.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def masks_of(entry) -> list[Mask]:
    return [Mask.load(Path(d) / "mask.safetensors") for d in entry["masks"]]


@pytest.mark.parametrize("batched", [True, False])
def test_imp_rounds_nest_hit_their_sparsity_and_hold_zeros(tmp_path, one_thread, batched):
    store = RunStore(tmp_path)
    cfg = LotteryConfig.of(**TINY, rounds=3, rate=0.4, seeds=2, scope="layer", batched=batched)
    job = InlineBackend(store).run(IMP, cfg)
    assert job.status == "done", job.error
    doc = job.result
    assert [e["round"] for e in doc["rounds"]] == [1, 2, 3]
    prev = None
    for r, e in enumerate(doc["rounds"], start=1):
        masks = masks_of(e)
        total = masks[0].total
        assert abs(e["sparsity"] - (1 - 0.6 ** r)) <= 3 * len(masks[0]) / total  # per-tensor rounding only
        if prev is not None:
            assert all(m.is_subset_of(p) for m, p in zip(masks, prev))
        prev = masks
        assert sorted(e["runs"]) == ["random", "reinit", "ticket"]
        assert all(len(v["test_acc"]) == 2 for v in e["runs"].values())
        if r < 3:  # tickets of all but the last round keep their trained weights for the next round
            for rid, m in zip(e["runs"]["ticket"]["run_ids"], masks):
                w = final_weights(store, store.get(rid).config)
                for name, keep in m.items():
                    assert torch.count_nonzero(w[name][keep == 0]) == 0, f"{name} regrew a pruned weight"
                    assert torch.count_nonzero(w[name]) == int(keep.sum()), "density after training != mask density"
    runs = store.list_runs()
    assert all(r.status == "done" for r in runs) and len(runs) == 2 + 3 * 2 * 3
    assert {r.config.group for r in runs} == {f"lth-{cfg.id[:6]}-r{k}" for k in range(4)}


def test_rewinding_starts_the_ticket_at_the_dense_runs_step(tmp_path, one_thread):
    store = RunStore(tmp_path)
    cfg = LotteryConfig.of(**TINY, rounds=1, rate=0.5, seeds=1, rewind_step=10, controls=())
    job = InlineBackend(store).run(IMP, cfg)
    assert job.status == "done", job.error
    ticket = store.get(job.result["rounds"][0]["runs"]["ticket"]["run_ids"][0])
    dense = store.get(job.result["dense"]["run_ids"][0])
    assert ticket.config.init == "rewind" and ticket.config.rewind_from == dense.id
    assert paths.checkpoint(paths.checkpoints(store.dir), dense.id, 10).exists()
    assert "at step 10" in ticket.summary["init_source"]


def test_sweep_trains_every_sparsity_as_one_batched_job(tmp_path, one_thread):
    store = RunStore(tmp_path)
    cfg = LotteryConfig.of(**TINY, sweep=(0.5, 0.8, 0.95), seeds=2, controls=("random",), scope="layer")
    job = InlineBackend(store).run(SWEEP, cfg)
    assert job.status == "done", job.error
    for e, s in zip(job.result["rounds"], (0.5, 0.8, 0.95)):
        for m in masks_of(e):
            assert all(int(v.sum()) == v.numel() - math.floor(s * v.numel() + 0.5) for v in m.values())
    tickets = [store.get(rid) for e in job.result["rounds"] for rid in e["runs"]["ticket"]["run_ids"]]
    assert all("batched job of 12 runs" in r.summary["init_source"] for r in tickets)


def test_transfer_trains_a_ticket_of_task_a_on_task_b(tmp_path, one_thread):
    store = RunStore(tmp_path)
    cfg = TransferConfig.of(model="mlp", dataset="mnist1d", target_dataset="mnist1d@perm=3", steps=20, eval_every=10,
                         lr=1e-2, seeds=1, sparsity=0.8, device="cpu")
    job = InlineBackend(store).run(TRANSFER, cfg)
    assert job.status == "done", job.error
    rows = {r["row"]: r for r in job.result["rows"]}
    assert sorted(rows) == ["dense", "own", "random", "reinit", "transfer"]
    moved = store.get(rows["transfer"]["run_ids"][0]).config
    own = store.get(rows["own"]["run_ids"][0]).config
    assert moved.dataset == own.dataset == "mnist1d@perm=3" and moved.pruned_dir != own.pruned_dir
    assert Mask.load(Path(moved.pruned_dir) / "mask.safetensors").sparsity == pytest.approx(0.8, abs=1e-3)


def test_a_killed_imp_job_resumes_from_its_last_finished_round(tmp_path):
    store = RunStore(tmp_path)
    cfg = LotteryConfig.of(**{**TINY, "steps": 2000, "eval_every": 500}, rounds=2, rate=0.5, seeds=1,
                        controls=("random",))
    jid = store.submit(submission(IMP, cfg))
    w1 = spawn(tmp_path, ["--idle-exit", "30"])
    try:
        assert wait_for(lambda: any(f.kind == "round" for f in store.frames(jid)))
        assert wait_for(lambda: any(f.kind == "round_start" and f.payload["round"] == 2 for f in store.frames(jid)))
        os.kill(w1.pid, signal.SIGKILL)  # the worker dies while round 2 trains
        w1.wait()
    finally:
        if w1.poll() is None:
            w1.kill()
    assert store.get_job(jid).status == "running", "the job finished before the kill; give its rounds more steps"
    store.reap()
    assert store.get_job(jid).status == "queued" and store.get_job(jid).attempt == 2
    round1 = [f for f in store.frames(jid, kind="round") if f.payload["round"] == 1]
    assert len(round1) == 1 and round1[0].attempt == 1
    ids1 = [rid for v in round1[0].payload["runs"].values() for rid in v["run_ids"]]
    ckpt = paths.checkpoint(paths.checkpoints(tmp_path), ids1[0], cfg.train.steps)
    stamp = ckpt.stat().st_mtime_ns
    w2 = spawn(tmp_path, ["--idle-exit", "2"])
    try:
        assert wait_for(lambda: store.get_job(jid).status == "done")
    finally:
        w2.wait(timeout=300)
    frames = store.frames(jid, kind="round")
    assert [(f.payload["round"], f.attempt) for f in frames] == [(1, 1), (2, 2)]  # round 1 was not redone
    assert all(store.get(rid).attempt == 1 for rid in ids1) and ckpt.stat().st_mtime_ns == stamp
    assert [e["round"] for e in store.get_job(jid).result["rounds"]] == [1, 2]
    assert read_checkpoint(ckpt)  # the round-1 ticket's weights are still what round 2 pruned
