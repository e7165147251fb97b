"""Token-input transformers on the pages, loaded as a user loads them (`decoders.py:TinyGPT2` from the
models folder): Decomposition verifies them on the model's own kind of input (token ids, integers),
as `python -m explorer verify` does, and its sub-architecture panel evaluates them; Prune opens them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer import models
from explorer.cli import main
from explorer.graph import build_dag
from explorer.lifting.inputs import view_input
from explorer.lifting.verify import verify_model

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "tests" / "models" / "decoders.py"
DECODERS = ["TinyGPT2", "TinyLlama"]
TIMEOUT = 900


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    (data / "models").mkdir()
    shutil.copy(FILE, data / "models" / "decoders.py")
    return data


def _open(data: Path, page: str, prefix: str, cls: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(data))
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=TIMEOUT).run()
    at.sidebar.radio(key=f"{prefix}.source").set_value("file").run()
    at.sidebar.selectbox(key=f"{prefix}.file").set_value(f"{data / 'models' / 'decoders.py'}:{cls}").run()
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("cls", DECODERS)
def test_the_page_verifies_on_token_ids_as_the_cli_does(cls):
    spec = f"{FILE}:{cls}"
    lm = models.load_cached(spec)
    dag = build_dag(spec, "op")
    x = view_input(dag)
    assert x.dtype == torch.int64 and x.shape == lm.example_input.shape  # token ids, the traced batch size
    assert int(x.min()) >= int(lm.example_input.min()) and int(x.max()) <= int(lm.example_input.max())
    v = verify_model(lm.model, dag, x)
    assert v.ok and not v.trivial, str(v)
    assert any("token ids" in n for n in v.notes), v.notes
    assert main(["verify", spec, "--granularity", "op", "--json"]) == 0


@pytest.mark.parametrize("cls", DECODERS)
def test_decomposition_opens_a_decoder_with_a_verify_result_and_a_working_sub_architecture(folder, cls,
                                                                                         monkeypatch):
    at = _open(folder, "2_Decomposition.py", "dec", cls, monkeypatch)
    _ok(at)
    assert at.sidebar.radio(key="dec.granularity").value == "op"  # no unit level for attention
    badge = [s.value for s in at.success]
    assert badge and badge[0].startswith("✓ verified") and "forward error" in badge[0], badge
    assert any("How this was checked" in c.value and "token ids" in c.value for c in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["‖value‖ intact"]) > 0 and metrics["max |difference|"] == "0"
    # remove a branch that only feeds a residual sum: the value at the output changes, no error
    from explorer.lifting.symbolic import ADDITIVE

    dag = build_dag(f"{folder / 'models' / 'decoders.py'}:{cls}", "op")  # the graph the page shows (cached)
    options = at.multiselect(key="dec.rm_nodes").options
    branch = next(n for n in options if dag.successors(n) and all(dag.node(s).op in ADDITIVE
                                                                  for s in dag.successors(n)))
    at.multiselect(key="dec.rm_nodes").set_value([branch]).run()
    _ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["max |difference|"]) > 0, (branch, metrics)


def test_prune_opens_a_decoder(folder, monkeypatch):
    at = _open(folder, "3_Prune.py", "prune", "TinyGPT2", monkeypatch)
    _ok(at)
    assert {m.label for m in at.metric} >= {"nodes removed", "params removed"}


def test_the_cli_verify_prints_its_policy_notes(capsys):
    assert main(["verify", f"{FILE}:TinyGPT2", "--granularity", "op", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["samples"] == 1  # one sample for the traced batch size of 1
    assert any("token ids" in n for n in doc["notes"])
