"""The results the lottery lessons open on (`explorer.lessons.results`): the shipped file is what the
product's own code computes for the lessons' settings — its configs are the Lottery page's form for the
lesson links (on the CPU), its documents agree with its runs' metrics through the verdict's own
arithmetic, its masks are the documents' sparsities, and a dense run retrained here logs the shipped
losses — and it installs into a run store once, where the Lottery and Train pages show it labelled,
and a Start beside it is a new job of the user's own."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.lessons import LESSONS, results
from explorer.lessons.results import EXPERIMENTS, is_shipped
from explorer.jobs import backends as backend_mod
from explorer.training.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
DOC = results.read()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A run store with the shipped results in it (and the masks where the jobs would write them)."""
    store = RunStore(tmp_path_factory.mktemp("shipped"))
    assert sorted(results.install(store, DOC)) == sorted(j["id"] for j in DOC["jobs"])
    return store


@pytest.fixture
def data(installed, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(installed.dir))
    monkeypatch.setattr(backend_mod, "ensure_worker", lambda *a, **k: None)  # nothing trains here
    return installed


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# ---- the file: what was computed, by what ---------------------------------------------------------

def test_the_shipped_jobs_are_the_experiments_the_lessons_name():
    assert {j["kind"]: j["config"] for j in DOC["jobs"]} == {k: c.to_dict() for k, c in EXPERIMENTS.items()}
    assert DOC["command"] == results.COMMAND and (ROOT / results.COMMAND.split()[1]).exists()
    made = DOC["made"]
    assert made["torch"] and set(made["seconds"]) == set(EXPERIMENTS) and all(s > 0 for s in made["seconds"].values())
    assert results.SHIPPED.stat().st_size < 2_000_000  # compact: the repository carries it


def test_the_shipped_configs_are_what_the_lessons_start(monkeypatch):
    """Each Lottery link of lessons 5 and 8 opens a form whose Start submits the shipped experiment, but
    for the device ("auto": the user's own run is another job, not the shipped one)."""
    from explorer.lottery.experiment import KINDS
    from ui.lottery_forms import form_defaults

    for les in LESSONS:
        for step in les.steps:
            link = step.link
            if link is None or link.page != "Lottery":
                continue
            v = link.values()
            kind = f"lottery.{v.get('kind', 'imp')}"  # the schema's default kind is left out of the link
            form = {**form_defaults(kind, v["model"]), **{k: v[k] for k in v if k not in ("kind", "v")}}
            cfg = KINDS[kind].of(**form).resolved()
            assert cfg == EXPERIMENTS[kind].replace(device="auto"), (les.slug, step.title)


def test_the_group_names_agree_with_the_experiment():
    from explorer.lottery.rounds import group_of

    for kind, cfg in EXPERIMENTS.items():
        groups = {r["config"]["group"] for r in DOC["runs"]}
        for r in range(len(cfg.schedule()) + 1):
            assert results.group(kind, r) == group_of(cfg, r) and group_of(cfg, r) in groups


# ---- the numbers: consistent with each other, and with the code ----------------------------------

def _runs():
    from explorer.training.config import RunConfig

    return {r["id"]: (RunConfig.from_dict(r["config"]), r) for r in DOC["runs"]}


def test_the_documents_agree_with_their_runs_metrics():
    """Iterations to target, final and best accuracies of every role, recomputed from the shipped metric rows
    with the verdict's own functions, equal the documents' (which the job computed from the store)."""
    from explorer.lottery.verdict import compare, facts

    runs = _runs()

    class Row:  # what `facts` reads of a store run
        def __init__(self, rid):
            cfg, r = runs[rid]
            self.id, self.config, self.summary, self.status = rid, cfg, r["summary"], r["status"]

    def metrics(rid):
        m = runs[rid][1]["metrics"]
        return [dict(zip(m, row)) for row in zip(*m.values())]

    for job in DOC["jobs"]:
        doc, frac = job["result"], job["config"]["target_frac"]
        dense = doc["dense"]["run_ids"]
        for entry in doc["rounds"]:
            for role, d in entry["runs"].items():
                cmp = compare([facts(Row(i), metrics(i)) for i in [*dense, *d["run_ids"]]], frac)
                iters = {rid: it for row in cmp.rows for rid, _, it in row.per_run}
                assert [iters[i] for i in d["run_ids"]] == d["iters_to_target"], (job["kind"], entry["round"], role)
                for i, acc in zip(d["run_ids"], d["test_acc"]):
                    tests = [m["acc"] for m in metrics(i) if m["split"] == "test"]
                    assert math.isclose(tests[-1], acc, abs_tol=1e-6) and 0 <= acc <= 1
                assert all(runs[i][1]["status"] == "done" and runs[i][0].group == entry["group"] for i in d["run_ids"])


def test_the_masks_are_the_documents_sparsities():
    """Every shipped mask has the sparsity and per-layer density its round states; IMP masks only shrink
    and reach 1 - 0.8^r of the prunable weights; the sweep's reach the sparsities asked for."""
    masks = {j["kind"]: j for j in DOC["jobs"]}
    for kind, job in masks.items():
        root = f"{DOC['root']}/jobs/{job['id']}/"
        prev = None
        for entry in job["result"]["rounds"]:
            ms = [results.unpack_mask(job["files"][f"{p.removeprefix(root)}/mask.safetensors"]["mask"])
                  for p in entry["masks"]]
            assert math.isclose(sum(m.sparsity for m in ms) / len(ms), entry["sparsity"], abs_tol=1e-9)
            for k, v in entry["layer_density"].items():
                assert math.isclose(sum(m.layer_density()[k] for m in ms) / len(ms), v, abs_tol=1e-9)
            want = EXPERIMENTS[kind].schedule()[entry["round"] - 1]
            assert abs(entry["sparsity"] - want) < 0.01, (kind, entry["round"], entry["sparsity"], want)
            if kind == "lottery.imp" and prev is not None:
                assert all(m.is_subset_of(p) for m, p in zip(ms, prev))
            prev = ms


def test_runs_retrained_here_log_the_shipped_losses(installed, one_thread, tmp_path):
    """The sweep's dense run of seed 0 and, at 90% sparsity, its ticket and both controls, trained again for
    their first 50 steps by the product's loop from the installed masks (a constant learning rate: the first
    50 steps of the 1,501), log the shipped train losses: the shipped numbers are this code's."""
    from explorer.training.runner import execute

    for group, init in ((results.group("lottery.sweep", 0), "dense"), *((results.group("lottery.sweep", 3), i)
                                                                         for i in ("ticket", "reinit", "random"))):
        run = next(r for r in installed.list_runs(group=group) if r.config.init == init and r.config.seed == 0)
        rows: list = []
        execute(run.config.replace(steps=50, eval_every=50, save_final=False), rows.extend, checkpoint_root=tmp_path)
        mine = {m["step"]: m["loss"] for m in rows if m["split"] == "train"}
        theirs = {m["step"]: m["loss"] for m in installed.metrics(run.id, split="train") if m["step"] in mine}
        assert len(theirs) >= 4 and all(math.isclose(mine[s], theirs[s], rel_tol=1e-3) for s in theirs), \
            (init, mine, theirs)


def test_what_the_lessons_say_of_the_results_holds():
    """Lesson 5: one-shot tickets beat the random mask clearly only at 99%; at 50% the ticket reaches the
    target in fewer iterations than dense; at 90% it never reaches it. Lesson 8: 5 rounds reach ~67%."""
    from explorer.lottery.report import mean_std

    sweep = next(j["result"] for j in DOC["jobs"] if j["kind"] == "lottery.sweep")
    by = {e["round"]: e for e in sweep["rounds"]}
    acc = lambda r, role: mean_std(by[r]["runs"][role]["test_acc"])[0]  # noqa: E731
    assert acc(6, "ticket") > acc(6, "random") + 0.03  # 99%
    assert mean_std(by[1]["runs"]["ticket"]["iters_to_target"])[0] <= mean_std(sweep["dense"]["iters_to_target"])[0]
    assert all(i is None for i in by[3]["runs"]["ticket"]["iters_to_target"])  # 90%
    imp = next(j["result"] for j in DOC["jobs"] if j["kind"] == "lottery.imp")
    assert len(imp["rounds"]) == 5 and abs(imp["rounds"][-1]["sparsity"] - (1 - 0.8 ** 5)) < 0.01
    density = {k: v for k, v in imp["rounds"][-1]["layer_density"].items()  # lesson 8 step 2, hidden layers
               if k.endswith(".weight") and not k.startswith("out.")}  # (the output layer has its own rate)
    assert (min(density, key=density.get), max(density, key=density.get)) == ("fc2.weight", "fc1.weight")


# ---- installed: where the pages find it ---------------------------------------------------------

def test_install_is_once_and_as_if_run_here(installed):
    assert results.install(installed, DOC) == []  # a second call (another session) changes nothing
    jobs = [j for j in installed.list_jobs() if is_shipped(j) and j.kind != "train"]  # its runs are train jobs
    assert len(jobs) == len(DOC["jobs"]) and all(j.status == "done" and results.NOTE == j.note for j in jobs)
    for j in jobs:
        for entry in j.result["rounds"]:
            for folder in entry["masks"]:
                assert Path(folder).is_relative_to(installed.dir.resolve() / "jobs" / j.id)
                assert (Path(folder) / "mask.safetensors").exists()
            for d in entry["runs"].values():
                for rid in d["run_ids"]:
                    run = installed.get(rid)  # the row's id is its (moved) config's own hash
                    assert run.config.run_id == rid and is_shipped(run) and installed.metrics(rid)
                    assert Path(run.config.pruned_dir).is_relative_to(installed.dir.resolve())


def test_the_lottery_lessons_open_on_the_shipped_results(data):
    """Lessons 5 and 8 open with their charts and the ticket view, labelled as shipped."""
    for les, n in ((LESSONS[4], 1), (LESSONS[7], 1)):
        step = les.step(n)
        at = AppTest.from_file(str(ROOT / step.link.file), default_timeout=180)
        for k, v in step.link.query.items():
            at.query_params[k] = v
        at.run()
        ok(at)
        assert any("Shipped example result" in i.value and results.COMMAND in i.value for i in at.info)
        assert not any("No experiment of this kind yet" in i.value for i in at.info)
        assert at.radio(key="lottery.metric") and at.select_slider(key="lottery.ticket.round")
        assert len(at.get("plotly_chart")) >= 4  # accuracy, iterations (, flow), mask, ticket


def test_the_train_lesson_opens_a_round_against_its_dense_runs(data):
    step = LESSONS[4].step(2)
    at = AppTest.from_file(str(ROOT / step.link.file), default_timeout=180)
    at.query_params.update(step.link.query)
    at.run()
    ok(at)
    assert any("Shipped example result" in i.value for i in at.info)
    verdict = next(m.value for m in at.markdown if m.value.startswith("**Verdict.**"))
    assert "Weak LTH holds here" in verdict and "50% sparsity" in verdict, verdict
    table = at.dataframe[0].value
    assert [r.split(" ")[0] for r in table["role"]][:2] == ["dense", "ticket"]
    assert set(table["reached target"]) == {"2/2"}
    at.slider(key="train.target").set_value(0.9).run()
    ok(at)
    assert "90%" in next(m.value for m in at.markdown if m.value.startswith("**Verdict.**"))


def test_start_beside_a_shipped_result_is_a_job_of_ones_own(data):
    step = LESSONS[7].step(1)
    at = AppTest.from_file(str(ROOT / step.link.file), default_timeout=180)
    at.query_params.update(step.link.query)
    at.run()
    at.button(key="lottery.start.lottery.imp").click().run()
    ok(at)
    mine = [j for j in data.list_jobs(kind="lottery.imp") if not is_shipped(j)]
    assert len(mine) == 1 and mine[0].status == "queued"
    assert {k: v for k, v in mine[0].config.items() if k != "device"} == \
        {k: v for k, v in EXPERIMENTS["lottery.imp"].to_dict().items() if k != "device"}
    assert not any("Shipped example result" in i.value for i in at.info)  # one's own job is on show now
    assert any("queued" in (p.proto.text or "") for p in at.get("progress"))
    data.request_cancel(mine[0].id)
