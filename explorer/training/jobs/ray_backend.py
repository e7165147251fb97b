"""The Ray backend: the `Backend` interface of `explorer.training.jobs.backend`,
with each run a Ray task calling `runner.execute` (a sweep: one task calling
`sweep.execute_sweep`), and the run store kept on the driver.

- Chosen by configuration: `get_backend("ray")`, or "auto" with `RAY_ADDRESS` set. With an
  address it joins that cluster (shipping the `explorer` package with the job); without
  one it starts a local Ray instance with the dashboard off, so nothing listens beyond
  localhost. `shutdown()` stops what it started.
- Runs are claimed in the store at submit (status running, worker `ray:<host>:<pid>`), so
  the local worker never takes them; a run whose device is cuda (or auto, on a cluster
  with GPUs) asks for `gpu_share` of a GPU.
- Tasks never touch the store (it is a file on the driver's disk): they send their metric
  rows to a small hub actor, and a pump thread on the driver drains the hub into the
  store a few times a second, heartbeats the runs, and records each task's result.
- Cancel: `cancel(run_id)` (or `store.request_cancel` from any process) raises the run's
  flag in the hub, which the task's `should_stop` reads, so it stops cleanly with its
  metrics; a task not started yet, or deaf for `cancel_grace_s`, is `ray.cancel`led.

    >>> RayBackend.name
    'ray'
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from explorer.training.config import RunConfig
from explorer.training.store import RunStore
from explorer import paths
from explorer.training.jobs.lifecycle import PACKAGE_PARENT, ensure_worker, failure_message, stop_message
from explorer.training.jobs.sweep import why_not_batched

HEARTBEAT_S = 2.0
STOP_CACHE_S = 0.25  # how often a task asks the hub for the cancelled set


class RayBackendError(ValueError):
    """The Ray backend cannot start or run something; the message says what to do."""


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise RayBackendError(f"Ray is not installed ({e}); `pip install 'ray[default]'` or use backend 'local'") from e
    return ray


class _Hub:
    """The actor between tasks and the driver: a message queue and the cancelled run ids.
    Calls from one task arrive in order, so a task's last (awaited) call flushes all before it."""

    def __init__(self) -> None:
        self.msgs: list[tuple[Any, ...]] = []
        self.cancelled: set[str] = set()

    def put(self, msg: tuple[Any, ...]) -> None:
        self.msgs.append(msg)

    def drain(self) -> list[tuple[Any, ...]]:
        out, self.msgs = self.msgs, []
        return out

    def cancel(self, run_id: str) -> None:
        self.cancelled.add(run_id)

    def cancelled_ids(self) -> set[str]:
        return set(self.cancelled)


def _stop_check(hub: Any) -> Any:
    """should_stop(run_id) for tasks: the hub's cancelled set, fetched at most every STOP_CACHE_S."""
    import ray

    cache: dict[str, Any] = {"t": 0.0, "ids": set()}

    def stop(run_id: str) -> bool:
        if time.monotonic() - cache["t"] >= STOP_CACHE_S:
            cache["ids"], cache["t"] = ray.get(hub.cancelled_ids.remote()), time.monotonic()
        return run_id in cache["ids"]

    return stop


def _run_task(config_json: str, hub: Any, checkpoint_root: str) -> list[dict[str, Any]]:
    """One run on a Ray worker: `runner.execute`, rows and start info sent to the hub."""
    import ray

    from explorer.training.runner import execute

    c = RunConfig.from_json(config_json)
    rid, stop = c.run_id, _stop_check(hub)
    try:
        r = execute(c, lambda rows: hub.put.remote(("metrics", rid, list(rows))), lambda: stop(rid),
                    checkpoint_root=checkpoint_root, on_start=lambda dev, tv: hub.put.remote(("started", rid, dev, tv)))
    finally:
        ray.get(hub.put.remote(("flushed", rid)))  # every row above is in the hub before the result is
    return [r.to_dict()]


def _sweep_task(configs_json: list[str], hub: Any, checkpoint_root: str) -> list[dict[str, Any]]:
    """A batched job on a Ray worker: `sweep.execute_sweep` over its runs."""
    import ray

    from explorer.training.jobs.sweep import execute_sweep

    configs = [RunConfig.from_json(s) for s in configs_json]
    try:
        results = execute_sweep(configs, lambda rid, rows: hub.put.remote(("metrics", rid, list(rows))),
                                _stop_check(hub), checkpoint_root=checkpoint_root,
                                on_start=lambda rid, dev, tv: hub.put.remote(("started", rid, dev, tv)))
    finally:
        ray.get(hub.put.remote(("flushed", "")))
    return [r.to_dict() for r in results]


class _Job:
    """One Ray task on the driver's books: its run ids and what the pump knows of it."""

    def __init__(self, ref: Any, run_ids: list[str], steps: int):
        self.ref, self.run_ids, self.steps = ref, run_ids, steps
        self.started = False
        self.cancel_sent: dict[str, float] = {}  # run id -> when the hub was told


def reachable(address: str, timeout_s: float = 3.0) -> None:
    """Refuse at once a `RAY_ADDRESS` nothing answers at (ray.init would wait minutes)."""
    import socket as sock

    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rsplit("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise RayBackendError(f"RAY_ADDRESS {address!r} is not host:port (or ray://host:port); set it to the head "
                              "node's address, or unset it to start a local Ray instance")
    try:
        with sock.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as e:
        raise RayBackendError(f"nothing answers at RAY_ADDRESS {address} ({e.strerror or e}); start the cluster "
                              "(`ray start --head`), fix the address, or unset RAY_ADDRESS to use a local instance") \
            from None


class RayBackend:
    """Runs on Ray; see the module docstring. Use as a context manager, or call `shutdown()`."""

    name = "ray"

    def __init__(self, store: RunStore | None = None, *, address: str | None = None, num_cpus: int | None = None,
                 num_gpus: float | None = None, object_store_memory: int | None = None, gpu_share: float = 0.25,
                 cpus_per_run: float = 1.0, poll_s: float = 0.2, cancel_grace_s: float = 10.0):
        ray = _ray()
        self.store = store or RunStore()
        self.gpu_share, self.cpus_per_run = gpu_share, cpus_per_run
        self.poll_s, self.cancel_grace_s = poll_s, cancel_grace_s
        self.worker_id = f"ray:{socket.gethostname()}:{os.getpid()}"
        self.started_ray = False
        address = address if address is not None else (os.environ.get("RAY_ADDRESS") or None)
        if address and not ray.is_initialized():
            reachable(address)
        if not ray.is_initialized():
            package = str(PACKAGE_PARENT / "explorer")
            if address:  # a cluster elsewhere: ship the package with the job
                ray.init(address=address, runtime_env={"py_modules": [package]}, log_to_driver=False)
            else:  # our own instance: no dashboard, so nothing listens beyond localhost
                ray.init(num_cpus=num_cpus, num_gpus=num_gpus, object_store_memory=object_store_memory,
                         include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"PYTHONPATH": str(Path(package).parent),
                                                   paths.ENV: str(self.store.dir)}})
            self.started_ray = True
        self._ray = ray
        self.hub = ray.remote(num_cpus=0)(_Hub).remote()
        self._run = ray.remote(max_retries=0)(_run_task)
        self._sweep = ray.remote(max_retries=0)(_sweep_task)
        self.jobs: dict[str, _Job] = {}  # run id -> its job (a sweep's runs share one)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.error: str | None = None  # the pump's last error, for poll() to raise
        self.pump = threading.Thread(target=self._pump, name="ray-backend-pump", daemon=True)
        self.pump.start()

    # ---- the Backend interface -----------------------------------------------------------
    def submit(self, configs: Sequence[RunConfig]) -> list[str]:
        """Start each config as its own Ray task; returns the run ids in order (runs already
        running or finished in the store are not started again)."""
        for c in configs:
            ids = self.store.claim_batch([c], self.worker_id, os.getpid())
            if ids:
                ref = self._run.options(**self._resources(c)).remote(c.to_json(), self.hub, self._ckpt())
                self._track(_Job(ref, ids, c.steps))
        return [c.run_id for c in configs]

    def submit_sweep(self, configs: Sequence[RunConfig]) -> list[str]:
        """Start `configs` as ONE batched Ray task (`explorer.training.jobs.sweep`); their metrics
        still land in the store as separate runs. Raises BatchedError if they cannot share it."""
        from explorer.training.batched import BatchedError

        reason = why_not_batched(configs)
        if reason is not None:
            raise BatchedError(reason)
        ids = self.store.claim_batch(configs, self.worker_id, os.getpid())
        todo = [c for c in configs if c.run_id in ids]
        if todo:
            ref = self._sweep.options(**self._resources(todo[0])).remote(
                [c.to_json() for c in todo], self.hub, self._ckpt())
            self._track(_Job(ref, ids, todo[0].steps))
        return [c.run_id for c in configs]

    def submit_job(self, kind: str, config: dict) -> str:
        """Background jobs run in the local worker process beside the driver (they train their own runs
        in-process); returns the job id."""
        from explorer.training.jobs.registry import check

        check(kind)
        jid = self.store.submit_job(kind, config)
        ensure_worker(self.store.dir)
        return jid

    def cancel(self, run_id: str) -> str:
        status = self.store.request_cancel(run_id)
        with self.lock:
            job = self.jobs.get(run_id)
        if job is not None and run_id not in job.cancel_sent:
            self.hub.cancel.remote(run_id)
            job.cancel_sent[run_id] = time.monotonic()
        return status

    def poll(self) -> None:
        """Mark dead runs failed (as the local backend does); raise if the pump has died."""
        self.store.reap()
        if not self.pump.is_alive() and not self.stopping.is_set():
            raise RayBackendError(f"the Ray backend's driver thread stopped ({self.error}); restart the app")

    # ---- extras --------------------------------------------------------------------------
    def active(self) -> list[str]:
        with self.lock:
            return list(self.jobs)

    def wait(self, run_ids: Sequence[str], timeout: float = 600.0) -> bool:
        """Block until every run in `run_ids` has a final status in the store (or timeout)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(self.store.get(r).done for r in run_ids):
                return True
            time.sleep(0.1)
        return False

    def shutdown(self, cancel: bool = True, timeout: float = 30.0) -> None:
        """Stop: cancel what still runs (or wait for it), record it, and stop Ray if we started it."""
        if cancel:
            for rid in self.active():
                self.cancel(rid)
        self.wait(self.active(), timeout)
        self.stopping.set()
        self.pump.join(timeout=10)
        for rid in self.active():  # still not done: say so rather than leave it "running"
            self.store.finish(rid, "failed", "the Ray backend shut down before the run ended")
        if self.started_ray and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> RayBackend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    # ---- internals -----------------------------------------------------------------------
    def _ckpt(self) -> str:
        return str(paths.checkpoints(self.store.dir))

    def _resources(self, c: RunConfig) -> dict[str, float]:
        gpu = c.device == "cuda" or (c.device == "auto" and self._ray.cluster_resources().get("GPU", 0) > 0)
        return {"num_cpus": self.cpus_per_run, "num_gpus": self.gpu_share if gpu else 0}

    def _track(self, job: _Job) -> None:
        with self.lock:
            for rid in job.run_ids:
                self.jobs[rid] = job

    def _apply(self, msgs: list[tuple[Any, ...]]) -> None:
        for m in msgs:
            if m[0] == "metrics" and m[2]:
                rid, rows = m[1], m[2]
                self.store.log_metrics(rid, rows)
                job = self.jobs.get(rid)
                step = max(r["step"] for r in rows)
                self.store.heartbeat(rid, step=step, progress=min(1.0, step / job.steps) if job else None)
            elif m[0] == "started":
                self.store.set_started(m[1], m[2], m[3])
                job = self.jobs.get(m[1])
                if job is not None:
                    job.started = True

    def _finish(self, job: _Job) -> None:
        ray = self._ray
        self._apply(ray.get(self.hub.drain.remote()))
        try:
            results = ray.get(job.ref)
        except Exception as e:
            cause = getattr(e, "cause", None) or e
            cancelled = isinstance(e, ray.exceptions.TaskCancelledError)
            for rid in job.run_ids:
                if cancelled or self.store.is_cancel_requested(rid):
                    self.store.finish(rid, "cancelled", "cancelled by request (Ray task cancelled)")
                else:
                    self.store.finish(rid, "failed", failure_message(cause))
            return
        for r in results:
            self.store.finish(r["run_id"], r["status"], stop_message(r["status"], r["steps_done"]), summary=r)

    def _cancels(self, jobs: list[_Job]) -> None:
        now = time.monotonic()
        for job in jobs:
            for rid in job.run_ids:
                if rid not in job.cancel_sent and self.store.is_cancel_requested(rid):
                    self.hub.cancel.remote(rid)
                    job.cancel_sent[rid] = now
            if len(job.cancel_sent) == len(job.run_ids):  # every run of the task was cancelled
                first = min(job.cancel_sent.values())
                if not job.started:
                    self._ray.cancel(job.ref)
                elif now - first > self.cancel_grace_s:
                    self._ray.cancel(job.ref, force=True)

    def _pump(self) -> None:
        ray, last_beat = self._ray, 0.0
        while not self.stopping.is_set():
            try:
                self._apply(ray.get(self.hub.drain.remote()))
                with self.lock:
                    jobs = list({id(j): j for j in self.jobs.values()}.values())
                self._cancels(jobs)
                if jobs:
                    ready, _ = ray.wait([j.ref for j in jobs], num_returns=len(jobs), timeout=0)
                    done = {r for r in ready}
                    for job in jobs:
                        if job.ref in done:
                            self._finish(job)
                            with self.lock:
                                for rid in job.run_ids:
                                    self.jobs.pop(rid, None)
                if time.monotonic() - last_beat > HEARTBEAT_S:  # also runs still waiting for a Ray slot
                    last_beat = time.monotonic()
                    for rid in self.active():
                        self.store.heartbeat(rid)
            except Exception as e:  # keep pumping: a busy database or a hiccup must not strand runs
                self.error = f"{type(e).__name__}: {e}"
            self.stopping.wait(self.poll_s)
