"""AppTest of the Lottery page: every experiment kind renders empty; an IMP started from the form
becomes a job whose rounds the page draws (every chart, the tables, the ticket view and its
downloads); stability, transfer and early-bird documents render with their charts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.lessons.results import is_shipped
from explorer.lottery.experiment import EarlyBirdConfig, LotteryConfig, StabilityConfig, TransferConfig
from explorer.jobs import backends as backend_mod
from explorer.jobs.backends import InlineBackend
from explorer.jobs.worker import run_next
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


def test_every_kind_renders_on_a_fresh_install(data):
    """IMP and the sweep open on the shipped example results (labelled); the other kinds are empty."""
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    ok(at)
    for label in ("IMP", "One-shot sweep", "Stability", "Transfer", "Early-bird"):
        at.radio(key="lottery.kind").set_value(label).run()
        ok(at)
        shipped = any("Shipped example result" in i.value for i in at.info)
        empty = any("No experiment of this kind yet" in i.value for i in at.info)
        assert (shipped, empty) == ((True, False) if label in ("IMP", "One-shot sweep") else (False, True)), label


def test_start_answers_at_once_with_the_job_queued(data):
    """Start queues the job and the same run shows it queued with its progress bar — no chart of a job that
    has not trained yet — and nothing of the job's own code (torch, the experiment) is imported to queue it."""
    import subprocess
    import sys

    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.radio(key="lottery.kind").set_value("Stability").run()
    at.selectbox(key="lottery.stability.model").set_value("moons_mlp").run()
    at.button(key="lottery.start.lottery.stability").click().run()
    ok(at)
    (job,) = RunStore(data).list_jobs(kind="lottery.stability")
    assert job.status == "queued"
    assert [p.proto.text for p in at.get("progress")][0].startswith("queued")
    assert any("charts appear as the experiment trains" in c.value for c in at.caption) and charts(at) == 0
    probe = ("import sys, tempfile; from explorer.jobs.backends import LocalBackend; "
             "from explorer.lottery.kinds import SWEEP; from explorer.training.store import RunStore; "
             "LocalBackend(RunStore(tempfile.mkdtemp()), autostart=False).submit(SWEEP, {'model': 'mlp'}); "
             "print('torch' in sys.modules, 'explorer.lottery.sweep' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.split() == ["False", "False"], (out.stdout, out.stderr)


def test_start_imp_from_the_form_and_draw_its_rounds(data, one_thread):
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.selectbox(key="lottery.imp.model").set_value("moons_mlp").run()
    for name, v in (("steps", 30), ("eval_every", 10), ("seeds", 2), ("rounds", 2), ("rate", 0.5)):
        at.number_input(key=f"lottery.imp.{name}.moons_mlp").set_value(v).run()
    ok(at)
    at.button(key="lottery.start.lottery.imp").click().run()
    ok(at)
    store = RunStore(data)
    (job,) = [j for j in store.list_jobs(kind="lottery.imp") if not is_shipped(j)]
    assert job.status == "queued" and job.config["rounds"] == 2 and job.config["model"] == "moons_mlp"
    assert run_next(store, "test-worker") == job.id  # as the worker would
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
        assert InlineBackend(store).run(kind, cfg).status == "done"
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
