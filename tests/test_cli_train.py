"""`python -m explorer train` and `runs`: in-process, via the worker, dense reference, export, cancel."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer import models
from explorer.cli import main
from explorer.training.config import RunConfig
from explorer.training.store import RunStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    return tmp_path


def run_json(capsys, *argv) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_train_in_process_json_and_runs(data, capsys):
    o = run_json(capsys, "train", "moons_mlp", "--steps", "60", "--eval-every", "20", "--lr", "0.01",
                 "--device", "cpu", "--json")
    assert o["status"] == "done" and o["steps_done"] == 60 and o["steps_per_s"] > 0 and o["recorded"]
    assert o["config"]["dataset"] == "moons"  # the model's default
    assert set(o["final"]) == {"train_loss", "train_acc", "test_loss", "test_acc"}
    rid = o["run_id"]
    s = RunStore(data)
    assert s.get(rid).status == "done" and s.get(rid).device == "cpu"

    listed = run_json(capsys, "runs", "list", "--json")
    assert [r["id"] for r in listed] == [rid] and listed[0]["torch_version"]

    assert main(["runs", "export", rid, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(s.metrics(rid)) and rows[0]["run_id"] == rid
    ex = run_json(capsys, "runs", "export", rid, "--format", "json")
    assert ex["config"]["steps"] == 60 and len(ex["metrics"]) == len(rows)

    # ticket against the dense reference: iterations-to-target are reported for both
    d = data / "pruned"
    d.mkdir()
    model = models.load("moons_mlp").model
    from explorer.pruning.mask import Mask

    Mask({n: (p.abs() > p.abs().median()).float() for n, p in model.named_parameters() if p.dim() > 1}).save(
        d / "mask.safetensors")
    (d / "spec.json").write_text(json.dumps({"model": "moons_mlp"}))
    t = run_json(capsys, "train", "moons_mlp", "--steps", "60", "--lr", "0.01", "--device", "cpu", "--mask", str(d),
                 "--dense-reference", rid, "--target", "0.5", "--json")
    assert t["config"]["init"] == "ticket" and 0.4 < t["sparsity"] < 0.6
    dense_best = max(m["acc"] for m in s.metrics(rid, split="train"))
    assert t["target_acc"] == pytest.approx(0.5 * dense_best)
    assert t["dense_iterations_to_target"] is not None

    # human output too
    assert main(["train", "moons_mlp", "--steps", "20", "--device", "cpu", "--no-store"]) == 0
    out = capsys.readouterr().out
    assert "training steps/s" in out and "final:" in out


def test_cancel_and_errors(data, capsys):
    s = RunStore(data)
    rid = s.submit(RunConfig(model="moons_mlp", dataset="moons"))
    assert main(["runs", "cancel", rid]) == 0
    assert "cancelled" in capsys.readouterr().out and s.get(rid).status == "cancelled"
    assert main(["runs", "export", "nope"]) == 2
    assert "runs list" in capsys.readouterr().err
    assert main(["train", "mlp", "--dataset", "moons", "--device", "cpu", "--steps", "5"]) == 2
    assert "model expects (40,)" in capsys.readouterr().err


def test_submit_via_worker_subprocess(data):
    env = {**os.environ, "EXPLORER_DATA_DIR": str(data), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "explorer", "train", "moons_mlp", "--steps", "30", "--device", "cpu",
                        "--submit", "--wait", "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    o = json.loads(p.stdout)
    assert o["submitted"] and o["status"] == "done" and o["steps_done"] == 30
    assert (data / "worker.log").exists()
