"""The job store through its run view: lifecycle, atomic claims, concurrent submitters, reaping, restart,
attempts, damaged files — and a store written before the one job table, opened after it."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from explorer.training.config import RunConfig
from explorer.jobs.store import JobError, pid_alive
from explorer.training.store import RunStore


def cfg(i: int = 0, **kw) -> RunConfig:
    return RunConfig(model="moons_mlp", dataset="moons", steps=10, seed=i, **kw)


def test_wal_and_tables(tmp_path):
    s = RunStore(tmp_path)
    mode = s._conn().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert (tmp_path / "runs.sqlite3").exists()


def test_lifecycle_and_metrics(tmp_path):
    s = RunStore(tmp_path)
    rid = s.submit(cfg(group="g"))
    assert rid == cfg(group="g").run_id
    assert s.get(rid).status == "queued"
    r = s.claim("w")
    assert r is not None and r.id == rid and r.status == "running" and r.worker_pid == os.getpid()
    assert s.claim("w2") is None  # nothing else queued
    s.set_started(rid, "cpu", "2.x")
    rows = [{"step": k, "split": "train", "loss": 1.0 / k, "acc": k / 10, "wall_time": k * 0.1} for k in range(1, 6)]
    s.log_metrics(rid, rows)
    s.log_metrics(rid, [{"step": 5, "split": "test", "loss": 0.5, "acc": 0.6, "wall_time": 0.6}])
    assert s.get(rid).step == 5
    got = s.metrics(rid)
    assert [m["step"] for m in got] == [1, 2, 3, 4, 5, 5]
    assert [m["step"] for m in s.metrics(rid, since_step=3)] == [4, 5, 5]
    assert len(s.metrics(rid, split="test")) == 1
    s.finish(rid, "done", result={"x": 1})
    r = s.get(rid)
    assert r.status == "done" and r.progress == 1.0 and r.summary == {"x": 1} and r.device == "cpu"
    assert [x.id for x in s.list_runs(group="g")] == [rid] and s.list_runs(group="other") == []
    with pytest.raises(JobError, match="queued"):
        s.finish(rid, "queued")
    with pytest.raises(JobError, match="runs list"):
        s.get("nope")


def test_cancel_queued_and_running(tmp_path):
    s = RunStore(tmp_path)
    a, b = s.submit(cfg(1)), s.submit(cfg(2))
    assert s.request_cancel(b) == "cancelled"  # queued: at once
    assert s.claim("w").id == a
    assert not s.is_cancel_requested(a)
    assert s.request_cancel(a) == "running"  # running: the worker sees the flag
    assert s.is_cancel_requested(a)
    assert s.claim("w") is None  # b was cancelled, never claimed


def test_resubmit_is_idempotent_and_requeues_failed(tmp_path):
    s = RunStore(tmp_path)
    rid = s.submit(cfg())
    assert s.submit(cfg()) == rid and len(s.list_runs()) == 1
    s.claim("w")
    s.log_metrics(rid, [{"step": 1, "split": "train", "loss": 1, "acc": 0, "wall_time": 0}])
    s.finish(rid, "failed", error="boom")
    assert s.submit(cfg()) == rid
    r = s.get(rid)
    assert r.status == "queued" and r.error is None and s.metrics(rid) == []


def test_claim_is_atomic_across_threads(tmp_path):
    s = RunStore(tmp_path)
    ids = {s.submit(cfg(i)) for i in range(30)}
    got: list[str] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        while (r := s.claim(f"w{k}")) is not None:
            with lock:
                got.append(r.id)

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(got) == sorted(ids)  # every run claimed exactly once


def _submit_many(path: str, start: int, n: int) -> None:
    s = RunStore(path)
    for i in range(start, start + n):
        rid = s.submit(cfg(i, group=f"p{start}"))
        s.claim("x")  # interleave writers of both kinds
        s.log_metrics(rid, [{"step": j, "split": "train", "loss": float(i), "acc": 0.0, "wall_time": 0.0}
                            for j in range(1, 4)])


def _spawn(target, args):
    """One fresh process per argument tuple, started."""
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=target, args=a) for a in args]
    for p in procs:
        p.start()
    return procs


def _join(procs):
    for p in procs:
        p.join(120)
        assert p.exitcode == 0


def test_concurrent_submitters_lose_nothing_mix_nothing(tmp_path):
    # two processes and two threads write at once
    procs = _spawn(_submit_many, [(str(tmp_path), k * 100, 15) for k in (1, 2)])
    ts = [threading.Thread(target=_submit_many, args=(str(tmp_path), k * 100, 15)) for k in (3, 4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    _join(procs)
    s = RunStore(tmp_path)
    runs = s.list_runs()
    assert len(runs) == 60
    for k in (1, 2, 3, 4):
        group = s.list_runs(group=f"p{k * 100}")
        assert sorted(r.config.seed for r in group) == list(range(k * 100, k * 100 + 15))
    for r in runs:  # each run's metrics are its own: loss == its seed, three rows
        m = s.metrics(r.id)
        assert [x["step"] for x in m] == [1, 2, 3] and all(x["loss"] == r.config.seed for x in m)


def test_restarted_store_lists_earlier_runs(tmp_path):
    s = RunStore(tmp_path)
    ids = [s.submit(cfg(i)) for i in range(3)]
    s.close()
    del s
    s2 = RunStore(tmp_path)
    assert [r.id for r in s2.list_runs()] == ids


def test_reap_dead_pid_and_stale_heartbeat(tmp_path):
    s = RunStore(tmp_path, stale_after_s=5)
    a, b, c = (s.submit(cfg(i)) for i in range(3))
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert not pid_alive(p.pid)
    s.claim("dead", pid=p.pid)  # a: its worker is gone (a run is started once: it fails, as before)
    s.log_metrics(a, [{"step": 1, "split": "train", "loss": 1, "acc": 0, "wall_time": 0}])
    s.claim("silent")  # b: alive pid (ours) but silent for too long
    s._conn().execute("UPDATE jobs SET heartbeat=? WHERE id=?", (time.time() - 60, b))
    s.claim("ok")  # c: alive and beating
    assert sorted(s.reap()) == sorted([a, b])
    assert s.get(a).status == "failed" and "worker died" in s.get(a).error
    assert len(s.metrics(a)) == 1  # metrics kept
    assert s.get(c).status == "running"
    assert s.reap() == []


# ---- attempts, an end decided once, damaged files ----------------------------------------------

def test_a_reaped_worker_that_wakes_up_changes_nothing(tmp_path):
    from explorer.training.config import RunConfig

    s = RunStore(tmp_path, stale_after_s=0.0)
    rid = s.submit(RunConfig(model="mlp", steps=10))
    s.claim("w1")
    row = {"step": 1, "split": "train", "loss": 2.0, "acc": 0.1, "wall_time": 0.0}
    assert s.log_metrics(rid, [row], "w1")
    assert rid in s.reap()  # silent for longer than stale_after_s: failed
    assert s.get(rid).status == "failed"
    assert not s.log_metrics(rid, [{**row, "step": 2}], "w1")  # the frozen worker woke up
    assert not s.finish(rid, "done", worker_id="w1")
    assert s.get(rid).status == "failed" and len(s.metrics(rid)) == 1


def test_resubmitting_a_failed_run_keeps_the_earlier_attempt(tmp_path):
    from explorer.training.config import RunConfig

    s = RunStore(tmp_path)
    cfg = RunConfig(model="mlp", steps=10)
    rid = s.submit(cfg)
    s.claim("w1")
    s.log_metrics(rid, [{"step": 5, "split": "train", "loss": 2.0, "acc": 0.1, "wall_time": 0.0}], "w1")
    s.finish(rid, "failed", error="boom", worker_id="w1")
    assert s.submit(cfg) == rid
    run = s.get(rid)
    assert run.status == "queued" and run.attempt == 2 and s.metrics(rid) == []
    assert [m["step"] for m in s.metrics(rid, attempt=1)] == [5]


@pytest.mark.parametrize("damage", ["garbage", "zero", "half"])
def test_a_damaged_store_is_reported_with_a_way_out_and_kept(tmp_path, damage):
    from explorer.training.config import RunConfig
    from explorer.jobs.database import StoreDamaged, move_aside

    s = RunStore(tmp_path)
    for k in range(30):
        s.submit(RunConfig(model="mlp", steps=10 + k, label="x" * 200))
    s.close()
    db = tmp_path / "runs.sqlite3"
    for side in ("runs.sqlite3-wal", "runs.sqlite3-shm"):
        (tmp_path / side).unlink(missing_ok=True)
    data = db.read_bytes()
    db.write_bytes({"garbage": b"this is not sqlite" * 100, "zero": b"", "half": data[: len(data) // 2]}[damage])
    with pytest.raises(StoreDamaged, match="move it aside") as e:
        RunStore(tmp_path).list_runs()
    kept = move_aside(e.value.path)
    assert kept.exists() and kept.name.startswith("runs.sqlite3.damaged-")
    assert RunStore(tmp_path).list_runs() == []  # a fresh store


# ---- a store written before the one job table ---------------------------------------------------

BEFORE = Path(__file__).parent / "data" / "before_issue18"


def test_a_store_written_before_the_job_table_opens_with_everything_kept(tmp_path):
    """`tests/data/before_issue18/store` was written by the code with two tables (runs + jobs); every run
    and job keeps its id, status, attempt and result, every metric row and frame its attempt."""
    import json
    import shutil

    shutil.copytree(BEFORE / "store", tmp_path, dirs_exist_ok=True)
    before = json.loads((BEFORE / "store.json").read_text())
    s = RunStore(tmp_path)
    assert {r.id for r in s.list_runs()} == {r["id"] for r in before["runs"]}
    for r in before["runs"]:
        run = s.get(r["id"])
        assert (run.status, run.attempt, run.group, run.config.label, run.seed) == \
            (r["status"], r["attempt"], r["grp"], r["label"], r["seed"])
        assert run.summary == (json.loads(r["summary"]) if r["summary"] else None)
        assert run.config.to_json() == r["config"] and run.config.run_id == r["id"]  # ids kept: the config's hash
        for attempt in (1, 2):
            want = sorted(repr((m["step"], m["split"], m["loss"], m["acc"], m["wall_time"])) for m in before["metrics"]
                          if m["run_id"] == r["id"] and m["attempt"] == attempt)
            got = sorted(repr((m["step"], m["split"], m["loss"], m["acc"], m["wall_time"]))
                         for m in s.metrics(r["id"], attempt=attempt))
            assert got == want
    kinds = {j.id: j.kind for j in s.list_jobs()}
    for j in before["jobs"]:
        job = s.get_job(j["id"])
        assert (job.kind, job.status, job.attempt, job.config, job.result) == \
            (j["kind"], j["status"], j["attempt"], json.loads(j["config"]), json.loads(j["result"]) if j["result"] else None)
        assert [(f.seq, f.attempt, f.payload) for f in s.frames(j["id"])] == \
            [(f["seq"], f["attempt"], json.loads(f["payload"])) for f in before["frames"] if f["job_id"] == j["id"]]
    assert sorted(kinds.values()) == ["demo.count", "demo.count", "train", "train", "train", "train"]
    # the diverged run stays diverged; the failed one says how it failed and kept both attempts' metrics
    div = next(r["id"] for r in before["runs"] if r["status"] == "diverged")
    assert s.get(div).status == "diverged" and "lower the learning rate" in s.get(div).error
    flaky = next(r["id"] for r in before["runs"] if r["status"] == "failed")
    assert [m["step"] for m in s.metrics(flaky, attempt=1)] == [5] and [m["step"] for m in s.metrics(flaky)] == [10]
    # and it still works: the queued run trains where it was queued, the failed one can be queued again
    from explorer.jobs.backends import InlineBackend
    from explorer.training.kinds import run_submission

    queued = next(r["id"] for r in before["runs"] if r["status"] == "queued")
    job = s.claim("w")
    assert job.id == queued and job.module == "explorer.training.kinds"
    s.finish(queued, "cancelled", worker_id="w")
    assert InlineBackend(s).submit(run_submission(s.get(flaky).config)) == flaky
    run = s.get(flaky)
    assert run.status == "done" and run.attempt == 3 and run.summary["steps_done"] == 30
    assert [m["step"] for m in s.metrics(flaky, attempt=2)] == [10]  # the earlier attempts stay


def test_the_migration_runs_once_when_two_processes_open_an_old_store(tmp_path):
    import shutil

    shutil.copytree(BEFORE / "store", tmp_path, dirs_exist_ok=True)
    _join(_spawn(_open_and_count, [(str(tmp_path),)] * 2))
    s = RunStore(tmp_path)
    assert len(s.list_jobs()) == 6 and len(s.list_runs()) == 4
    tables = {r[0] for r in s._conn().execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"jobs", "metrics", "frames", "interest"}


def _open_and_count(path: str) -> None:
    assert len(RunStore(path).list_jobs()) == 6


@pytest.mark.parametrize("seed", range(6))
def test_a_pages_metric_cache_reads_what_the_store_holds_after_every_flush(tmp_path, seed):
    """A live page reads only the rows stored since its last refresh (`follow.MetricCache`). After every flush
    of three runs written in random chunks (a step's test row sometimes flushed before its train row, or after
    the next step's), and across a retry (a new attempt) and a run deleted and submitted again, what it holds
    equals a fresh `metrics()` read of each run."""
    import random

    from explorer.jobs.follow import MetricCache

    rnd = random.Random(seed)
    s, cache = RunStore(tmp_path), MetricCache()
    rids = [s.submit(cfg(i, group="g")) for i in range(3)]
    for _ in rids:
        s.claim("w")
    pending = {r: [{"step": k // 2 + 1, "split": ("train", "test")[k % 2], "loss": rnd.random(), "acc": rnd.random(),
                    "wall_time": 0.0} for k in range(40)] for r in rids}
    for r in rids:  # out of order here and there, as a cancelled or final flush can write them
        for _ in range(4):
            i = rnd.randrange(len(pending[r]) - 1)
            pending[r][i], pending[r][i + 1] = pending[r][i + 1], pending[r][i]

    def check() -> None:
        got = cache.read(s, [s.get(r) for r in rids])
        assert got == {r: s.metrics(r) for r in rids}

    check()
    while any(pending.values()):
        r = rnd.choice([r for r in rids if pending[r]])
        n = rnd.randint(1, 5)
        chunk, pending[r] = pending[r][:n], pending[r][n:]
        assert s.log_metrics(r, chunk, "w")
        check()
    s.finish(rids[0], "failed", error="boom", worker_id="w")
    s.submit(cfg(0, group="g"))  # its second attempt: no rows yet
    check()
    s.delete(rids[1])
    assert s.submit(cfg(1, group="g")) == rids[1]  # the same id, created again: its rows are read afresh
    s.claim("w", job=rids[1])
    s.log_metrics(rids[1], [{"step": 1, "split": "train", "loss": 1.0, "acc": 0.5, "wall_time": 0.0}], "w")
    check()
    cache.KEEP = 1  # a long session's browsing: past the bound it keeps what its last read asked for
    cache.read(s, [s.get(rids[2])])
    assert set(cache.held) == {rids[2]}
    check()  # the others read afresh
