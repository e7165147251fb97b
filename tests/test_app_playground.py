"""AppTest of the Playground page: settings from and to the URL, the preview of a new run, play,
replay, spline pruning into a child run, reset, and the grid approximation of a smooth net. The
test plays the worker: queued jobs run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.jobs import backends as backend_mod
from explorer.jobs.worker import run_next
from explorer.training.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "7_Playground.py")
URL = {"dataset": "gauss", "hidden": "4,4", "skips": "0-2", "steps": "60", "frame_every": "20"}


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(backend_mod, "ensure_worker", lambda *a, **k: None)
    return tmp_path


def drain(data: Path) -> None:
    s = RunStore(data)
    while run_next(s, "test") is not None:
        pass


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def page(data: Path, **params: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    for k, v in {**URL, **params}.items():
        at.query_params[k] = v
    at.run()
    ok(at)
    drain(data)
    at.run()
    ok(at)
    return at


def test_url_preview_play_replay_and_export(data, one_thread):
    at = page(data)
    assert at.selectbox(key="pg.dataset").value == "gauss" and at.number_input(key="pg.layers").value == 2
    assert metric(at, "Step") == "0" and int(metric(at, "Linear regions")) >= 1
    assert len(at.get("plotly_chart")) == 3  # the network, the regions, the curves
    at.slider(key="pg.noise").set_value(10).run()
    assert at.query_params["noise"] == "10" and at.query_params["hidden"] == "4,4"
    drain(data)
    at.run()
    at.button(key="pg.play").click().run()
    ok(at)
    drain(data)
    at.run()
    ok(at)
    assert metric(at, "Step") == "60" and any("finished" in m.value for m in at.markdown)
    at.select_slider(key="pg.show").set_value(20).run()
    ok(at)
    assert metric(at, "Step") == "20"
    assert at.get("download_button")


def test_spline_pruning_makes_a_child_run(data, one_thread):
    at = page(data)
    at.button(key="pg.play").click().run()
    drain(data)
    at.run()
    at.slider(key="pg.spline_t").set_value(0.8).run()
    at.button(key="pg.spline").click().run()
    ok(at)
    drain(data)
    at.run()
    ok(at)
    pruned = [m.value for m in at.markdown if "pruned:" in m.value]
    infos = [i.value for i in at.info if "No two units" in i.value]
    assert pruned or infos
    if pruned:
        jobs = RunStore(data).list_jobs(kind="playground")
        kid = next(j for j in jobs if j.config["pruned"])
        assert kid.config["parent"] and kid.config["parent_step"] == 60
        at.button(key="pg.restore").click().run()
        ok(at)
        assert not any("pruned:" in m.value for m in at.markdown)


def test_reset_starts_a_fresh_run(data, one_thread):
    at = page(data)
    before = {j.id for j in RunStore(data).list_jobs()}
    at.button(key="pg.reset").click().run()
    ok(at)
    after = {j.id for j in RunStore(data).list_jobs()}
    assert len(after - before) == 1 and at.session_state["pg.trial"] == 1


def test_smooth_activation_is_labelled_an_approximation(data, one_thread):
    at = page(data, activation="tanh")
    labels = [m.label for m in at.metric]
    assert "Sign patterns (grid)" in labels and "Linear regions" not in labels


def test_a_bad_link_falls_back_to_defaults_with_a_warning(data):
    at = AppTest.from_file(PAGE, default_timeout=180)
    for k, v in {"activation": "gelu", "noise": "99", "features": "x1,x9", "skips": "0-1", "lr": "x"}.items():
        at.query_params[k] = v
    at.run()
    ok(at)
    assert at.selectbox(key="pg.activation").value == "relu" and at.slider(key="pg.noise").value == 0
    assert at.session_state["pg.features"] == ["x1", "x2"] and at.session_state["pg.skips"] == []
    assert len(at.toast) == 3


def test_classroom_mode_travels_in_the_playground_link(data):
    at = AppTest.from_file(PAGE, default_timeout=120)
    for k, v in {**URL, "classroom": "1"}.items():
        at.query_params[k] = v
    at.run()
    ok(at)
    assert at.session_state["explorer.classroom"] is True
    q = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert q.get("classroom") == "1" and q.get("dataset") == "gauss"
    at.session_state["explorer.classroom"] = False
    at.run()
    assert "classroom" not in at.query_params


def test_a_finished_run_pruned_trains_on_from_its_pruned_frame(data, one_thread):
    """Prune a unit of a finished run: the page shows the pruned network's own losses (not the run's last
    ones), Play is offered, and the run trains on for as many steps again, the unit held at zero."""
    import math

    at = page(data, hidden="4", skips="")
    at.button(key="pg.play").click().run()
    drain(data)
    at.run()
    ok(at)
    assert metric(at, "Step") == "60" and any("finished" in m.value for m in at.markdown)
    before = float(metric(at, "Training loss"))
    at.session_state["pg.pending"] = ["h1[0]"]  # what a click on unit h1[0] of the network drawing leaves
    at.run()
    ok(at)
    assert any("computing the pruned network's first frame" in i.value for i in at.info)  # never the old losses
    assert not at.metric
    drain(data)
    at.run()
    ok(at)
    store = RunStore(data)
    kid = next(j for j in store.list_jobs(kind="playground") if j.config["pruned"])
    first = next(f.payload for f in store.frames(kid.id, kind="frame"))
    assert (kid.config["parent_step"], kid.config["steps"], first["step"], first["pruned"]) == (60, 120, 60, ["h1[0]"])
    shown = float(metric(at, "Training loss"))
    assert math.isclose(shown, first["train_loss"], abs_tol=5e-4) and not math.isclose(shown, before, abs_tol=5e-4)
    assert any("paused at step 60" in m.value and "pruned: h1[0]" in m.value for m in at.markdown)
    assert not at.button(key="pg.play").disabled
    at.button(key="pg.play").click().run()
    drain(data)
    at.run()
    ok(at)
    assert metric(at, "Step") == "120" and any("finished" in m.value for m in at.markdown)
    last = [f.payload for f in store.frames(kid.id, kind="frame")][-1]
    assert last["step"] == 120 and last["pruned"] == ["h1[0]"]
