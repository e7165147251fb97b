"""AppTest of the Signal-propagation page: the lab's jobs drawn as figures with their captions, and
"Train these" handing the trainability grid to the Train page, which submits it as one group."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.jobs import backends as backend_mod
from explorer.jobs.worker import run_next
from explorer.training.store import RunStore
from ui.state import GridRequest

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "6_Signal_propagation.py")


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A data folder, and no worker process: the test runs the queued jobs itself, as the worker would."""
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(backend_mod, "ensure_worker", lambda *a, **k: None)
    return tmp_path


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def work(data) -> list[str]:
    """Run every queued job in this process; returns their kinds."""
    s = RunStore(data)
    kinds = []
    while (jid := run_next(s, "test")) is not None:
        job = s.get_job(jid)
        kinds.append(job.kind)
        assert job.status == "done", job.error
    return kinds


def small(at: AppTest) -> AppTest:
    at.slider(key="spp.depth").set_value(3).run()
    at.number_input(key="spp.width").set_value(8).run()
    at.number_input(key="spp.inputs").set_value(4).run()
    at.number_input(key="spp.iso_steps").set_value(30).run()
    at.multiselect(key="spp.depths").set_value([2, 5]).run()
    at.number_input(key="spp.depth_inputs").set_value(2).run()
    return at


def test_page_draws_every_figure_of_the_lab_with_its_caption(data):
    at = small(AppTest.from_file(PAGE, default_timeout=120).run())
    ok(at)
    assert any("appear here" in i.value for i in at.info)  # submitted, not computed in the page
    assert sorted(set(work(data))) == ["propagation.depth", "propagation.spectra"]
    at.run()
    ok(at)
    assert len(at.get("plotly_chart")) == 7  # histogram, heatmap, depth, kept, pruned, penalty, isometry
    captions = " ".join(c.value for c in at.caption)
    for phrase in ("spike at σ = 1", "find the layer where the signal dies", "exact isometry at any depth",
                   "hatched bars are the other SNIP", "no longer propagates faithfully", "floor above 0",
                   "pulls the spectrum back towards σ = 1"):
        assert phrase in captions, phrase
    table = at.dataframe[0].value
    assert list(table["init"]) == ["orthogonal", "gaussian:1"]
    assert abs(float(table["mean σ"][0]) - 1) < 1e-5 and float(table["std σ"][0]) < 1e-5  # linear + orthogonal
    assert any("MNIST-1D (40 → 10)" in i.value for i in at.info)  # a square net has nothing to train on


def test_a_zoo_model_gets_its_levels_from_the_lifting(data):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.radio(key="spp.kind").set_value("model").run()
    at.selectbox(key="spp.zoo").set_value("mlp_skip").run()
    at.number_input(key="spp.inputs").set_value(2).run()
    at.number_input(key="spp.iso_steps").set_value(5).run()
    at.multiselect(key="spp.depths").set_value([2]).run()
    ok(at)
    work(data)
    at.run()
    ok(at)
    captions = " ".join(c.value for c in at.caption)
    assert "the lifting: the level-l block of D_l(x) T_l(x)" in captions
    assert any("Trainability" in h.value for h in at.header) and at.button(key="spp.train")  # MNIST-1D fits it


def test_changing_a_setting_cancels_the_superseded_job(data):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    first = at.session_state["spp.job.spectra"]
    at.slider(key="spp.sparsity").set_value(0.5).run()
    ok(at)
    s = RunStore(data)
    assert at.session_state["spp.job.spectra"] != first and s.get_job(first).status == "cancelled"


def test_train_these_hands_the_grid_to_the_train_page(data):
    """Through app.py's navigation: the click lands on the Train page, which submits the grid's runs."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/6_Signal_propagation.py").run()
    small(at)
    at.radio(key="spp.io").set_value("mnist1d").run()
    at.number_input(key="spp.t_seeds").set_value(1).run()
    at.number_input(key="spp.t_steps").set_value(20).run()
    at.button(key="spp.train").click().run()
    ok(at)
    req = at.session_state["explorer.grid"]
    assert isinstance(req, GridRequest)
    s = RunStore(data)
    assert s.get_job(req.job_id).kind == "propagation.grid"
    assert any("Trainability grid" in h.value for h in at.subheader)  # now on the Train page, waiting
    assert "propagation.grid" in work(data)
    at.switch_page("pages/4_Train.py").run()  # AppTest reruns the page it started on unless told
    ok(at)
    runs = s.list_runs()
    assert len(runs) == 2 * 3 and len({r.group for r in runs}) == 1  # 2 schemes × {dense, pruned, isometry}
    assert sorted({r.config.init for r in runs}) == ["dense", "saved", "ticket"]
    assert "explorer.grid" not in at.session_state and at.session_state["train.group"] == runs[0].group
    t = time.monotonic() + 300  # they train as one batched job in its own process: wait, so teardown is quiet
    while not all(r.done for r in s.list_runs()) and time.monotonic() < t:
        time.sleep(0.5)
    assert {r.status for r in s.list_runs()} == {"done"}
    assert all("batched job of 6 runs" in r.summary["init_source"] for r in s.list_runs())
