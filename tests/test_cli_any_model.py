"""Every command that takes a MODEL accepts your own `path/to/file.py:ClassName` — a file outside the
models folder, as a new user tries the README's form — end to end, and refuses an .onnx file with a
message that names the command that reads one (not the one refusing it). Tiny settings: a 2-8-2 MLP on
the moons, a few steps.

Before: `python -m explorer lottery my.py:Net` was refused ("outside the models folder ... or train it
from the command line"), and with the file in the models folder round 1 failed with "ExportError: ...
was pruned from net.py, which is missing from the models folder" and a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from explorer.cli import main

NET = """import torch
from torch import nn


class Net(nn.Module):
    input_shape = (2,)

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""
TINY = ("--dataset", "moons", "--steps", "20", "--eval-every", "10", "--device", "cpu")


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A user's file outside the models folder, and a data folder of its own."""
    root = tmp_path_factory.mktemp("user")
    (root / "mine").mkdir()
    (root / "mine" / "net.py").write_text(NET)
    mp = pytest.MonkeyPatch()
    mp.setenv("EXPLORER_DATA_DIR", str(root / "data"))
    yield root, f"{root / 'mine' / 'net.py'}:Net"
    mp.undo()


def run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text, text
    return code, text


def doc(capsys, *argv) -> dict:
    code, text = run(capsys, *argv, "--json")
    assert code == 0, text
    return json.loads(text[text.index("{"):])


def test_lottery_rounds_of_your_own_file(user, capsys):
    root, spec = user
    d = doc(capsys, "lottery", spec, *TINY, "--rounds", "1", "--rate", "0.5", "--seeds", "1", "--controls", "random",
            "--out", root / "tickets")
    (r1,) = d["rounds"]
    assert r1["round"] == 1 and abs(r1["sparsity"] - 0.5) < 0.05 and set(r1["runs"]) == {"ticket", "random"}
    mask_spec = json.loads((Path(r1["masks"][0]) / "spec.json").read_text())
    assert mask_spec["model"].startswith(str(root / "data")) and mask_spec["model"].endswith("net-" + mask_spec[
        "model_sha256"][:12] + ".py:Net")  # the content-hashed copy the runs load, and its hash
    (ticket,) = d["exports"]
    assert (Path(ticket) / "weights.safetensors").is_file() and (Path(ticket) / "selection.json").is_file()


def test_earlybird_and_stability_of_your_own_file(user, capsys):
    _, spec = user
    d = doc(capsys, "earlybird", spec, *TINY, "--seeds", "1", "--window", "2")
    assert d["ticket_test_acc"] is not None and d["dense_test_acc"] is not None
    d = doc(capsys, "stability", spec, *TINY, "--points", "3")
    assert len(d["curve"]) == 3 and d["barrier"] is not None


def test_train_prune_and_retrain_your_own_file(user, capsys):
    root, spec = user
    d = doc(capsys, "train", spec, *TINY)
    assert d["status"] == "done" and d["config"]["model"].endswith(".py:Net")
    s = doc(capsys, "prune", spec, "--criterion", "magnitude", "--sparsity", "0.5", "--out", root / "p",
            "--repeats", "2", "--no-onnx")
    assert abs(s["sparsity"]["weights"] - 0.5) < 0.05
    d = doc(capsys, "train", spec, *TINY, "--mask", root / "p")  # the export's recorded copy is the same file
    assert d["status"] == "done" and d["config"]["init"] == "ticket"


def test_graph_commands_of_your_own_file(user, capsys):
    _, spec = user
    d = doc(capsys, "levels", spec, "--granularity", "unit")
    assert len(d["nodes"]) == 2 + 8 + 2
    code, text = run(capsys, "verify", spec)
    assert code == 0, text
    d = doc(capsys, "spectrum", spec, "--inputs", "3", "--init", "orthogonal")
    assert len(d["singular_values"]) == 3 * 2
    d = doc(capsys, "regions", spec)
    assert d["regions"] >= 1 and len(d["polygons"]) == d["regions"]


@pytest.mark.parametrize("command, extra", [
    ("lottery", ()), ("earlybird", ()), ("stability", ()), ("train", ()), ("spectrum", ()), ("regions", ()),
    ("verify", ()), ("prune", ("--criterion", "magnitude", "--sparsity", "0.5", "--out", "o")),
])
def test_an_onnx_file_is_refused_naming_the_command_that_reads_it(tmp_path, capsys, command, extra):
    f = tmp_path / "net.onnx"
    f.write_bytes(b"onnx bytes")
    code, text = run(capsys, command, f, *extra)
    assert code == 2 and "structure only" in text and f"explorer levels {f}" in text
    assert "from the command line" not in text


def test_only_the_command_run_builds_its_arguments():
    """A lab's arguments come from its config, whose module may import torch: `--help` and `runs` load none."""
    import subprocess
    import sys

    code = ("import sys; from explorer.cli import build_parser; build_parser(['runs', 'list']); "
            "build_parser(['--help']); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"
