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


def _half_pruned(data, model: str) -> Path:
    """A mask keeping the larger half of every weight of `model`, as a directory the hand-off names."""
    d = data / "pruned"
    d.mkdir()
    m = models.load(model).model
    Mask({n: (p.abs() > p.abs().median()).float() for n, p in m.named_parameters() if p.dim() > 1}).save(
        d / "mask.safetensors")
    (d / "spec.json").write_text(json.dumps({"model": model}))
    return d


def _handoff(data, model: str) -> AppTest:
    """The Train page's form for a half-pruned `model` (the hand-off when it could not start by itself)."""
    d = _half_pruned(data, model)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["explorer.retrain"] = RetrainRequest(ModelKey(model, "unit"), str(d), start=False)
    at.run()
    ok(at)
    return at


def test_prune_handoff_and_comparison_table(data):
    at = _handoff(data, "moons_mlp")
    at.number_input(key="retrain.seeds").set_value(1).run()
    at.number_input(key="retrain.steps").set_value(30).run()
    at.toggle(key="retrain.batched").set_value(False).run()  # one by one: this test plays the worker
    # do not start a worker from the test: run the queued configs in-process, as the worker would
    from explorer.jobs import backends as backend_mod

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
            s.claim("test", job=r.id)
            res = execute(r.config, lambda rows, rid=r.id: s.log_metrics(rid, rows), checkpoint_root=data / "ck")
            s.finish(r.id, res.status, result=res.to_dict())
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


def test_backend_choice_is_offered_on_every_page_and_honoured(data):
    """The backend is chosen once, in the sidebar that app.py draws for every page, and kept in the session:
    the Train page (like every page that submits work) uses the one chosen."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    ok(at)
    radio = at.sidebar.radio(key="train.backend")
    assert radio.options == ["local worker process", "Ray (RAY_ADDRESS, else a local instance)"]
    assert at.session_state["explorer.backend"] == "local"
    at = AppTest.from_function(_chosen_backend, default_timeout=120)
    at.session_state["explorer.backend"] = "inline"
    at.run()
    assert not at.exception and at.markdown[0].value == "inline"


def _chosen_backend():
    import streamlit as st

    from ui.jobs import backend

    st.markdown(backend().name)


def test_bad_dataset_shows_error_not_traceback(data):
    s = RunStore(data)
    rid = s.submit(RunConfig(model="moons_mlp", dataset="moons", steps=5, group="g"))
    s.claim("t")
    s.finish(rid, "failed", error="DataError: x.csv: row 3 has a NaN input; drop or impute those rows")
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


def _finished(store: RunStore, config: RunConfig, accs=(0.3, 0.6, 0.9)) -> str:
    """A run in the store as if trained: its metrics and summary, without training."""
    rid = store.submit(config)
    store.claim("t", job=rid)
    store.log_metrics(rid, [{"step": 10 * (i + 1), "split": s, "loss": 1 - a, "acc": a, "wall_time": 0.0}
                            for i, a in enumerate(accs) for s in ("train", "test")], "t")
    store.finish(rid, "done", result={"params": 100, "kept_params": 100 if config.init == "dense" else 60,
                                       "sparsity": 0.0 if config.init == "dense" else 0.4}, worker_id="t")
    return rid


def test_the_prune_hand_off_starts_in_one_click(data):
    """The Prune page's Retrain button is the one click: arriving here with its request queues the quick
    comparison at once (no second button), the page shows that group with what was started, and once the
    runs end the verdict names every control with its size."""
    d = _half_pruned(data, "moons_mlp")
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["explorer.retrain"] = RetrainRequest(ModelKey("moons_mlp", "unit"), str(d))
    at.run()
    ok(at)
    s = RunStore(data)
    runs = s.list_runs()
    assert sorted({r.config.init for r in runs}) == ["dense", "random", "reinit", "ticket"]
    assert {r.config.seed for r in runs} == {0, 1} and {r.config.steps for r in runs} == {200}  # the quick recipe
    assert "explorer.retrain" not in at.session_state and not [b for b in at.button if b.key == "retrain.go"]
    assert at.session_state["train.group"] == runs[0].group
    assert any("Started from the Prune page: the quick comparison" in x.value for x in at.success)
    assert at.text_input(key="new.pruned").value == str(d)  # the settings can be changed from here
    t = time.monotonic() + 300
    while not all(r.done for r in s.list_runs()) and time.monotonic() < t:
        time.sleep(0.5)
    assert {r.status for r in s.list_runs()} == {"done"}
    at.run()
    ok(at)
    verdict = next(md.value for md in at.markdown if "Verdict" in md.value)
    ticket = s.list_runs(group=runs[0].group)[1].summary
    size = f"{ticket['kept_params']:,} of {ticket['params']:,} parameters kept"
    assert f"reinit control ({size}, as the ticket)" in verdict
    assert f"random-mask control ({size}, as the ticket)" in verdict


def test_train_opens_on_the_newest_complete_comparison_and_the_url_names_its_model(data):
    """After a Lottery run (round 0: dense; later rounds: tickets and controls only) the page opens on the
    newest round, judged against round 0's dense runs — not on "Needs a dense run" — and its address names
    the round's model; a link naming a group opens that one, with its model."""
    s = RunStore(data)
    base = RunConfig(model="mlp", dataset="mnist1d", steps=30)
    _finished(s, base.replace(group="older", label="dense"))
    _finished(s, base.replace(group="older", init="ticket", pruned_dir="p", label="ticket"))
    lot = RunConfig(model="lottery_mlp", dataset="mnist1d", steps=30)
    _finished(s, lot.replace(group="lth-0a1b2c-r0", label="dense s0"))
    _finished(s, lot.replace(group="lth-0a1b2c-r1", init="ticket", pruned_dir="m1", label="r1 ticket s0"))
    _finished(s, lot.replace(group="lth-0a1b2c-r1", init="random", pruned_dir="m1", label="r1 random s0"))
    _finished(s, base.replace(group="lonely", init="ticket", pruned_dir="q", label="ticket"))  # newest, incomplete
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["explorer.model"] = ModelKey("mlp", source="zoo")  # the session was on another model before
    at.run()
    ok(at)
    assert at.session_state["train.group"] == "lth-0a1b2c-r1"
    verdict = next(md.value for md in at.markdown if "Verdict" in md.value)
    assert "Needs a dense run" not in verdict and "Weak LTH" in verdict
    assert any("round 0's" in c.value for c in at.caption)
    q = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert q["model"] == "lottery_mlp" and q["group"] == "lth-0a1b2c-r1"

    link = AppTest.from_file(PAGE, default_timeout=120)
    link.query_params["group"] = "older"
    link.query_params["model"] = "lottery_mlp"  # a link whose model disagrees with its group's runs
    link.run()
    ok(link)
    assert link.session_state["train.group"] == "older"
    q = {k: (v[0] if isinstance(v, list) else v) for k, v in link.query_params.items()}
    assert q["model"] == "mlp" and q["group"] == "older"


def test_empty_charts_have_sane_axes(data):
    """An empty store's chart, and a group whose runs have logged nothing yet: accuracy 0..1 from step 0,
    not plotly's -1..4."""
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    ok(at)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["layout"]["yaxis"]["range"] == [0, 1] and fig["layout"]["xaxis"]["range"][0] == 0
    from explorer.jobs import backends as backend_mod

    orig = backend_mod.ensure_worker
    backend_mod.ensure_worker = lambda *a, **k: None  # queued and never started: no metrics yet
    try:
        RunStore(data).submit(RunConfig(model="mlp", steps=70, group="g"))
        at.run()
    finally:
        backend_mod.ensure_worker = orig
    ok(at)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["layout"]["yaxis"]["range"] == [0, 1] and fig["layout"]["xaxis"]["range"] == [0, 70]
    at.radio(key="train.y").set_value("loss").run()
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["layout"]["yaxis"]["range"][0] == 0


def test_a_hand_off_that_cannot_start_says_why_and_shows_the_form(data):
    """A request whose export does not fit its model (here: a mask of moons_mlp sent as mlp's) starts
    nothing: the page says why, stays up, and shows the form to set the comparison up by hand."""
    d = _half_pruned(data, "moons_mlp")
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["explorer.retrain"] = RetrainRequest(ModelKey("mlp", "unit"), str(d))
    at.run()
    assert not at.exception
    assert at.error and "starting the comparison from the Prune page" in at.error[0].value
    assert "moons_mlp" in at.error[0].value
    assert any(h.value == "Retrain the pruned network" for h in at.subheader)
    assert not RunStore(data).list_runs()
