"""`python -m explorer prune`: criterion and id selections export a loadable directory and
print the summary; an invalid selection exits 1 with the reasons."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.cli import main
from explorer.pruning.export import load_pruned

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv):
    rc = main(["prune", *argv])
    return rc, capsys.readouterr()


def test_criterion_meets_the_requested_sparsity_and_exports(tmp_path, capsys):
    out = tmp_path / "mlp50"
    rc, cap = run_cli(capsys, "mlp", "--criterion", "magnitude", "--sparsity", "0.5", "--out", str(out),
                      "--repeats", "2", "--no-onnx", "--json")
    assert rc == 0, cap.err
    doc = json.loads(cap.out)
    assert doc["ok"] and doc["granularity"] == "unit"
    assert abs(doc["sparsity"]["achieved"] - 0.5) < 1e-3
    assert abs(doc["sparsity"]["weights"] - 0.5) < 0.01  # weights target: half of every layer's weights
    assert doc["params"]["pruned_nonzero"] < doc["params"]["dense"]
    assert set(doc["latency_ms"]) == {"dense", "masked", "compacted"}
    assert doc["compacted_vs_masked_max_abs_diff"] < 1e-5
    p = load_pruned(out)
    assert abs(p.weight_sparsity() - doc["sparsity"]["weights"]) < 1e-9


def test_select_ids_prunes_a_residual_branch(tmp_path, capsys):
    out = tmp_path / "res"
    rc, cap = run_cli(capsys, "resnet_tiny", "--select", "block1_bn2->add", "--out", str(out), "--repeats", "2",
                      "--json")
    assert rc == 0, cap.err
    doc = json.loads(cap.out)
    assert doc["removed"]["nodes"] == 5  # the whole branch goes with its arc into the add
    assert doc["macs"]["compacted"] < doc["macs"]["dense"]
    assert doc["params"]["compacted"] < doc["params"]["dense"]
    assert doc["compacted_vs_masked_max_abs_diff"] < 1e-5
    spec = json.loads((out / "spec.json").read_text())
    assert spec["onnx"]["ok"]
    # the saved selection re-applies through --selection
    rc, cap = run_cli(capsys, "resnet_tiny", "--selection", str(out / "selection.json"), "--out",
                      str(tmp_path / "again"), "--repeats", "2", "--no-onnx", "--json")
    assert rc == 0 and json.loads(cap.out)["removed"]["nodes"] == 5


def test_invalid_selection_exits_1_with_reasons(tmp_path, capsys):
    rc, cap = run_cli(capsys, "resnet_tiny", "--select", "block1_bn2->add", "stem_2->add", "--out",
                      str(tmp_path / "no"), "--json")
    assert rc == 1
    doc = json.loads(cap.out)
    assert not doc["ok"] and "node add would have no input" in doc["reasons"][0]
    assert doc["suggestion"] == ["block1_bn2->add"]
    assert not (tmp_path / "no").exists()


def test_unknown_id_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "explorer", "prune", "resnet_tiny", "--select", "block1_conv",
                        "--out", str(tmp_path / "x")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert "no node 'block1_conv'" in r.stderr and "did you mean" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("argv", [["--criterion", "magnitude"], []])
def test_argument_errors(tmp_path, capsys, argv):
    if not argv:
        with pytest.raises(SystemExit):
            main(["prune", "mlp", "--out", str(tmp_path)])
        return
    rc, cap = run_cli(capsys, "mlp", *argv, "--out", str(tmp_path / "x"))
    assert rc == 2 and "--sparsity" in cap.err


@pytest.mark.parametrize("arc", ["relu->add", "relu->cat"])
def test_a_cut_that_removes_nothing_says_so_and_is_not_timed(tmp_path, capsys, arc):
    """mlp_skip's skip arcs carry no weight: the same size before and after, so no speed-up (or slowdown) is
    reported — the summary says why instead, and no form is timed (its noise would read as a slowdown)."""
    rc, cap = run_cli(capsys, "mlp_skip", "--select", arc, "--out", str(tmp_path / "s"), "--repeats", "2",
                      "--no-onnx", "--json")
    assert rc == 0, cap.err
    doc = json.loads(cap.out)
    assert doc["params"]["compacted"] == doc["params"]["dense"] == doc["params"]["pruned_nonzero"]
    assert doc["macs"]["compacted"] == doc["macs"]["dense"]
    assert doc["removes_nothing"].startswith(f"this cut removes no parameters: arc {arc} carries no weight")
    assert "no speed-up is possible" in doc["removes_nothing"]
    assert set(doc["latency_ms"].values()) == {None} and all(r["speedup"] is None for r in doc["table"])
    rc, cap = run_cli(capsys, "mlp_skip", "--select", arc, "--out", str(tmp_path / "t"), "--repeats", "2", "--no-onnx")
    assert rc == 0 and "this cut removes no parameters" in cap.out and " ms " not in cap.out and "(x" not in cap.out
    # a cut that removes a layer is timed as before
    rc, cap = run_cli(capsys, "mlp_skip", "--select", "fc3", "--out", str(tmp_path / "u"), "--repeats", "2",
                      "--no-onnx", "--json")
    doc = json.loads(cap.out)
    assert "removes_nothing" not in doc and all(v > 0 for v in doc["latency_ms"].values())
