"""The worker process against the store: lifecycle, cancel, SIGKILL and SIGSTOP mid-run, one worker
per dir. Every wait is for a state with a generous limit: nothing here depends on the machine's speed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from explorer.jobs.backends import LocalBackend
from explorer.jobs.lifecycle import ensure_worker, worker_alive
from explorer.training.config import RunConfig
from explorer.training.store import RunStore

ROOT = Path(__file__).resolve().parents[1]


def moons(**kw) -> RunConfig:
    base = dict(model="moons_mlp", dataset="moons", steps=40, eval_every=20, log_every=5, device="cpu")
    return RunConfig(**{**base, **kw})


def worker_cmd(data_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "explorer.jobs.worker", "--data-dir", str(data_dir), "--nice", "0", *extra]


def env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "EXPLORER_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def wait_for(pred, timeout: float, what: str):
    t = time.monotonic() + timeout
    while time.monotonic() < t:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_lifecycle_done_diverged_failed(tmp_path):
    s = RunStore(tmp_path)
    ok = s.submit(moons())
    nan = s.submit(moons(optimizer="sgd", lr=1e12, seed=1))  # injected divergence: loss -> inf/NaN
    bad = s.submit(moons(dataset=str(tmp_path / "missing.csv"), seed=2))
    subprocess.run(worker_cmd(tmp_path, "--once"), env=env(tmp_path), check=True, timeout=300, cwd=ROOT)

    r = s.get(ok)
    assert r.status == "done" and r.progress == 1.0 and r.device == "cpu" and r.torch_version
    assert r.seed == 0 and r.summary["steps_done"] == 40 and r.finished >= r.started
    m = s.metrics(ok)
    train = [x["step"] for x in m if x["split"] == "train"]
    assert train == list(range(5, 41, 5))
    assert [x["step"] for x in m if x["split"] == "test"] == [0, 20, 40]

    r = s.get(nan)
    assert r.status == "diverged" and ("NaN/inf" in r.error or "far above" in r.error) and r.summary["steps_done"] < 40
    r = s.get(bad)
    assert r.status == "failed" and "missing.csv" in r.error and "does not exist" in r.error


def test_cancel_a_running_run(tmp_path):
    s = RunStore(tmp_path)
    rid = s.submit(moons(steps=10**7, eval_every=10**6))
    p = ensure_worker(tmp_path, idle_exit_s=1)
    try:
        wait_for(lambda: s.get(rid).step > 0, 120, "the run to log metrics")
        assert s.request_cancel(rid) == "running"
        wait_for(lambda: s.get(rid).status == "cancelled", 120, "cancelled status")
        assert s.metrics(rid)  # what was logged stays
    finally:
        p.wait(60)


def test_sigkilled_worker_leaves_run_failed_with_metrics(tmp_path):
    s = RunStore(tmp_path)
    rid = s.submit(moons(steps=10**7, eval_every=10**6))
    p = subprocess.Popen(worker_cmd(tmp_path), env=env(tmp_path), cwd=ROOT)
    wait_for(lambda: len(s.metrics(rid)) >= 3, 120, "metrics from the worker")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    before = s.metrics(rid)
    backend = LocalBackend(s, autostart=False)
    wait_for(lambda: (backend.poll(), s.get(rid).status == "failed")[1], 120, "the reaper")
    assert "worker died" in s.get(rid).error
    assert s.metrics(rid) == before and len(before) >= 3  # intact
    # the store still works: a new run goes through
    ok = s.submit(moons(seed=5))
    subprocess.run(worker_cmd(tmp_path, "--once"), env=env(tmp_path), check=True, timeout=300, cwd=ROOT)
    assert s.get(ok).status == "done"


def test_one_worker_per_data_dir(tmp_path):
    assert not worker_alive(tmp_path)
    s = RunStore(tmp_path)
    rid = s.submit(moons(steps=10**7, eval_every=10**6))
    p = subprocess.Popen(worker_cmd(tmp_path), env=env(tmp_path), cwd=ROOT)
    try:
        wait_for(lambda: s.get(rid).status == "running", 120, "the first worker")
        assert worker_alive(tmp_path)
        assert ensure_worker(tmp_path) is None  # no second one
        second = subprocess.run(worker_cmd(tmp_path), env=env(tmp_path), cwd=ROOT, timeout=120,
                                capture_output=True, text=True)
        assert second.returncode == 0 and "another worker" in second.stderr
    finally:
        s.request_cancel(rid)
        wait_for(lambda: s.get(rid).status == "cancelled", 120, "cancel")
        p.send_signal(signal.SIGTERM)
        p.wait(120)


def test_a_frozen_worker_reaped_as_dead_cannot_revive_its_run(tmp_path):
    """SIGSTOP the worker until its heartbeat is stale; the reaper marks the run failed; after SIGCONT
    the worker finds the run no longer its own, stops, and changes nothing: an end is decided once."""
    s = RunStore(tmp_path, stale_after_s=1.0)
    rid = s.submit(moons(steps=10**7, eval_every=10**6))
    p = subprocess.Popen(worker_cmd(tmp_path, "--idle-exit", "1"), env=env(tmp_path), cwd=ROOT)
    try:
        wait_for(lambda: len(s.metrics(rid)) >= 2, 120, "metrics from the worker")
        os.kill(p.pid, signal.SIGSTOP)
        last = s.get(rid).heartbeat
        wait_for(lambda: time.time() - last > 1.5, 60, "the heartbeat to go stale")
        assert rid in [r for r in s.reap()]
        assert s.get(rid).status == "failed"
        frozen = len(s.metrics(rid))
        os.kill(p.pid, signal.SIGCONT)
        p.wait(180)  # it stops the run it lost, finds nothing queued and exits
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGCONT)
            p.kill()
    r = s.get(rid)
    assert r.status == "failed" and "worker died" in r.error
    assert len(s.metrics(rid)) == frozen  # nothing was added after the reaper decided


def test_a_class_servers_worker_waits_long_but_not_past_its_server(tmp_path):
    """A class server's worker waits for the next burst far longer than the local app's (30 min), but once
    the server that started it is gone it ends as soon as nothing is queued; and it imports the modules it
    was told to warm before its first claim."""
    from explorer.jobs.lifecycle import CLASS_IDLE_EXIT_S

    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        w = subprocess.Popen(worker_cmd(tmp_path, "--idle-exit", str(CLASS_IDLE_EXIT_S), "--server-pid",
                                        str(server.pid), "--warm", "explorer.training.kinds,no_such_module"),
                             env=env(tmp_path), stderr=subprocess.PIPE)
        wait_for(lambda: worker_alive(tmp_path), 120, "the worker to hold its lock")
        time.sleep(1.0)
        assert w.poll() is None  # idle, its server alive: it waits
    finally:
        server.kill()
        server.wait()
    assert w.wait(timeout=300) == 0  # idle, its server gone: it ends
    assert "could not import no_such_module" in w.stderr.read().decode()
