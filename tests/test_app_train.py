"""AppTest of the Train page: submit from the form, the Prune hand-off, the live view and table."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer import models
from explorer.pruning.mask import Mask
from explorer.training.config import RunConfig
from explorer.training.runner import execute
from explorer.training.store import RunStore
from explorer.models.key import ModelKey
from ui.state import RetrainRequest

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "4_Train.py")


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    return tmp_path


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_empty_store_and_submit_queues_runs(data):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    ok(at)
    assert any("No runs yet" in i.value for i in at.info)
    at.selectbox(key="new.model").set_value("moons_mlp").run()
    at.number_input(key="new.steps").set_value(20).run()
    at.text_input(key="new.seeds").set_value("0,1").run()
    at.text_input(key="new.group").set_value("gA").run()
    at.button(key="new.go").click().run()
    ok(at)
    runs = RunStore(data).list_runs(group="gA")
    assert sorted(r.config.seed for r in runs) == [0, 1]
    assert all(r.config.dataset == "moons" and r.config.steps == 20 for r in runs)
    # the page started a worker for them; wait for it so the tmp dir is quiet at teardown
    s = RunStore(data)
    t = time.monotonic() + 120
    while not all(r.done for r in s.list_runs()) and time.monotonic() < t:
        time.sleep(0.5)
    assert [r.status for r in s.list_runs()] == ["done", "done"]
    at.run()
    ok(at)
    assert any("all finished" in c.value for c in at.caption)


def _handoff(data, model: str) -> AppTest:
    """The Train page as the Prune page leaves it: a retrain request for a half-pruned `model`."""
    d = data / "pruned"
    d.mkdir()
    m = models.load(model).model
    Mask({n: (p.abs() > p.abs().median()).float() for n, p in m.named_parameters() if p.dim() > 1}).save(
        d / "mask.safetensors")
    (d / "spec.json").write_text(json.dumps({"model": model}))
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["explorer.retrain"] = RetrainRequest(ModelKey(model, "unit"), str(d))
    at.run()
    ok(at)
    return at


def test_prune_handoff_and_comparison_table(data):
    at = _handoff(data, "moons_mlp")
    at.number_input(key="retrain.seeds").set_value(1).run()
    at.number_input(key="retrain.steps").set_value(30).run()
    at.toggle(key="retrain.batched").set_value(False).run()  # one by one: this test plays the worker
    # do not start a worker from the test: run the queued configs in-process, as the worker would
    from explorer.training.jobs import backend as backend_mod

    orig = backend_mod.ensure_worker
    backend_mod.ensure_worker = lambda *a, **k: None
    try:
        at.button(key="retrain.go").click().run()
        ok(at)
        s = RunStore(data)
        runs = s.list_runs()
        assert sorted(r.config.init for r in runs) == ["dense", "random", "reinit", "ticket"]
        assert len({r.group for r in runs}) == 1 and "explorer.retrain" not in at.session_state
        for r in runs:
            s.claim("test", run_id=r.id)
            res = execute(r.config, lambda rows, rid=r.id: s.log_metrics(rid, rows), checkpoint_root=data / "ck")
            s.finish(r.id, res.status, summary=res.to_dict())
        at.run()
    finally:
        backend_mod.ensure_worker = orig
    ok(at)
    assert any("Verdict" in md.value for md in at.markdown)
    table = at.dataframe[0].value
    assert list(table["role"]) == ["dense", "ticket (dense init + mask)", "reinit control", "random-mask control"]
    assert "iterations to target" in table.columns
    assert len(at.get("plotly_chart")) == 1


def test_prune_handoff_as_one_batched_job(data):
    at = _handoff(data, "moons_mlp")
    at.number_input(key="retrain.seeds").set_value(2).run()
    at.number_input(key="retrain.steps").set_value(40).run()
    assert at.toggle(key="retrain.batched").value is True  # offered by default where it applies
    at.button(key="retrain.go").click().run()
    ok(at)
    s = RunStore(data)
    t = time.monotonic() + 180
    while not (s.list_runs() and all(r.done for r in s.list_runs())) and time.monotonic() < t:
        time.sleep(0.5)
    runs = s.list_runs()
    assert len(runs) == 8 and {r.status for r in runs} == {"done"}
    assert all("batched job of 8 runs" in json.dumps(r.summary) for r in runs)
    assert all(len(s.metrics(r.id)) > 0 for r in runs)


def test_batchnorm_models_train_batched_too(data):
    at = _handoff(data, "resnet_tiny")
    t = at.toggle(key="retrain.batched")
    assert t.value is True and not t.disabled


def test_backend_choice_is_offered(data):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    ok(at)
    assert at.sidebar.radio(key="train.backend").options == ["local worker process",
                                                             "Ray (RAY_ADDRESS, else a local instance)"]


def test_bad_dataset_shows_error_not_traceback(data):
    s = RunStore(data)
    rid = s.submit(RunConfig(model="moons_mlp", dataset="moons", steps=5, group="g"))
    s.claim("t")
    s.finish(rid, "failed", "DataError: x.csv: row 3 has a NaN input; drop or impute those rows")
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    ok(at)  # a failed run is shown as a caption on its row, not as a page error
    assert any("row 3 has a NaN" in c.value for c in at.caption)


def test_a_damaged_store_is_reported_with_a_way_out(data):
    """Garbage in runs.sqlite3: the page says so (no traceback), and one click keeps the file aside and
    starts a fresh store."""
    (data / "runs.sqlite3").write_bytes(b"this is not a database" * 40)
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert at.error and "damaged" in at.error[0].value
    at.button(key="train.repair").click().run()
    assert not at.exception
    assert list(data.glob("runs.sqlite3.damaged-*"))
    at.run()
    ok(at)
    assert any("No runs yet" in i.value for i in at.info)
