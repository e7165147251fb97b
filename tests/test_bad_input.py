"""Bad input never crashes, hangs or runs code: a corpus of broken models, files, arguments and
stores, each driven through the real command line (in process). Every case must end with a
clear message — what is wrong and how to fix it — a non-zero exit (or the honest status, for a
run that diverges), and no traceback. Nothing outside the data folder is written."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def data(tmp_path, monkeypatch):
    d = tmp_path / "data"
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(d))
    monkeypatch.setenv("EXPLORER_USER_CODE_TIMEOUT_S", "60")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return d


def cli(capsys, *argv: str) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text, text
    return code, text


def model_file(tmp_path: Path, body: str, name: str = "bad.py") -> str:
    p = tmp_path / name
    p.write_text("import torch\nfrom torch import nn\n\n" + body)
    return f"{p}:Net"


# ---- models --------------------------------------------------------------------------------------

MODELS = {
    "constructor raises": ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                           "        raise ValueError('width must be even')\n", "width must be even"),
    "needs arguments": ("class Net(nn.Module):\n    def __init__(self, width):\n        super().__init__()\n",
                        "give every argument a default"),
    "negative input_shape": ("class Net(nn.Module):\n    input_shape = (3, -4)\n    def __init__(self):\n"
                             "        super().__init__()\n        self.l = nn.Linear(3, 2)\n", "dimension < 1"),
    "example is a string": ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                            "        self.l = nn.Linear(3, 2)\n    def example_input(self):\n        return 'x'\n",
                            "returned str, not a tensor"),
    "syntax error": ("class Net(nn.Module:\n    pass\n", "importing bad.py failed"),
    "no such class": ("class Other(nn.Module):\n    pass\n", "no nn.Module subclass named 'Net'"),
    "says nothing of its input": ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                                  "        self.l = nn.Linear(3, 2)\n", "must say what it eats"),
    "forward returns None": ("class Net(nn.Module):\n    input_shape = (3,)\n    def __init__(self):\n"
                             "        super().__init__()\n        self.l = nn.Linear(3, 2)\n"
                             "    def forward(self, x):\n        self.l(x)\n", "returned None"),
    "data-dependent branch": ("class Net(nn.Module):\n    input_shape = (3,)\n    def __init__(self):\n"
                              "        super().__init__()\n        self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 2)\n"
                              "    def forward(self, x):\n        return self.a(x) if x.sum() > 0 else self.b(x)\n",
                              "decides on the input's values"),
    "a graph input named output": ("class Net(nn.Module):\n    input_shape = (3,)\n    def __init__(self):\n"
                                   "        super().__init__()\n        self.l = nn.Linear(3, 2)\n"
                                   "    def forward(self, output):\n        return self.l(output)\n", None),
}


@pytest.mark.parametrize("case", list(MODELS), ids=str)
def test_broken_model_files(case, tmp_path, data, capsys):
    body, expect = MODELS[case]
    code, text = cli(capsys, "levels", model_file(tmp_path, body))
    if expect is None:
        assert code == 0, text
    else:
        assert code != 0 and expect in text, text
        if "failed" in expect or "raises" in case:
            assert "bad.py:" in text, f"the line of the user's file should be named: {text}"


def test_a_model_that_hangs_or_is_huge_is_stopped(tmp_path, data, capsys, monkeypatch):
    monkeypatch.setenv("EXPLORER_USER_CODE_TIMEOUT_S", "15")
    hang = model_file(tmp_path, "class Net(nn.Module):\n    input_shape = (3,)\n"
                                "    def forward(self, x):\n        while True:\n            pass\n", "hang.py")
    code, text = cli(capsys, "levels", hang)
    assert code == 2 and "did not finish running its forward pass within 15 s" in text, text
    at_import = model_file(tmp_path, "while True:\n    pass\n", "hang_import.py")
    code, text = cli(capsys, "levels", at_import)
    assert code == 2 and "did not finish importing" in text, text
    huge = model_file(tmp_path, "class Net(nn.Module):\n    input_shape = (3,)\n    def __init__(self):\n"
                                "        super().__init__()\n        self.w = nn.Parameter(torch.zeros(40_000, 100_000))\n",
                      "huge.py")
    code, text = cli(capsys, "levels", huge)
    assert code == 2 and "more memory than" in text and "huge.py:" in text, text


def test_unknown_model_and_onnx_where_a_model_is_needed(tmp_path, data, capsys):
    code, text = cli(capsys, "levels", "no_such_model")
    assert code == 2 and "unknown model" in text and "zoo name" in text
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(b"not onnx at all")
    code, text = cli(capsys, "levels", onnx_file)
    assert code == 2 and "m.onnx" in text
    code, text = cli(capsys, "prune", onnx_file, "--criterion", "magnitude", "--sparsity", "0.5", "--out", tmp_path / "o")
    assert code == 2 and "structure only" in text
    code, text = cli(capsys, "levels", "resnet_tiny@no_such_block")
    assert code == 2 and "no sub-module 'no_such_block'" in text and "block1" in text
    code, text = cli(capsys, "levels", "resnet_tiny@block1", "--granularity", "op")
    assert code == 0 and "resnet_tiny@block1" in text


def _onnx(nodes, path: Path, init=()):
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], initializer=list(init))
    onnx.save(helper.make_model(g), str(path))


def test_onnx_cycles_self_loops_and_negative_dims_are_refused(tmp_path, data, capsys):
    from onnx import TensorProto, helper

    _onnx([helper.make_node("Relu", ["x"], ["a"], name="r1"), helper.make_node("Add", ["a", "b"], ["y"], name="add"),
           helper.make_node("Relu", ["y"], ["b"], name="r2")], tmp_path / "cycle.onnx")
    code, text = cli(capsys, "levels", tmp_path / "cycle.onnx")
    assert code == 2 and "cycle" in text, text
    _onnx([helper.make_node("Add", ["x", "y"], ["y"], name="self")], tmp_path / "self.onnx")
    code, text = cli(capsys, "levels", tmp_path / "self.onnx")
    assert code == 2 and "itself" in text, text
    w = TensorProto(name="w", data_type=TensorProto.FLOAT)
    w.dims.extend([-3, 4])  # written by hand: onnx's helpers refuse a negative dimension
    _onnx([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], tmp_path / "neg.onnx", [w])
    code, text = cli(capsys, "levels", tmp_path / "neg.onnx")
    assert code == 2 and "cannot be negative" in text, text


# ---- verify and prune arguments -----------------------------------------------------------------

@pytest.mark.parametrize("argv, expect", [
    (["verify", "mlp", "--tol", "-1"], "must be a positive number"),
    (["verify", "mlp", "--tol", "nan"], "must be a positive number"),
    (["verify", "mlp", "--batch", "0"], "at least 1"),
    (["prune", "mlp", "--criterion", "magnitude", "--sparsity", "1.5", "--out", "{tmp}/o"], "fraction in [0, 1]"),
    (["prune", "mlp", "--criterion", "magnitude", "--sparsity", "-0.1", "--out", "{tmp}/o"], "fraction in [0, 1]"),
    (["prune", "mlp", "--criterion", "nope", "--sparsity", "0.5", "--out", "{tmp}/o"], "criterion='nope' is not one of random, magnitude"),
    (["prune", "mlp_skip", "--select", "no_such_node", "--out", "{tmp}/o"], "no node 'no_such_node'"),
    (["prune", "resnet_tiny", "--granularity", "block", "--select", "stem", "--out", "{tmp}/o"], "block level is for browsing"),
])
def test_bad_arguments(argv, expect, tmp_path, data, capsys):
    code, text = cli(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code != 0 and expect in text, text


def test_prune_out_naming_a_file_and_broken_selection_files(tmp_path, data, capsys):
    f = tmp_path / "taken"
    f.write_text("x")
    code, text = cli(capsys, "prune", "mlp_skip", "--select", "fc2", "--out", f)
    assert code == 2 and "is a file" in text, text
    sel = tmp_path / "sel.json"
    sel.write_text(json.dumps({"format": "explorer-selection/1", "granularity": "op", "nodes": None, "arcs": []}))
    code, text = cli(capsys, "prune", "mlp_skip", "--selection", sel, "--out", tmp_path / "o")
    assert code == 2 and "must be a list" in text, text
    sel.write_text("{not json")
    code, text = cli(capsys, "prune", "mlp_skip", "--selection", sel, "--out", tmp_path / "o")
    assert code == 2 and "not JSON" in text, text


# ---- training: configs, datasets, exports, checkpoints ------------------------------------------

TRAIN = ["train", "moons_mlp", "--steps", "5", "--eval-every", "5", "--no-store"]


@pytest.mark.parametrize("extra, expect", [
    (["--steps", "0"], "steps must be at least 1"),
    (["--batch-size", "0"], "batch_size must be at least 1"),
    (["--lr", "-1"], "lr must be a positive finite number"),
    (["--lr", "nan"], "lr must be a positive finite number"),
    (["--seed", str(2 ** 70)], "seed must be an integer in"),
    (["--data-seed", "-1"], "data_seed must be an integer in"),
    (["--dataset", "no_such_set"], "unknown dataset"),
])
def test_bad_run_settings(extra, expect, data, capsys):
    code, text = cli(capsys, *TRAIN, *extra)
    assert code == 2 and expect in text, text


def test_a_learning_rate_that_explodes_ends_diverged(data, capsys):
    code, text = cli(capsys, "train", "moons_mlp", "--steps", "200", "--lr", "1e6", "--log-every", "5",
                     "--no-store", "--json")
    doc = json.loads(text)
    assert doc["status"] == "diverged" and ("far above its start" in doc["stop_reason"] or "NaN" in doc["stop_reason"])


def _dataset(tmp_path: Path, kind: str) -> Path:
    if kind == "nan_row":
        p = tmp_path / "d.csv"
        p.write_text("0.1,0.2,0\n0.3,nan,1\n0.5,0.6,1\n")
    elif kind == "text_cell":
        p = tmp_path / "d.csv"
        p.write_text("0.1,0.2,0\n0.3,abc,1\n0.5,0.6,1\n")
    elif kind == "wide_csv":
        p = tmp_path / "d.csv"
        p.write_text(",".join(["0"] * 150_001) + "\n")
    elif kind == "complex":
        p = tmp_path / "d.npz"
        np.savez(p, x=np.ones((4, 2), dtype=np.complex64), y=np.array([0, 1, 0, 1]))
    elif kind == "huge_header":
        p = tmp_path / "d.npz"
        np.savez(p, x=np.zeros((2, 2), np.float32), y=np.zeros(2, np.int64))
        with zipfile.ZipFile(p) as z:
            y = z.read("y.npy")
        hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"
        hdr = hdr + b" " * (118 - len(hdr)) + b"\n"
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("x.npy", b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr + b"\0" * 64)
            z.writestr("y.npy", y)
    elif kind == "no_arrays":
        p = tmp_path / "d.npz"
        np.savez(p, a=np.zeros(3))
    else:  # pickled objects
        p = tmp_path / "d.npz"
        np.savez(p, x=np.array([{"a": 1}, {"b": 2}], dtype=object), y=np.zeros(2), allow_pickle=True)
    return p


@pytest.mark.parametrize("kind, expect", [
    ("nan_row", "row 1 has a NaN"), ("text_cell", "not a number"), ("wide_csv", "columns"),
    ("complex", "complex numbers"), ("huge_header", "declares shape"), ("no_arrays", "needs arrays named 'x'"),
    ("objects", "Python objects"),
])
def test_bad_datasets(kind, expect, tmp_path, data, capsys):
    code, text = cli(capsys, *TRAIN, "--dataset", _dataset(tmp_path, kind))
    assert code == 2 and expect in text, text


def test_a_truncated_dataset_cache_is_made_again(data, capsys):
    (data / "datasets").mkdir(parents=True)
    (data / "datasets" / "mnist1d.npz").write_bytes(b"PK\x03\x04 truncated")
    code, text = cli(capsys, "train", "mlp", "--steps", "2", "--eval-every", "2", "--no-store", "--json")
    assert code == 0 and json.loads(text)["status"] == "done"


def test_an_export_never_names_code_to_run(tmp_path, data, capsys):
    evil = tmp_path / "evil.py"
    evil.write_text("import pathlib; pathlib.Path(__file__).with_name('RAN').write_text('x')\n"
                    "import torch\nclass Net(torch.nn.Module):\n    input_shape = (2,)\n")
    d = tmp_path / "export"
    code, text = cli(capsys, "prune", "moons_mlp", "--criterion", "magnitude", "--sparsity", "0.5", "--out", d,
                     "--no-onnx", "--repeats", "2")
    assert code == 0, text
    spec = json.loads((d / "spec.json").read_text())
    spec["model"] = f"../../{os.path.relpath(evil, d)}:Net"
    (d / "spec.json").write_text(json.dumps(spec))
    code, text = cli(capsys, *TRAIN, "--mask", d)
    assert code == 2 and "never runs code" in text and not (tmp_path / "RAN").exists(), text
    (d / "spec.json").write_text("{this is not json")
    code, text = cli(capsys, *TRAIN, "--mask", d)
    assert code == 2 and "not valid JSON" in text, text


def test_a_rewind_checkpoint_replaced_by_a_pickle_is_refused(tmp_path, data, capsys):
    d = tmp_path / "export"
    cli(capsys, "prune", "moons_mlp", "--criterion", "magnitude", "--sparsity", "0.5", "--out", d, "--no-onnx",
        "--repeats", "2")
    code, text = cli(capsys, "train", "moons_mlp", "--steps", "4", "--eval-every", "4", "--json")
    dense_id = json.loads(text)["run_id"]
    ck = data / "checkpoints" / dense_id / "step_0.safetensors"
    assert ck.exists()
    torch.save({"weight": torch.zeros(2)}, ck)  # a pickle where a safetensors file belongs
    code, text = cli(capsys, "train", "moons_mlp", "--steps", "4", "--eval-every", "4", "--no-store", "--mask", d,
                     "--init", "rewind")
    assert code == 2 and "not a safetensors checkpoint" in text, text


# ---- the store, the data folder, Ray ------------------------------------------------------------

@pytest.mark.parametrize("damage", [b"", b"garbage bytes, not sqlite" * 50])
def test_a_damaged_store_is_named_and_repaired_without_losing_the_file(damage, data, capsys):
    data.mkdir(parents=True)
    (data / "runs.sqlite3").write_bytes(damage)
    code, text = cli(capsys, "runs", "list")
    assert code == 2 and "damaged" in text and "runs repair" in text, text
    code, text = cli(capsys, "runs", "repair")
    assert code == 0 and "damaged-" in text
    assert [p.name for p in data.glob("runs.sqlite3.damaged-*")]
    code, text = cli(capsys, "runs", "list")
    assert code == 0


def test_a_data_folder_that_is_a_file(tmp_path, monkeypatch, capsys):
    f = tmp_path / "not_a_dir"
    f.write_text("x")
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(f))
    code, text = cli(capsys, "runs", "list")
    assert code == 2 and "is a file" in text, text


def test_ray_address_that_nothing_answers(data, capsys, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")  # the discard port: nothing listens
    code, text = cli(capsys, "train", "moons_mlp", "--steps", "2", "--submit", "--backend", "ray")
    assert code == 2 and "nothing answers at RAY_ADDRESS" in text, text


def test_unknown_run_id(data, capsys):
    code, text = cli(capsys, "runs", "export", "nope")
    assert code == 2 and "no job or run 'nope'" in text and "runs list" in text, text
