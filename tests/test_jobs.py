"""Jobs: submitted, claimed and run by the real worker process, frames read live, a job whose worker is
killed resumes (as its next attempt) from what it finished, an end is decided once, cancel reaches a job's
children, the page's control message reaches a running job — and a new lab's kind, registered in a module
of its own, runs inline and in the worker with no edit in `explorer/training/` or `explorer/jobs/`.
Every wait is for a state, never for a duration."""

from __future__ import annotations

import os
import signal
import time

import pytest

from explorer.jobs import demo  # noqa: F401 - registers demo.count, demo.gated
from explorer.jobs.backends import InlineBackend, LocalBackend
from explorer.jobs.kinds import KINDS, UnknownJobKind, job_kind, submission
from explorer.jobs.lifecycle import spawn
from explorer.jobs.store import JobStore, Submission
from explorer.training.store import RunStore
from tests import new_lab


def wait_for(pred, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_inline_job_writes_frames_and_result(tmp_path):
    be = InlineBackend(tmp_path)
    job = be.run("demo.count", {"n": 4})
    assert job.status == "done" and job.result == {"counted": 4} and job.progress == 1.0
    assert job.module == "explorer.jobs.demo" and job.worker_id.startswith("inline:")
    assert [f.payload["i"] for f in be.store.frames(job.id)] == [1, 2, 3, 4]
    assert be.run("demo.count", {"n": 4}).id == job.id  # the same job: not run twice
    assert len(be.store.frames(job.id)) == 4


def test_unknown_kind_is_refused_before_queueing(tmp_path):
    be = LocalBackend(JobStore(tmp_path), autostart=False)
    with pytest.raises(UnknownJobKind, match="registered here: .*demo.count"):
        be.submit("no.such.kind", {})
    assert be.store.list_jobs() == []


def test_a_kind_is_registered_once(tmp_path):
    with pytest.raises(UnknownJobKind, match="registered twice"):
        job_kind("demo.count")(lambda ctx: None)
    assert KINDS["demo.count"].module == "explorer.jobs.demo"


def test_worker_runs_a_job_and_a_killed_worker_resumes_it(tmp_path):
    store = JobStore(tmp_path)
    jid = store.submit(submission("demo.gated", {"steps": 3}))
    workdir = tmp_path / "jobs" / jid
    w1 = spawn(tmp_path, ["--idle-exit", "30"])
    try:
        assert wait_for(lambda: any(f.kind == "waiting" for f in store.frames(jid)))
        (workdir / "go_0").touch()
        assert wait_for(lambda: any(f.kind == "step" and f.payload["i"] == 0 for f in store.frames(jid)))
        assert wait_for(lambda: [f.payload["i"] for f in store.frames(jid, kind="waiting")] == [0, 1])
        os.kill(w1.pid, signal.SIGKILL)  # the worker dies in the middle of step 1
        w1.wait()
    finally:
        if w1.poll() is None:
            w1.kill()
    assert store.get_job(jid).status == "running"
    store.reap()  # its pid is gone: the job goes back to the queue as attempt 2
    job = store.get_job(jid)
    assert job.status == "queued" and job.attempt == 2 and "resuming" in job.note
    for i in (1, 2):
        (workdir / f"go_{i}").touch()
    w2 = spawn(tmp_path, ["--idle-exit", "2"])
    try:
        assert wait_for(lambda: store.get_job(jid).status == "done")
    finally:
        w2.wait(timeout=120)
    steps = [(f.payload["i"], f.attempt) for f in store.frames(jid, kind="step")]
    assert steps == [(0, 1), (1, 2), (2, 2)], steps  # step 0 was not redone after the kill
    assert store.get_job(jid).result == {"steps": 3}


def test_end_of_a_job_is_decided_once(tmp_path):
    store = JobStore(tmp_path)
    jid = store.submit(submission("demo.count", {"n": 1}))
    assert store.claim("w1").id == jid
    assert store.emit_frame(jid, "x", {}, "w2") == 0  # not w2's job: nothing written
    assert store.finish(jid, "failed", error="reaped", worker_id="w1")
    assert not store.finish(jid, "done", result={"late": True}, worker_id="w1")  # a late finish changes nothing
    assert store.get_job(jid).status == "failed"


def test_cancel_a_queued_and_a_running_job_and_its_children(tmp_path):
    store = JobStore(tmp_path)
    a = store.submit(submission("demo.count", {"n": 1}))
    assert store.request_cancel(a) == "cancelled"
    kids = (submission("demo.count", {"n": 2}), submission("demo.count", {"n": 3}))
    b = store.submit(submission("demo.gated", {"steps": 1}, children=kids))
    assert [k.parent for k in store.list_jobs(parent=b)] == [b, b]
    assert store.claim("w").id == b  # the queue hands out roots only: never a child
    assert store.claim("w") is None
    kid = store.claim("w", job=kids[0].job_id)  # its parent runs it
    assert store.request_cancel(b) == "running" and store.should_stop(b, "w")
    assert store.should_stop(kid.id, "w")  # the running child is asked to stop too
    assert store.get_job(kids[1].job_id).status == "cancelled"  # the queued one is cancelled at once


def test_a_parent_that_ends_cancels_its_queued_children(tmp_path):
    store = JobStore(tmp_path)
    b = store.submit(submission("demo.gated", {"steps": 1}, children=(submission("demo.count", {"n": 2}),)))
    store.claim("w")
    store.finish(b, "failed", error="boom", worker_id="w")
    kid = store.list_jobs(parent=b)[0]
    assert kid.status == "cancelled" and b in kid.error


def test_control_reaches_a_running_job(tmp_path):
    store = JobStore(tmp_path)
    jid = store.submit(submission("demo.gated", {"steps": 1}, control={"until_step": 3}))
    assert store.control(jid) == {"until_step": 3}
    store.claim("w")
    store.set_control(jid, {"until_step": 5})
    assert store.control(jid) == {"until_step": 5}
    store.set_control(jid, None)
    assert store.control(jid) == {}


def test_a_claim_policy_decides_the_order(tmp_path):
    store = JobStore(tmp_path)
    ids = [store.submit(submission("demo.count", {"n": n}, owner=o)) for n, o in ((1, "ann"), (2, "ann"), (3, "bob"))]

    class NewestFirst:
        def pick(self, queued, running):
            return queued[-1]["id"] if queued else None

    assert store.claim("w", policy=NewestFirst()).id == ids[2] and store.get_job(ids[2]).owner == "bob"
    assert store.claim("w").id == ids[0]  # the default: oldest first


# ---- a new lab, from a module of its own ---------------------------------------------------------

def _scan_done(store, jid):
    job = store.get_job(jid)
    assert job.status == "done", job.error
    assert job.module == "tests.new_lab"  # the worker found the kind by the module its row names
    runs = store.list_jobs(parent=store.list_jobs(parent=jid)[0].id) or store.list_jobs(parent=jid)
    assert len(runs) == 2 and all(r.kind == "train" and r.status == "done" for r in runs)
    pts = job.result["points"]
    assert [p["lr"] for p in pts] == [0.01, 0.1] and all(0 <= p["test_acc"] <= 1 for p in pts)
    assert [f.payload["lr"] for f in store.frames(jid)] == [0.01, 0.1]
    fig = new_lab.figure(job.result)
    assert list(fig.data[0].x) == [0.01, 0.1]
    return runs


def test_a_new_lab_runs_inline(tmp_path):
    be = InlineBackend(RunStore(tmp_path))
    jid = be.submit(new_lab.KIND, new_lab.ScanConfig())
    runs = _scan_done(be.store, jid)
    assert all(be.store.get(r.id).config.group == f"scan-{jid}" for r in runs)  # ordinary runs: the Train page shows them


def test_a_new_lab_runs_in_the_worker_process(tmp_path):
    be = LocalBackend(RunStore(tmp_path))
    jid = be.submit(new_lab.KIND, new_lab.ScanConfig(lrs=(0.01, 0.1), steps=15))
    assert wait_for(lambda: be.store.get_job(jid).done, 300), be.store.get_job(jid)
    _scan_done(be.store, jid)
    assert be.store.get_job(jid).worker_id.split(":")[-1] != str(os.getpid())  # another process ran it


def test_a_submission_names_its_kind_and_module():
    sub = submission(new_lab.KIND, new_lab.ScanConfig())
    assert isinstance(sub, Submission) and sub.module == "tests.new_lab" and sub.config["lrs"] == [0.01, 0.1]
