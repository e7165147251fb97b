"""AppTest of the Lottery page: every experiment kind renders empty; an IMP started from the form
becomes a job whose rounds the page draws (every chart, the tables, the ticket view and its
downloads); stability, transfer and early-bird documents render with their charts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.lottery.experiment import EarlyBirdConfig, LotteryConfig, StabilityConfig, TransferConfig
from explorer.training.jobs import backend as backend_mod
from explorer.training.jobs.context import execute_job, run_inline
from explorer.training.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "5_Lottery.py")
TINY = dict(model="moons_mlp", dataset="moons", steps=30, eval_every=10, lr=1e-2, seeds=1, device="cpu")


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(backend_mod, "ensure_worker", lambda *a, **k: None)  # the test plays the worker
    return tmp_path


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def test_every_kind_renders_empty(data):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    ok(at)
    for label in ("IMP", "One-shot sweep", "Stability", "Transfer", "Early-bird"):
        at.radio(key="lottery.kind").set_value(label).run()
        ok(at)
        assert any("No experiment of this kind yet" in i.value for i in at.info)


def test_start_imp_from_the_form_and_draw_its_rounds(data, one_thread):
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.selectbox(key="lottery.imp.model").set_value("moons_mlp").run()
    for name, v in (("steps", 30), ("eval_every", 10), ("seeds", 2), ("rounds", 2), ("rate", 0.5)):
        at.number_input(key=f"lottery.imp.{name}.moons_mlp").set_value(v).run()
    ok(at)
    at.button(key="lottery.start.lottery.imp").click().run()
    ok(at)
    store = RunStore(data)
    (job,) = store.list_jobs(kind="lottery.imp")
    assert job.status == "queued" and job.config["rounds"] == 2 and job.config["model"] == "moons_mlp"
    execute_job(store, store.claim_job("test-worker"), "test-worker")  # as the worker would
    assert store.get_job(job.id).status == "done", store.get_job(job.id).error
    at.run()
    ok(at)
    # accuracy, iterations, flow, first-layer mask, the ticket on the DAG
    assert charts(at) == 5
    rounds = at.dataframe[0].value
    assert sorted(set(rounds["role"])) == ["dense", "random", "reinit", "ticket"] and set(rounds["round"]) == {0, 1, 2}
    labels = [b.label for b in at.get("download_button")]
    for want in ("Chart HTML", "Rounds table CSV", "Per-run table CSV", "Document JSON",
                 "Ticket (zip, Prune export format)"):
        assert want in labels, labels
    at.select_slider(key="lottery.ticket.round").set_value(1).run()
    ok(at)
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("the ticket on the DAG" in s and "arcs survive" in s for s in specs)
    assert any("weights kept" in s for s in specs)


def test_sweep_stability_transfer_and_earlybird_documents_render(data, one_thread):
    store = RunStore(data)
    for kind, cfg in (("lottery.sweep", LotteryConfig.of(**TINY, sweep=(0.5, 0.9), controls=("random",))),
                      ("lottery.stability", StabilityConfig.of(**TINY)),
                      ("lottery.transfer", TransferConfig.of(**{**TINY, "model": "mlp", "dataset": "mnist1d"},
                                                          target_dataset="mnist1d@perm=1")),
                      ("lottery.earlybird", EarlyBirdConfig.of(**{**TINY, "steps": 100}))):
        assert run_inline(kind, cfg.to_dict(), store).status == "done"
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    want = {"One-shot sweep": 4, "Stability": 1, "Transfer": 0, "Early-bird": 1}
    for label, n in want.items():
        at.radio(key="lottery.kind").set_value(label).run()
        ok(at)
        assert charts(at) == n, label
    assert at.dataframe[0].value["ticket"].tolist() == ["early-bird ticket", "end-of-training ticket", "dense"]
    at.radio(key="lottery.kind").set_value("Transfer").run()
    rows = at.dataframe[0].value["row"].tolist()
    assert rows[:2] == ["A's ticket on B", "B's own ticket"] and "dense on B" in rows
    at.radio(key="lottery.kind").set_value("Stability").run()
    assert any("error barrier" in m.label for m in at.metric)
    assert os.environ["EXPLORER_DATA_DIR"] == str(data)
