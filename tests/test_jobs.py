"""Background jobs: submitted, claimed and run by the real worker process, frames read live, a
job whose worker is killed resumes (as its next attempt) from what it finished, and an end
is decided once. Every wait is for a state, never for a duration."""

from __future__ import annotations

import os
import signal
import time

import pytest

from explorer.training.jobs.backend import LocalBackend
from explorer.training.jobs.context import run_inline
from explorer.training.jobs.lifecycle import spawn
from explorer.training.jobs.registry import UnknownJobKind
from explorer.training.store import RunStore


def wait_for(pred, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_inline_job_writes_frames_and_result(tmp_path):
    store = RunStore(tmp_path)
    job = run_inline("demo.count", {"n": 4}, store)
    assert job.status == "done" and job.result == {"counted": 4} and job.progress == 1.0
    assert [f.payload["i"] for f in store.frames(job.id)] == [1, 2, 3, 4]
    assert run_inline("demo.count", {"n": 4}, store).id == job.id  # the same job: not run twice
    assert len(store.frames(job.id)) == 4


def test_unknown_kind_is_refused_before_queueing(tmp_path):
    be = LocalBackend(RunStore(tmp_path), autostart=False)
    with pytest.raises(UnknownJobKind, match="registered: demo.count"):
        be.submit_job("no.such.kind", {})
    assert be.store.list_jobs() == []


def test_worker_runs_a_job_and_a_killed_worker_resumes_it(tmp_path):
    store = RunStore(tmp_path)
    jid = store.submit_job("demo.gated", {"steps": 3})
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
    store = RunStore(tmp_path)
    jid = store.submit_job("demo.count", {"n": 1})
    assert store.claim_job("w1").id == jid
    assert store.emit_frame(jid, "x", {}, "w2") == 0  # not w2's job: nothing written
    assert store.finish_job(jid, "failed", error="reaped", worker_id="w1")
    assert not store.finish_job(jid, "done", {"late": True}, worker_id="w1")  # a late finish changes nothing
    assert store.get_job(jid).status == "failed"


def test_cancel_a_queued_and_a_running_job(tmp_path):
    store = RunStore(tmp_path)
    a = store.submit_job("demo.count", {"n": 1})
    assert store.request_cancel_job(a) == "cancelled"
    b = store.submit_job("demo.gated", {"steps": 1})
    store.claim_job("w", job=b)
    assert store.request_cancel_job(b) == "running" and store.job_should_stop(b, "w")
