"""`python -m explorer lottery | earlybird | stability` print the documents of issue 10 from real
runs; `lottery --out` writes each round's ticket in the Prune export format; two identical copies
have barrier 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from explorer.lottery.earlybird import Detector
from explorer.pruning.export import describe, load_pruned

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--dataset", "moons", "--steps", "40", "--eval-every", "10", "--lr", "0.01", "--device", "cpu"]


def cli(tmp_path, *args: str) -> dict:
    env = {**os.environ, "EXPLORER_DATA_DIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, "-m", "explorer", *args, "--json"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_lottery_prints_the_document_and_writes_prune_exports(tmp_path):
    out = tmp_path / "tickets"
    doc = cli(tmp_path, "lottery", "moons_mlp", *TINY, "--rounds", "2", "--rate", "0.5", "--layerwise",
              "--output-rate", "0.25", "--seeds", "2", "--controls", "reinit,random", "--out", str(out))
    assert {"config", "dense", "rounds"} <= set(doc)
    assert set(doc["dense"]) >= {"test_acc", "iters_to_target"} and len(doc["dense"]["test_acc"]) == 2
    assert doc["config"]["scope"] == "layer" and doc["config"]["output_rate"] == 0.25
    for r, e in enumerate(doc["rounds"], start=1):
        assert {"round", "sparsity", "layer_density", "runs"} <= set(e) and e["round"] == r
        assert e["layer_density"]["fc1.weight"] == 0.5 ** r and e["layer_density"]["out.weight"] == 0.75 ** r
        assert sorted(e["runs"]) == ["random", "reinit", "ticket"]
        for role in e["runs"].values():
            assert {"test_acc", "best_train_acc", "iters_to_target"} <= set(role) and len(role["test_acc"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["round01_s0", "round01_s1", "round02_s0", "round02_s1"]
    ref = describe(out / "round02_s1")
    assert ref.full and ref.model == "moons_mlp"
    pruned = load_pruned(out / "round02_s1")
    assert pruned.mask.layer_density()["fc2.weight"] == 0.25
    assert torch.count_nonzero(pruned.model.fc2.weight) == int(pruned.mask["fc2.weight"].sum())
    assert pruned.selection.granularity == "unit" and len(pruned.selection.arcs) > 0


def test_sweep_prints_one_entry_per_sparsity(tmp_path):
    doc = cli(tmp_path, "lottery", "moons_mlp", *TINY, "--sweep", "0.5,0.9", "--seeds", "1", "--controls", "random")
    assert [round(e["sparsity"], 3) for e in doc["rounds"]] == [0.5, 0.9] and doc["config"]["sweep"] == [0.5, 0.9]


def test_earlybird_prints_its_document(tmp_path):
    doc = cli(tmp_path, "earlybird", "moons_mlp", *TINY, "--ratio", "0.5")
    assert {"draw_step", "distances", "ticket_test_acc", "dense_test_acc", "compute_fraction"} <= set(doc)
    n = len(doc["steps"])
    assert n == 5 and len(doc["distances"]) == n and all(len(r) == n for r in doc["distances"])
    assert all(doc["distances"][i][i] == 0 for i in range(n))
    assert doc["compute_fraction"] == (doc["draw_step"] if doc["draw_step"] is not None else 40) / 40


def test_stability_of_identical_copies_is_zero(tmp_path):
    doc = cli(tmp_path, "stability", "moons_mlp", *TINY, "--order-a", "3", "--order-b", "3")
    assert doc["barrier"] == 0.0 and len(doc["curve"]) == 11
    assert [a for a, _ in doc["curve"]] == [i / 10 for i in range(11)]
    assert len({e for _, e in doc["curve"]}) == 1  # the same network all along the line
    two = cli(tmp_path, "stability", "moons_mlp", *TINY, "--rewind-step", "10")
    assert two["barrier"] is not None and two["per_seed"][0]["run_ids"][0] != two["per_seed"][0]["run_ids"][1]


def test_detector_draws_on_a_synthetic_mask_sequence():
    """Masks that change less and less: the draw is the first evaluation whose FIFO is full and whose
    newest mask is within 0.1 of each of the 4 others (counted here by brute force)."""
    g = torch.Generator().manual_seed(0)
    base = torch.rand(1000, generator=g) > 0.5
    flips = [400, 300, 200, 120, 80, 50, 40, 30, 20, 10, 5, 0, 0]
    masks = []
    for k in flips:
        m = base.clone()
        idx = torch.randperm(1000, generator=g)[:k]
        m[idx] = ~m[idx]
        masks.append(m)
    expect = next(t for t in range(4, len(masks))
                  if all((masks[t] != masks[t - j]).float().mean() <= 0.1 for j in range(1, 5)))
    d = Detector(window=5, threshold=0.1)
    drawn = [d.push(m)[1] for m in masks]
    assert drawn.index(True) == expect
    assert not any(drawn[:4])  # never before the FIFO holds 5 masks
