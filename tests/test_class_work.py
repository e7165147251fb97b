"""Per-student work on a class server (issue 19, phase 2): every job a class session submits carries the
student's owner id; every page lists, follows and cancels only the student's own jobs; a crafted link
naming another student's group or experiment says "not yours" and shows nothing of it; the teacher sees
all; identical work is one job shared by those who asked; no server path is read as a dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.data.datasets import load_dataset
from explorer.data.user_files import DataError
from explorer.jobs.backends import LocalBackend
from explorer.jobs.member import MemberBackend
from explorer.jobs.rows import Submission
from explorer.jobs.store import NotYours
from explorer.server.roster import Roster
from explorer.server.settings import ClassSettings
from explorer.training.config import RunConfig
from explorer.training.kinds import run_submission
from explorer.training.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
TRAIN, LOTTERY = str(ROOT / "pages" / "4_Train.py"), str(ROOT / "pages" / "5_Lottery.py")
CLASS = ClassSettings(address="127.0.0.1", port=8599, join_code="maple-42", teacher_code="oak-tree-7")
MEMBER = "explorer.member"  # ui.state.MEMBER


@pytest.fixture
def klass(monkeypatch, tmp_path):
    """A class server's process (data in tmp_path) with two students and the teacher joined."""
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    for k, v in CLASS.environ().items():
        monkeypatch.setenv(k, v)
    r = Roster(tmp_path)
    ada, bob, teach = (r.join(CLASS, code, name)[0] for code, name in
                       (("maple-42", "Ada"), ("maple-42", "Bob"), ("oak-tree-7", "Ms Teach")))
    return tmp_path, ada, bob, teach


def _finished(store: RunStore, config: RunConfig, owner: str) -> str:
    """A run of `owner` in the store as if trained (metrics and summary, no training)."""
    rid = store.submit(run_submission(config, owner=owner))
    store.claim("t", job=rid)
    store.log_metrics(rid, [{"step": 10 * (i + 1), "split": s, "loss": 1 - a, "acc": a, "wall_time": 0.0}
                            for i, a in enumerate((0.3, 0.6, 0.9)) for s in ("train", "test")], "t")
    store.finish(rid, "done", result={"params": 100, "kept_params": 100 if config.init == "dense" else 60,
                                       "sparsity": 0.0 if config.init == "dense" else 0.4}, worker_id="t")
    return rid


def _two_groups(data: Path, ada, bob) -> dict[str, list[str]]:
    s = RunStore(data)
    base = RunConfig(model="mlp", dataset="mnist1d", steps=30)
    out = {}
    for who, g in ((ada, "ada-group"), (bob, "bob-group")):
        out[g] = [_finished(s, base.replace(group=g, label="dense", seed=len(out)), who.id),
                  _finished(s, base.replace(group=g, init="ticket", pruned_dir="p", label="ticket", seed=len(out)),
                            who.id)]
    return out


def _page(path: str, who, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(path, default_timeout=120)
    at.session_state[MEMBER] = who
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def _text(at: AppTest) -> str:
    """Everything a person reads on the page (markdown, captions, alerts, the group picker's choices)."""
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success") for e in getattr(at, kind)]
    parts += [str(o) for sb in at.selectbox for o in sb.options]
    return "\n".join(map(str, parts))


def test_each_student_sees_only_their_groups_and_the_teacher_sees_all(klass):
    data, ada, bob, teach = klass
    groups = _two_groups(data, ada, bob)
    for who, mine, theirs in ((ada, "ada-group", "bob-group"), (bob, "bob-group", "ada-group")):
        at = _page(TRAIN, who)
        assert not at.exception, [e.value for e in at.exception]
        text = _text(at)
        assert at.selectbox(key=f"train.groupsel.{mine}").options == [mine]
        assert theirs not in text and not any(r in text for r in groups[theirs])
        assert all(r in text for r in groups[mine])  # their own runs, by id, with the verdict
        assert any("Verdict" in m.value for m in at.markdown)
    at = _page(TRAIN, teach)
    assert not at.exception
    pick = next(sb for sb in at.selectbox if sb.key.startswith("train.groupsel."))
    assert sorted(pick.options) == ["ada-group", "bob-group"]


def test_a_crafted_link_to_another_students_group_says_not_yours(klass):
    data, ada, bob, _ = klass
    groups = _two_groups(data, ada, bob)
    at = _page(TRAIN, ada, {"group": "bob-group", "model": "mlp"})
    assert not at.exception
    assert any("belongs to another student" in e.value and "bob-group" in e.value for e in at.error)
    text = "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)
    assert not any(r in text for r in groups["bob-group"])  # nothing of it: no run, no verdict of Bob's
    assert at.session_state["train.group"] == "ada-group"
    # a student with no runs of their own and a link to another's group: the message, then the empty page
    RunStore(data).withdraw(groups["ada-group"][0], ada.id), RunStore(data).withdraw(groups["ada-group"][1], ada.id)
    at = _page(TRAIN, ada, {"group": "bob-group"})
    assert any("belongs to another student" in e.value for e in at.error)
    assert any("No runs yet" in i.value for i in at.info)


def test_a_crafted_link_to_another_students_experiment_says_not_yours(klass):
    data, ada, bob, _ = klass
    s = RunStore(data)
    cfg = {"model": "lottery_mlp", "dataset": "mnist1d", "seeds": 1, "rounds": 2, "steps": 30}
    jid = s.submit(Submission("lottery.imp", cfg, module="explorer.lottery.kinds", owner=bob.id))
    s.request_cancel(jid)  # no worker runs it in this test
    at = _page(LOTTERY, ada, {"kind": "imp", "job": jid})
    assert not at.exception
    assert any("belongs to another student" in e.value and jid in e.value for e in at.error)
    assert not any(jid in str(o) for sb in at.selectbox for o in sb.options)
    mine = _page(LOTTERY, bob, {"kind": "imp", "job": jid})
    assert not any("belongs to another student" in e.value for e in mine.error)
    assert any(jid in str(o) for sb in mine.selectbox for o in sb.options)


def test_a_page_submits_as_the_student_and_the_other_cannot_see_it(klass):
    data, ada, bob, _ = klass
    at = _page(TRAIN, ada)
    at.selectbox(key="new.model").set_value("moons_mlp").run()
    assert at.selectbox(key="new.dataset.moons_mlp").options == ["mnist1d", "moons", "spiral", "xor"] or \
        "file…" not in at.selectbox(key="new.dataset.moons_mlp").options  # no server path on a class server
    assert at.text_input(key="new.pruned").disabled
    at.number_input(key="new.steps").set_value(5).run()
    at.text_input(key="new.group").set_value("gA").run()
    at.button(key="new.go").click().run()
    assert not at.exception
    be = LocalBackend(RunStore(data), autostart=False)
    runs = be.store.list_runs(group="gA")
    assert len(runs) == 1 and runs[0].owner == ada.id and be.store.owners(runs[0].id) == [ada.id]
    assert MemberBackend(be, bob.id).store.list_runs() == []
    with pytest.raises(NotYours):
        MemberBackend(be, bob.id).cancel(runs[0].id)
    with pytest.raises(NotYours):
        MemberBackend(be, bob.id).store.metrics(runs[0].id)
    MemberBackend(be, ada.id).cancel(runs[0].id)  # her only interest: cancelled
    assert be.store.status(runs[0].id) in ("cancelled", "running")


def test_identical_runs_are_one_job_shared_and_cancelling_drops_only_ones_interest(klass):
    data, ada, bob, teach = klass
    be = LocalBackend(RunStore(data), autostart=False)
    cfg = RunConfig(model="mlp", dataset="mnist1d", steps=30, group="same")
    a = MemberBackend(be, ada.id).submit(run_submission(cfg))
    b = MemberBackend(be, bob.id).submit(run_submission(cfg))
    assert a == b and len(be.store.list_runs()) == 1 and be.store.owners(a) == [ada.id, bob.id]
    for who in (ada, bob):
        assert [r.id for r in MemberBackend(be, who.id).store.list_runs()] == [a]
    assert MemberBackend(be, bob.id).cancel(a) == "queued"  # Ada still wants it
    assert MemberBackend(be, bob.id).store.list_runs() == [] and be.store.owners(a) == [ada.id]
    assert [r.id for r in MemberBackend(be, ada.id).store.list_runs()] == [a]
    assert MemberBackend(be, ada.id).cancel(a) == "cancelled"  # nobody wants it now
    # a batched job's runs are the asker's too, and shared the same way
    configs = [cfg.replace(group="b", seed=s) for s in (0, 1)]
    from explorer.training.kinds import submit_runs
    ids = submit_runs(MemberBackend(be, ada.id), configs, batched=True)
    submit_runs(MemberBackend(be, bob.id), configs, batched=True)
    assert all(be.store.owners(r) == [ada.id, bob.id] for r in ids)
    assert sorted(r.id for r in MemberBackend(be, teach.id, sees_all=True).store.list_runs(group="b")) == sorted(ids)


def test_no_server_path_is_read_as_a_dataset_on_a_class_server(klass, tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("1,2,0\n3,4,1\n" * 10)
    with pytest.raises(DataError, match="built-in datasets only"):
        load_dataset(str(data))
    assert load_dataset("moons").n_classes == 2


def test_the_local_app_reads_a_dataset_file(monkeypatch, tmp_path):
    monkeypatch.delenv("EXPLORER_CLASS_JOIN_CODE", raising=False)
    data = tmp_path / "x.csv"
    data.write_text("1,2,0\n3,4,1\n" * 10)
    assert load_dataset(str(data)).n_classes == 2


def test_a_student_sees_their_queue_place_and_a_refusal_over_quota(klass, monkeypatch):
    """Bob queued three runs before Ada's two: served in turn, Ada's first run is 2nd in the queue (not 4th);
    with nothing finished yet the page says there is no time estimate rather than inventing one. Over her
    quota, Ada's next submission is refused with the limit named, and nothing is queued."""
    from explorer.jobs.lifecycle import try_lock

    data, ada, bob, _ = klass
    lock = try_lock(data)  # no worker may claim while the page is read: the queue stays as it is
    try:
        s = RunStore(data)
        base = RunConfig(model="moons_mlp", dataset="moons", steps=20)
        for i in range(3):
            s.submit(run_submission(base.replace(group="bob-q", seed=i), owner=bob.id))
        mine = [s.submit(run_submission(base.replace(group="ada-q", seed=10 + i), owner=ada.id)) for i in range(2)]
        at = _page(TRAIN, ada, {"group": "ada-q"})
        assert not at.exception
        places = [c.value for c in at.caption if "in the queue" in c.value]
        assert places[0].startswith("queued: 2nd in the queue (1 job ahead)") and "no time estimate" in places[0]
        assert places[1].startswith("queued: 4th in the queue (3 jobs ahead)")
        assert not any("bob" in p for p in places)
        from explorer.training.quota import Quota

        monkeypatch.setattr("explorer.training.quota.CLASS_QUOTA", Quota(jobs=2))
        at.selectbox(key="new.model").set_value("moons_mlp").run()
        at.number_input(key="new.steps").set_value(5).run()
        at.text_input(key="new.group").set_value("one-more").run()
        at.button(key="new.go").click().run()
        assert any("the class limit is 2" in e.value for e in at.error)
        assert not s.list_runs(group="one-more") and [r.id for r in s.list_runs(group="ada-q")] == mine
    finally:
        lock.close()


# ---- the teacher's class overview (pages/10_Class.py) -------------------------------------------------------------
CLASS_PAGE = str(ROOT / "pages" / "10_Class.py")


def _export(folder: Path, nodes: list[str], masked: float) -> str:
    """A pruned export's spec.json as the Prune page writes it (what the overview reads of a cut)."""
    folder.mkdir(parents=True)
    (folder / "spec.json").write_text(json.dumps({"format": "explorer-pruned/1", "model": "mlp", "removed": {
        "nodes": nodes, "arcs": []}, "sparsity": {"mask": masked}}))
    return str(folder)


def test_the_teacher_sees_every_students_cut_and_verdict_side_by_side(klass):
    data, ada, bob, teach = klass
    s = RunStore(data)
    base = RunConfig(model="mlp", dataset="mnist1d", steps=30)
    cuts = {ada: _export(data / "ex" / "ada", ["h1[0]", "h1[1]"], 0.25), bob: _export(data / "ex" / "bob", ["h2[3]"], 0.5)}
    for who, g in ((ada, "ada-group"), (bob, "bob-group")):
        _finished(s, base.replace(group=g, label="dense"), who.id)
        _finished(s, base.replace(group=g, init="ticket", pruned_dir=cuts[who], label="ticket"), who.id)
    queued = s.submit(run_submission(base.replace(group="bob-later", seed=3), owner=bob.id))
    s.request_cancel(queued)  # cancelled: no worker runs during the test
    at = _page(CLASS_PAGE, teach)
    assert not at.exception and not at.error, [e.value for e in at.error]
    act, table = (t.value for t in at.table)
    assert list(act.index) == ["Ada", "Bob"] and list(act["done"]) == [2, 2]
    assert list(table.index) == ["Ada", "Bob"] and list(table["group"]) == ["ada-group", "bob-group"]
    assert list(table["cut"]) == ["2 node(s), 0 arc(s) removed; 25% of weights masked",
                                  "1 node(s), 0 arc(s) removed; 50% of weights masked"]
    assert list(table["kept params"]) == ["60 of 100", "60 of 100"] and list(table["runs done"]) == ["2/2", "2/2"]
    assert all(v for v in table["verdict"])
    for student in (ada, bob):  # the teacher's page shows a student nothing
        at = _page(CLASS_PAGE, student)
        assert any("teacher's page" in e.value for e in at.error) and not at.table


# ---- cross-student batching (explorer.training.coalesce) ------------------------------------------------------
def _batch_of(owner: str, seeds, data_seed: int = 0):
    from explorer.training.kinds import batch_submission

    cfgs = [RunConfig(model="moons_mlp", dataset="moons", steps=20, eval_every=10, device="cpu", seed=s,
                      group=f"{owner}-g") for s in seeds]
    return batch_submission(cfgs, owner=owner), [c.run_id for c in cfgs]


def _each_alone_gives_the_same_curves(store: RunStore, batches, tmp_path_factory) -> None:
    """The independent reference: each batch (submission, run ids) trained in a store of its own, outside a
    class; every run's curve in `store` equals its curve there."""
    import os

    from explorer.jobs.context import execute

    for sub, ids in batches:
        ref = RunStore(tmp_path_factory.mktemp("alone"))
        ref.submit(sub)
        execute(ref, ref.claim("w", os.getpid()), "w")
        for rid in ids:
            got, want = store.metrics(rid), ref.metrics(rid)
            assert [(m["step"], m["split"]) for m in got] == [(m["step"], m["split"]) for m in want]
            assert all(abs(g["loss"] - w["loss"]) < 1e-4 and abs(g["acc"] - w["acc"]) < 1e-6 for g, w in zip(got, want))


def test_quick_comparisons_of_two_students_train_as_one_vmapped_job(klass, tmp_path_factory):
    """Ada's and Bob's batched jobs (same architecture and settings) queued together: the worker trains
    all four runs in Ada's job; Bob's job ends done naming it; every run's curve is the one it gets trained
    alone (an independent reference: each batch in a store of its own, outside a class)."""
    import os

    from explorer.jobs.context import execute

    data, ada, bob, _ = klass
    s = RunStore(data)
    (sa, ra), (sb, rb) = _batch_of(ada.id, (0, 1)), _batch_of(bob.id, (2, 3))
    ja, jb = s.submit(sa), s.submit(sb)
    job = s.claim("w", os.getpid())
    assert job.id == ja
    execute(s, job, "w")
    assert s.get_job(ja).status == "done" and s.get_job(jb).status == "done"
    assert s.get_job(jb).result["trained_with"] == ja and s.get_job(ja).result["trained_with"] == [jb]
    assert sorted(s.get_job(ja).result["runs"]) == sorted(ra)  # Ada's result lists her runs only
    assert all(s.get_job(r).status == "done" for r in ra + rb)
    assert MemberBackend(LocalBackend(s, autostart=False), ada.id).store.list_runs(group=f"{bob.id}-g") == []

    os.environ.pop("EXPLORER_CLASS_JOIN_CODE")  # the reference: each batch alone, outside a class
    _each_alone_gives_the_same_curves(s, ((sa, ra), (sb, rb)), tmp_path_factory)


def test_a_local_app_never_merges_jobs(monkeypatch, tmp_path):
    import os

    from explorer.jobs.context import execute

    monkeypatch.delenv("EXPLORER_CLASS_JOIN_CODE", raising=False)
    s = RunStore(tmp_path)
    (sa, _), (sb, _) = _batch_of("", (0, 1)), _batch_of("", (2, 3))
    ja, jb = s.submit(sa), s.submit(sb)
    execute(s, s.claim("w", os.getpid()), "w")
    assert s.get_job(ja).status == "done" and s.get_job(jb).status == "queued"


# ---- twin runs, trained once (explorer.training.twins) --------------------------------------------------------
def test_twin_runs_of_two_students_train_once_and_each_gets_the_curve_it_would_alone(klass, tmp_path_factory):
    """Ada's seeds 0, 1 and Bob's 1, 2 differ only in their group at seed 1: the merged job trains three
    runs, not four. Bob's seed-1 run gets Ada's rows, its own summary saying so, and the rewind checkpoint;
    every run's curve is the one it gets in a store of its own outside a class (the reference)."""
    import os

    from explorer import paths
    from explorer.jobs.context import execute

    data, ada, bob, _ = klass
    s = RunStore(data)
    (sa, ra), (sb, rb) = _batch_of(ada.id, (0, 1)), _batch_of(bob.id, (1, 2))
    ja, jb = s.submit(sa), s.submit(sb)
    execute(s, s.claim("w", os.getpid()), "w")
    assert s.get_job(ja).result["trained_once_for_twins"] == 1
    assert all(s.get_job(r).status == "done" for r in ra + rb)
    twin = s.get_job(rb[0])
    assert "trained once with its twin" in twin.result["init_source"] and ra[1] not in twin.result["init_source"]
    assert s.metrics(rb[0]) == s.metrics(ra[1])  # the same rows, each under its own id
    ck = paths.checkpoint(paths.checkpoints(data), rb[0], 0)
    assert ck.is_file() and ck.read_bytes() == paths.checkpoint(paths.checkpoints(data), ra[1], 0).read_bytes()

    os.environ.pop("EXPLORER_CLASS_JOIN_CODE")
    _each_alone_gives_the_same_curves(s, ((sa, ra), (sb, rb)), tmp_path_factory)


def test_a_twin_that_stops_ends_cancelled_while_the_run_goes_on_for_the_others():
    """`Fan`: a twin whose job asks to stop gets no rows after that and ends cancelled at its last step; the
    run trains on while any twin wants it, and stops once all have asked."""
    from explorer.training.runner import RunResult
    from explorer.training.twins import Fan, Twins

    a = RunConfig(model="mlp", group="ada", label="dense s0")
    t = Twins({"a": a, "b": a.replace(group="bob"), "c": a.replace(group="cy")})
    got: dict[str, list[int]] = {r: [] for r in "abc"}
    asked: set[str] = set()
    fan = Fan(t, lambda rid, rows: got[rid].extend(x["step"] for x in rows), lambda rid: rid in asked,
              lambda *_: None)
    assert t.trained == ["a"] and t.twins("a") == ["a", "b", "c"]
    def row(step: int) -> dict:
        return {"step": step, "split": "test", "loss": 1.0 / step, "acc": step / 100}

    fan.sink("a", [row(10)])
    asked.add("a")  # the trained run's own student stops it: the others still want it
    assert not fan.should_stop("a")
    fan.sink("a", [row(20)])
    asked.add("b")
    fan.sink("a", [row(30)])
    assert got == {"a": [10], "b": [10, 20], "c": [10, 20, 30]} and not fan.should_stop("a")
    done = RunResult(run_id="a", status="done", steps_done=30, device="cpu", torch_version="x", seed=0,
                     init_source="init", params=1, kept_params=1, sparsity=0.0, wall_time_s=1.0, steps_per_s=30.0,
                     final={"test_loss": 1 / 30, "test_acc": 0.3}, best_test_acc=0.3)
    res = fan.results([done])
    assert {r: (x.status, x.steps_done, x.final["test_acc"], x.best_test_acc) for r, x in res.items()} == {
        "a": ("cancelled", 10, 0.1, 0.1), "b": ("cancelled", 20, 0.2, 0.2), "c": ("done", 30, 0.3, 0.3)}
    assert "trained once with its twin" in res["c"].init_source and res["a"].init_source == "init"
    asked.add("c")  # the last one asks too: now the run stops
    assert fan.should_stop("a")


# ---- a late student's short job, in a pause of the class's long one (explorer.training.interleave) -------------
def _sized_batch(owner: str, seeds, steps: int):
    from explorer.training.kinds import batch_submission

    cfgs = [RunConfig(model="moons_mlp", dataset="moons", steps=steps, eval_every=10, device="cpu", seed=s,
                      group=f"{owner}-g") for s in seeds]
    return batch_submission(cfgs, owner=owner), [c.run_id for c in cfgs]


@pytest.mark.parametrize("late_seeds, late_steps, let_in", [((10, 11), 20, True), (tuple(range(10, 18)), 80, False)])
def test_a_late_short_job_trains_in_a_pause_of_the_long_one_which_goes_on_unchanged(
        klass, tmp_path_factory, monkeypatch, late_seeds, late_steps, let_in):
    """Ada's long job (8 runs x 60 steps) starts; Bob's (another step count: it cannot join it) waits. A small
    one (2 runs x 20 steps, a twelfth of the work) runs in a pause of Ada's and ends first; one with more work
    than hers (8 x 80) waits for the end. Every run's curve is the one it gets trained alone, Ada's too."""
    import os

    from explorer.jobs import context
    from explorer.jobs.context import execute
    from explorer.training import interleave

    monkeypatch.setattr(interleave, "WAIT_S", 0.0)  # Bob has waited long enough from the start
    monkeypatch.setattr(interleave, "CHECK_S", 0.0)
    data, ada, bob, _ = klass
    s = RunStore(data)
    (sa, ra), (sb, rb) = _sized_batch(ada.id, range(8), 60), _sized_batch(bob.id, late_seeds, late_steps)
    ja, jb = s.submit(sa), s.submit(sb)
    notes = {}  # what Ada's runs say on her page while a job runs in a pause of hers

    def spy(store, job, worker_id, local=None):
        if job.id != ja:  # not the alone references at the end
            notes.setdefault(job.id, {s.get_job(r).note for r in ra})
        return execute(store, job, worker_id, local)

    monkeypatch.setattr(context, "execute", spy)  # what a pause runs its job with
    job = s.claim("w", os.getpid())
    assert job.id == ja
    execute(s, job, "w")
    a, b = s.get_job(ja), s.get_job(jb)
    assert a.status == "done" and "trained_with" not in a.result  # Bob's job was not merged into Ada's
    if not let_in:
        assert b.status == "queued" and "paused_for" not in a.result and not notes
        return
    assert a.result["paused_for"] == [jb] and b.status == "done"
    assert notes == {jb: {interleave.PAUSED}}  # her curves stop for a while: her runs say why, then say nothing
    assert {s.get_job(r).note for r in ra} == {""}
    assert a.started < b.started and b.finished < a.finished  # inside Ada's job's time
    assert all(s.get_job(r).status == "done" for r in ra + rb)
    os.environ.pop("EXPLORER_CLASS_JOIN_CODE")  # the reference: each batch alone, outside a class
    _each_alone_gives_the_same_curves(s, ((sa, ra), (sb, rb)), tmp_path_factory)


def test_a_local_app_never_pauses_a_job_for_another(monkeypatch, tmp_path):
    import os

    from explorer.jobs.context import execute
    from explorer.training import interleave

    monkeypatch.delenv("EXPLORER_CLASS_JOIN_CODE", raising=False)
    monkeypatch.setattr(interleave, "WAIT_S", 0.0)
    monkeypatch.setattr(interleave, "CHECK_S", 0.0)
    s = RunStore(tmp_path)
    (sa, _), (sb, _) = _sized_batch("", range(8), 60), _sized_batch("", (10, 11), 20)
    ja, jb = s.submit(sa), s.submit(sb)
    execute(s, s.claim("w", os.getpid()), "w")
    assert s.get_job(ja).status == "done" and s.get_job(jb).status == "queued"


@pytest.mark.parametrize("late_seeds, late_steps, in_a_pause",
                         [((10, 11), 20, True), (tuple(range(10, 18)), 80, False)])
def test_a_late_job_that_will_run_in_a_pause_says_so_instead_of_a_place_behind_the_long_one(
        klass, late_seeds, late_steps, in_a_pause):
    """Ada's long job is running (its runs claimed); Bob's short job is queued behind it. His page does not
    say when he would start after all of it: his job starts in its next pause, and the page says that. A job
    too big for a pause keeps its place and estimate."""
    import os

    from explorer.jobs.lifecycle import try_lock
    from explorer.training.interleave import PAUSED, starting_in_a_pause
    from explorer.training.kinds import BATCH
    from explorer.training.kinds import TRAIN as RUN

    data, ada, bob, _ = klass
    lock = try_lock(data)  # no worker may claim while the page is read: the queue stays as it is
    try:
        s = RunStore(data)
        (sa, ra), (sb, rb) = _sized_batch(ada.id, range(8), 60), _sized_batch(bob.id, late_seeds, late_steps)
        ja = s.submit(sa)
        s.claim("w", os.getpid(), job=ja)
        s.claim_children(ja, "w", os.getpid())  # Ada's long job trains
        s.submit(sb)
        assert starting_in_a_pause(s, rb, kinds=(BATCH, RUN), run_kind=RUN) == (set(rb) if in_a_pause else set())
        at = _page(TRAIN, bob, {"group": f"{bob.id}-g"})
        assert not at.exception
        places = [c.value for c in at.caption if c.value.startswith("queued")]
        assert len(places) == len(rb)
        if in_a_pause:
            assert all("in a pause of the class's running job" in p for p in places), places
            s.set_note(ra, PAUSED, "w")  # the pause came: Ada's curves stop for a while, and her page says why
            at = _page(TRAIN, ada, {"group": f"{ada.id}-g"})
            assert not at.exception
            assert [c.value for c in at.caption if c.value == PAUSED] == [PAUSED] * len(ra)
        else:
            assert all("in the queue" in p and "pause" not in p for p in places), places
    finally:
        lock.close()


def test_a_local_app_never_says_a_job_starts_in_a_pause(monkeypatch, tmp_path):
    import os

    from explorer.training.interleave import starting_in_a_pause
    from explorer.training.kinds import BATCH, TRAIN

    monkeypatch.delenv("EXPLORER_CLASS_JOIN_CODE", raising=False)
    s = RunStore(tmp_path)
    (sa, _), (sb, rb) = _sized_batch("", range(8), 60), _sized_batch("", (10, 11), 20)
    ja = s.submit(sa)
    s.claim("w", os.getpid(), job=ja)
    s.claim_children(ja, "w", os.getpid())
    s.submit(sb)
    assert starting_in_a_pause(s, rb, kinds=(BATCH, TRAIN), run_kind=TRAIN) == set()


def test_a_burst_waiting_behind_a_long_job_is_not_let_in_one_by_one(klass, monkeypatch):
    """Four late comparisons, each small beside Ada's job but together more work than hers (4 x 160 > 480): none
    is let in; they wait for the end and train as the next merged job, not as four pauses of Ada's."""
    import os

    from explorer.jobs.context import execute
    from explorer.training import interleave

    monkeypatch.setattr(interleave, "WAIT_S", 0.0)
    monkeypatch.setattr(interleave, "CHECK_S", 0.0)
    data, ada, bob, _ = klass
    s = RunStore(data)
    ja = s.submit(_sized_batch(ada.id, range(8), 60)[0])
    late = [s.submit(_sized_batch(f"{bob.id}-{i}", (10 + 2 * i, 11 + 2 * i), 80)[0]) for i in range(4)]
    execute(s, s.claim("w", os.getpid()), "w")
    assert s.get_job(ja).status == "done" and "paused_for" not in s.get_job(ja).result
    assert all(s.get_job(j).status == "queued" for j in late)
    job = s.claim("w", os.getpid())  # the next job takes in the other three
    execute(s, job, "w")
    assert all(s.get_job(j).status == "done" for j in late) and len(s.get_job(job.id).result["trained_with"]) == 3


def test_a_transformer_class_merges_trains_twins_once_and_pauses_as_an_mlp_class_does(
        klass, tmp_path_factory, monkeypatch):
    """The class server's scheduling on a transformer (`transformer_tiny`: attention, layer norm, dropout):
    Ada's and Bob's comparisons merge into one vmapped job whose seed-1 twin trains once; Carl's, of another
    step count, trains in a pause of it. Every run's curve is the one it gets trained alone."""
    import os

    from explorer.jobs.context import execute
    from explorer.training import interleave
    from explorer.training.kinds import batch_submission

    monkeypatch.setattr(interleave, "WAIT_S", 0.0)
    monkeypatch.setattr(interleave, "CHECK_S", 0.0)

    def batch(owner: str, seeds, steps: int):
        cfgs = [RunConfig(model="transformer_tiny", dataset="mnist1d", steps=steps, eval_every=10, device="cpu",
                          seed=s, group=f"{owner}-g") for s in seeds]
        return batch_submission(cfgs, owner=owner), [c.run_id for c in cfgs]

    data, ada, bob, _ = klass
    s = RunStore(data)
    (sa, ra), (sb, rb), (sc, rc) = batch(ada.id, (0, 1), 30), batch(bob.id, (1, 2), 30), batch(f"{bob.id}-c", (3,), 10)
    ja, jb, jc = s.submit(sa), s.submit(sb), s.submit(sc)
    execute(s, s.claim("w", os.getpid()), "w")
    a = s.get_job(ja).result
    assert a["trained_with"] == [jb] and a["trained_once_for_twins"] == 1 and a["paused_for"] == [jc]
    assert all(s.get_job(r).status == "done" for r in ra + rb + rc)
    assert s.metrics(rb[0]) == s.metrics(ra[1])  # the twin's rows are its twin's
    os.environ.pop("EXPLORER_CLASS_JOIN_CODE")
    _each_alone_gives_the_same_curves(s, ((sa, ra), (sb, rb), (sc, rc)), tmp_path_factory)
