"""Training on a CUDA device, checked against the same work on the CPU (marked `cuda`).

These tests need a CUDA device. Where there is none, `tests/conftest.py` deselects them and says so in
the summary (CI has no GPU); `bench/gpu_check.sh` runs them with `-m cuda` on a GPU machine, where a
missing device is a failure, not a skip. Checked: `device=auto` picks CUDA; a run trains there and its
first steps agree with the CPU's; rewind checkpoints written from CUDA are plain CPU tensors on disk
and a rewound ticket trains from them on CUDA; a batched job keeps each run's metrics under its own
id and agrees with the runs trained one by one; a lottery sweep job runs its rounds on CUDA.

`EXPLORER_CUDA_TESTS_ON=cpu` runs the same checks on the CPU: a check of the tests themselves on a
machine without a GPU, never a substitute for running them on one."""

from __future__ import annotations

import os

import pytest
import torch

from explorer import paths
from explorer.training.config import RunConfig
from explorer.training.runner import execute

pytestmark = pytest.mark.cuda
DEV = os.environ.get("EXPLORER_CUDA_TESTS_ON", "cuda")


@pytest.fixture(autouse=True)
def cuda_present():
    assert DEV == "cpu" or torch.cuda.is_available(), ("no CUDA device: these tests check training on a GPU; run them on a GPU "
                                       "machine (bench/gpu_check.sh), or leave out -m cuda")


def cfg(**kw) -> RunConfig:
    base = dict(model="mlp", dataset="mnist1d", steps=60, eval_every=20, log_every=5, device=DEV)
    return RunConfig(**{**base, **kw})


def _train_losses(rows: list[dict]) -> list[float]:
    return [r["loss"] for r in rows if r["split"] == "train"]


def test_auto_is_cuda_and_a_run_agrees_with_the_cpu(tmp_path):
    from explorer.runtime.device import resolve

    assert resolve("auto").type == DEV
    gpu: list = []
    cpu: list = []
    res = execute(cfg(), gpu.extend, checkpoint_root=tmp_path)
    ref = execute(cfg(device="cpu", group="reference"), cpu.extend, checkpoint_root=tmp_path)
    assert res.device.startswith(DEV) and ref.device == "cpu"
    assert res.status == "done" and res.steps_done == 60
    g, c = _train_losses(gpu), _train_losses(cpu)
    assert len(g) == len(c) and all(torch.isfinite(torch.tensor(g)))
    assert max(abs(x - y) / abs(y) for x, y in zip(g[:4], c[:4])) < 1e-3  # the same computation, early steps


def test_checkpoints_from_cuda_are_cpu_files_and_a_rewound_ticket_trains_on_cuda(tmp_path):
    from safetensors.torch import load_file

    from explorer import models
    from explorer.pruning.mask import Mask

    dense = cfg(rewind_step=5, save_final=True)
    assert execute(dense, checkpoint_root=tmp_path).status == "done"
    ck = paths.checkpoint(tmp_path, dense.run_id, 5)
    state = load_file(str(ck))
    assert state and all(t.device.type == "cpu" for t in state.values())  # portable: no device in the file
    model = models.load("mlp", seed=0).model
    mask = Mask({n: (torch.rand_like(p) > 0.5).float() for n, p in model.named_parameters() if p.dim() >= 2})
    mask.save(tmp_path / "mask.safetensors")
    ticket = cfg(init="rewind", rewind_step=5, pruned_dir=str(tmp_path / "mask.safetensors"),
                 rewind_from=dense.run_id)
    r = execute(ticket, checkpoint_root=tmp_path)
    assert r.status == "done" and r.device.startswith(DEV) and 0.45 < r.sparsity < 0.55


def test_a_batched_job_on_cuda_keeps_each_runs_metrics_and_agrees(tmp_path):
    from explorer.training.sweep import execute_sweep

    configs = [cfg(seed=s, group="cuda-sweep") for s in range(4)]
    seq: dict[str, list] = {c.run_id: [] for c in configs}
    for c in configs:
        execute(c, seq[c.run_id].extend, checkpoint_root=tmp_path)
    bat: dict[str, list] = {c.run_id: [] for c in configs}
    results = execute_sweep(configs, lambda rid, rows: bat[rid].extend(rows), checkpoint_root=tmp_path)
    assert [r.run_id for r in results] == [c.run_id for c in configs]
    assert all(r.device.startswith(DEV) and r.status == "done" for r in results)
    for c in configs:
        assert [(x["step"], x["split"]) for x in bat[c.run_id]] == [(x["step"], x["split"]) for x in seq[c.run_id]]
        b, s = _train_losses(bat[c.run_id]), _train_losses(seq[c.run_id])
        assert max(abs(x - y) / abs(y) for x, y in zip(b[:4], s[:4])) < 1e-3


def test_a_lottery_sweep_job_runs_on_cuda(tmp_path):
    from explorer.lottery.experiment import LotteryConfig
    from explorer.jobs.backends import InlineBackend
    from explorer.lottery.kinds import SWEEP
    from explorer.training.store import RunStore

    lc = LotteryConfig.of(model="moons_mlp", dataset="moons", sweep=(0.5, 0.9), steps=40, eval_every=20, seeds=1,
                          controls=("random",), device=DEV)
    store = RunStore(tmp_path)
    job = InlineBackend(store).run(SWEEP, lc)
    assert job.status == "done", job.error
    ids = [rid for e in job.result["rounds"] for role in ("ticket", "random") for rid in e["runs"][role]["run_ids"]]
    assert ids and all(store.get(r).device.startswith(DEV) for r in ids)
    assert [round(e["sparsity"], 2) for e in job.result["rounds"]] == [0.5, 0.9]
