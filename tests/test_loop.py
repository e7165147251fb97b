"""Loop, callbacks, runner and inits: tickets start at the dense init, masks hold, data order is shared."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from explorer import models
from explorer.pruning.mask import Mask
from explorer import paths
from explorer.training import roles
from explorer.training.rewind import RewindError
from explorer.training.config import ConfigError, RunConfig
from explorer.training.loop import Callback
from explorer.training.runner import execute


def magnitude_mask(model: torch.nn.Module, keep: float = 0.4) -> Mask:
    out = {}
    for n, p in model.named_parameters():
        if p.dim() >= 2:
            k = max(1, int(keep * p.numel()))
            thr = p.abs().flatten().kthvalue(p.numel() - k + 1).values
            out[n] = (p.abs() >= thr).float()
    return Mask(out)


@pytest.fixture
def pruned_dir(tmp_path):
    d = tmp_path / "pruned"
    d.mkdir()
    magnitude_mask(models.load("moons_mlp", 123).model).save(d / "mask.safetensors")
    (d / "spec.json").write_text(json.dumps({"format": "explorer-pruned/1", "model": "moons_mlp"}))
    return str(d)


def cfg(**kw) -> RunConfig:
    base = dict(model="moons_mlp", dataset="moons", steps=30, eval_every=10, log_every=5, device="cpu")
    return RunConfig(**{**base, **kw})


class Capture(Callback):
    """Records the weights at the start, and the batches seen."""

    def __init__(self):
        self.start: dict[str, torch.Tensor] = {}
        self.end: dict[str, torch.Tensor] = {}
        self.ys: list[torch.Tensor] = []

    def on_start(self, s):
        self.start = {k: v.detach().clone() for k, v in s.model.state_dict().items()}

    def on_step(self, s):
        self.ys.append(s.y.clone())

    def on_end(self, s):
        self.end = {k: v.detach().clone() for k, v in s.model.state_dict().items()}


def test_ticket_starts_from_the_dense_init(tmp_path, pruned_dir):
    dense, ticket = Capture(), Capture()
    execute(cfg(seed=3), extra_callbacks=[dense], checkpoint_root=tmp_path / "ck")
    execute(cfg(seed=3, init="ticket", pruned_dir=pruned_dir), extra_callbacks=[ticket], checkpoint_root=tmp_path)
    mask = Mask.load(f"{pruned_dir}/mask.safetensors")
    # independent reference: the dense run's own step-0 checkpoint on disk
    ck = load_file(str(paths.checkpoint(tmp_path / "ck", cfg(seed=3).run_id, 0)))
    ref = models.load("moons_mlp", 3).model.state_dict()
    for k, v in ticket.start.items():
        m = mask[k] if k in mask else torch.ones_like(v)
        assert torch.equal(v, ck[k] * m), k
        assert torch.equal(v, ref[k] * m), k
        assert torch.equal(dense.start[k], ref[k]), k


def test_reinit_and_random_controls(pruned_dir):
    mask = Mask.load(f"{pruned_dir}/mask.safetensors")
    ticket = roles.build(cfg(seed=0, init="ticket", pruned_dir=pruned_dir))
    reinit = roles.build(cfg(seed=0, init="reinit", pruned_dir=pruned_dir))
    rand = roles.build(cfg(seed=0, init="random", pruned_dir=pruned_dir))
    assert reinit.mask == mask and ticket.mask == mask
    w_t, w_r = ticket.model.fc1.weight, reinit.model.fc1.weight
    assert not torch.equal(w_t, w_r)  # a fresh init ...
    assert torch.equal(w_r == 0, (mask["fc1.weight"] == 0) | (w_r == 0))  # ... under the same mask
    assert rand.mask != mask
    for k in mask:  # equal per-layer sparsity
        assert rand.mask[k].sum() == mask[k].sum() and rand.mask[k].shape == mask[k].shape
    dense = models.load("moons_mlp", 0).model
    assert torch.equal(rand.model.fc1.weight, dense.fc1.weight * rand.mask["fc1.weight"])


def test_mask_holds_through_training(pruned_dir):
    cap = Capture()
    r = execute(cfg(init="ticket", pruned_dir=pruned_dir, steps=50, lr=0.05), extra_callbacks=[cap])
    mask = Mask.load(f"{pruned_dir}/mask.safetensors")
    for k, m in mask.items():
        assert (cap.end[k][m == 0] == 0).all(), k
        assert not torch.equal(cap.end[k], cap.start[k])  # and it trained
    assert r.kept_params == r.params - (mask.total - mask.kept)
    assert math.isclose(r.sparsity, mask.sparsity)


def test_same_data_order_across_a_group(pruned_dir):
    a, b, c = Capture(), Capture(), Capture()
    execute(cfg(seed=0), extra_callbacks=[a])
    execute(cfg(seed=7, init="reinit", pruned_dir=pruned_dir), extra_callbacks=[b])
    execute(cfg(seed=0, data_seed=1), extra_callbacks=[c])
    assert all(torch.equal(x, y) for x, y in zip(a.ys, b.ys, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a.ys, c.ys, strict=True))


def test_rewind_uses_the_dense_checkpoint(tmp_path, pruned_dir):
    dense = cfg(rewind_step=10)
    execute(dense, checkpoint_root=tmp_path)
    ck = load_file(str(paths.checkpoint(tmp_path, dense.run_id, 10)))
    rw = cfg(rewind_step=10, init="rewind", pruned_dir=pruned_dir)
    assert rw.dense_twin().run_id == dense.run_id
    start = roles.build(rw, checkpoint_root=tmp_path)
    m = start.mask["fc1.weight"]
    assert torch.equal(start.model.fc1.weight.detach(), ck["fc1.weight"] * m)
    with pytest.raises(RewindError, match="dense twin"):
        roles.build(cfg(rewind_step=20, init="rewind", pruned_dir=pruned_dir), checkpoint_root=tmp_path)


def test_deterministic_and_metrics_shape():
    rows1, rows2 = [], []
    r1 = execute(cfg(), rows1.extend)
    execute(cfg(), rows2.extend)
    strip = lambda rows: [(r["step"], r["split"], r["loss"], r["acc"]) for r in rows]  # noqa: E731
    assert strip(rows1) == strip(rows2)
    assert [r["step"] for r in rows1 if r["split"] == "test"] == [0, 10, 20, 30]
    assert [r["step"] for r in rows1 if r["split"] == "train"] == [5, 10, 15, 20, 25, 30]
    assert all(0 <= r["acc"] <= 1 and r["wall_time"] >= 0 for r in rows1)
    last_test = [r for r in rows1 if r["split"] == "test"][-1]
    assert r1.status == "done" and r1.final["test_acc"] == last_test["acc"]


def test_divergence_and_cancel():
    rows = []
    r = execute(cfg(optimizer="sgd", lr=1e12, steps=100), rows.extend)
    assert r.status == "diverged" and r.steps_done < 100
    assert any(row["loss"] is None or not math.isfinite(row["loss"]) for row in rows if row["split"] == "train")
    calls = []
    r = execute(cfg(steps=10**6), should_stop=lambda: calls.append(1) or len(calls) > 2)
    assert r.status == "cancelled" and r.steps_done < 10**6


def test_errors_name_the_fix(pruned_dir):
    with pytest.raises(ConfigError, match="pruned_dir"):
        cfg(init="ticket")
    with pytest.raises(ValueError, match="model expects"):
        execute(cfg(model="mlp", dataset="moons"))  # 2-D points into a 40-input MLP
    with pytest.raises(roles.InitError, match="pruned from model 'moons_mlp'"):
        roles.build(cfg(model="mlp", dataset="mnist1d", init="ticket", pruned_dir=pruned_dir))
    from explorer.runtime.device import DeviceError, available

    if "cuda" not in available():
        with pytest.raises(DeviceError, match="device='auto'"):
            execute(cfg(device="cuda"))


def test_ticket_from_a_real_prune_export(tmp_path, monkeypatch):
    """The Prune export (`python -m explorer prune ... --out`) read through load_pruned: the ticket is
    the dense init of the run's seed times the exported mask; the random control keeps per-layer counts."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "export"
    env = {**os.environ, "EXPLORER_DATA_DIR": str(tmp_path), "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-m", "explorer", "prune", "moons_mlp", "--criterion", "magnitude",
                    "--sparsity", "0.5", "--out", str(out)], check=True, env=env, cwd=root, timeout=300,
                   capture_output=True)
    assert json.loads((out / "spec.json").read_text())["format"] == "explorer-pruned/1"
    mask = Mask.load(out / "mask.safetensors")
    for seed in (0, 4):
        t = roles.build(cfg(seed=seed, init="ticket", pruned_dir=str(out)))
        ref = models.load("moons_mlp", seed).model.state_dict()
        for k, v in t.model.state_dict().items():
            assert torch.equal(v, ref[k] * (mask[k] if k in mask else 1)), (seed, k)
    r = roles.build(cfg(seed=0, init="random", pruned_dir=str(out)))
    assert all(r.mask[k].sum() == mask[k].sum() for k in mask)
    res = execute(cfg(init="ticket", pruned_dir=str(out), steps=20))
    assert res.status == "done" and math.isclose(res.sparsity, mask.sparsity)
    with pytest.raises(roles.InitError, match="pruned from model 'moons_mlp'"):
        roles.build(cfg(model="mlp", dataset="mnist1d", init="ticket", pruned_dir=str(out)))
