"""The Ray backend: the `Backend` interface of `explorer.jobs.backends`, with each job of a *portable*
kind (`@job_kind(..., portable=True)`: a training run, a batched sweep) a Ray task running the same
`context.execute(job)` as the local worker, and the store kept on the driver. Other kinds (they read
the store while they run) go to the local worker beside the driver.

- Chosen by configuration: `get_backend("ray")`, or "auto" with `RAY_ADDRESS` set. With an address it
  joins that cluster (shipping the `explorer` package with the job); without one it starts a local Ray
  instance with the dashboard off, so nothing listens beyond localhost. `shutdown()` stops what it started.
- A job is claimed in the store at submit (status running, worker `ray:<host>:<pid>`), so the local
  worker never takes it; one whose device is cuda (or auto, on a cluster with GPUs) asks for
  `gpu_share` of a GPU.
- Tasks never touch the store (it is a file on the driver's disk): their context writes through a
  `RemoteStore` to a small hub actor, and a pump thread on the driver applies the hub's messages to the
  store in order a few times a second, heartbeats the task's jobs, and records a task that crashed.
- Cancel: `cancel(id)` (or `store.request_cancel` from any process) raises the job's flag in the hub,
  which the task's `should_stop` reads, so it stops cleanly with its metrics; a task not started yet,
  or deaf for `cancel_grace_s`, is `ray.cancel`led.

    >>> RayBackend.name
    'ray'
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from explorer import paths
from explorer.jobs import kinds
from explorer.jobs.context import execute, failure_message
from explorer.jobs.lifecycle import PACKAGE_PARENT, ensure_worker
from explorer.jobs.store import Job, JobError, JobStore, Submission

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
    """The actor between tasks and the driver: a message queue and the cancelled job ids.
    Calls from one task arrive in order, so a task's last (awaited) call flushes all before it."""

    def __init__(self) -> None:
        self.msgs: list[tuple[Any, ...]] = []
        self.cancelled: set[str] = set()

    def put(self, msg: tuple[Any, ...]) -> None:
        self.msgs.append(msg)

    def drain(self) -> list[tuple[Any, ...]]:
        out, self.msgs = self.msgs, []
        return out

    def cancel(self, job_id: str) -> None:
        self.cancelled.add(job_id)

    def cancelled_ids(self) -> set[str]:
        return set(self.cancelled)


class RemoteStore:
    """The store as a Ray task sees it: every write is a message to the hub (the driver applies them in
    order, as the worker that claimed the jobs), and the rows the task was handed (its job, its children,
    the children it submits) are read from here."""

    def __init__(self, hub: Any, data_dir: str, rows: Sequence[Mapping[str, Any]]):
        self.hub, self.dir = hub, Path(data_dir)
        self.rows = {r["id"]: Job.from_row(r) for r in rows}
        self.root = rows[0]["id"]
        self.seq = 0
        self._cache: dict[str, Any] = {"t": 0.0, "ids": set()}

    def _put(self, *msg: Any) -> None:
        self.hub.put.remote((self.root, *msg))

    def _set(self, jid: str, **kw: Any) -> None:
        self.rows[jid] = replace(self.rows[jid], **kw)

    # reading: what the task was handed and has done
    def get_job(self, jid: str) -> Job:
        if jid not in self.rows:
            raise JobError(f"job {jid} is not known to this Ray task")
        return self.rows[jid]

    def status(self, jid: str) -> str | None:
        return self.rows[jid].status if jid in self.rows else None

    def control(self, jid: str) -> dict[str, Any]:
        return self.rows[jid].control or {} if jid in self.rows else {}

    def should_stop(self, jid: str, worker_id: str) -> bool:
        import ray

        if time.monotonic() - self._cache["t"] >= STOP_CACHE_S:
            self._cache["ids"], self._cache["t"] = ray.get(self.hub.cancelled_ids.remote()), time.monotonic()
        return jid in self._cache["ids"]

    is_cancel_requested = should_stop

    # writing: messages the driver applies
    def heartbeat(self, jid: str, worker_id: str | None = None, *, step: int | None = None,
                  progress: float | None = None, note: str | None = None) -> bool:
        if (step, progress, note) != (None, None, None):  # a bare beat: the driver beats its tasks' jobs itself
            self._put("beat", jid, step, progress, note)
        return True

    def log_metrics(self, jid: str, rows: Iterable[Mapping[str, Any]], worker_id: str | None = None) -> bool:
        rows = [dict(r) for r in rows]
        if rows:
            self._put("metrics", jid, rows)
        return True

    def emit_frame(self, jid: str, kind: str, payload: Mapping[str, Any], worker_id: str) -> int:
        self._put("frame", jid, kind, dict(payload))
        self.seq += 1
        return self.seq

    def set_started(self, jid: str, device: str, torch_version: str) -> None:
        self._put("started", jid, device, torch_version)

    def finish(self, jid: str, status: str, *, result: Mapping[str, Any] | None = None, error: str | None = None,
               worker_id: str | None = None) -> bool:
        self._set(jid, status=status, result=dict(result) if result is not None else None, error=error)
        self._put("finish", jid, status, result, error)
        return True

    def submit(self, sub: Submission, parent: str | None = None) -> str:
        self._put("submit", sub, parent)
        self._known(sub, parent)
        return sub.job_id

    def _known(self, sub: Submission, parent: str | None) -> None:
        jid = sub.job_id
        if jid not in self.rows or self.rows[jid].status != "done":
            base = self.rows[self.root]
            self.rows[jid] = replace(base, id=jid, kind=sub.kind, module=sub.module, config=dict(sub.config),
                                     group=sub.group, label=sub.label, parent=parent, status="queued", result=None,
                                     error=None, control=dict(sub.control) if sub.control else None, attempt=1)
        for kid in sub.children:
            self._known(kid, jid)

    def claim(self, worker_id: str, pid: int | None = None, *, job: str | None = None, policy: Any = None) -> Job | None:
        if job is None or self.status(job) != "queued":
            return None
        self._put("claim", job)
        self._set(job, status="running")
        return self.rows[job]

    def claim_children(self, parent: str, worker_id: str, pid: int | None = None) -> list[Job]:
        kids = [j.id for j in self.rows.values() if j.parent == parent and j.status == "queued"]
        self._put("claim_children", parent)
        for k in kids:
            self._set(k, status="running")
        return [self.rows[k] for k in kids]


def _job_task(rows: list[dict[str, Any]], hub: Any, data_dir: str, worker_id: str) -> None:
    """A job on a Ray worker: `context.execute`, every write sent to the hub."""
    import ray

    store = RemoteStore(hub, data_dir, rows)
    try:
        execute(store, store.get_job(store.root), worker_id)
    finally:
        ray.get(hub.put.remote((store.root, "flushed")))  # every message above is in the hub before the task ends


class _Task:
    """One Ray task on the driver's books: its job ids (the root and the children it claimed)."""

    def __init__(self, ref: Any, root: str):
        self.ref, self.root, self.ids = ref, root, {root}
        self.started = False
        self.cancel_sent: dict[str, float] = {}  # job id -> when the hub was told


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

    def __init__(self, store: JobStore | None = None, *, address: str | None = None, num_cpus: int | None = None,
                 num_gpus: float | None = None, object_store_memory: int | None = None, gpu_share: float = 0.25,
                 cpus_per_job: float = 1.0, poll_s: float = 0.2, cancel_grace_s: float = 10.0):
        ray = _ray()
        self.store = store or JobStore()
        self.gpu_share, self.cpus_per_job = gpu_share, cpus_per_job
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
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        # the hub lives on the driver's node (never soft): the store it feeds is here, and a worker node
        # that dies must not take the messages of the runs on the other nodes with it
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        self.hub = ray.remote(num_cpus=0)(_Hub).options(scheduling_strategy=here).remote()
        self._task = ray.remote(max_retries=0)(_job_task)
        self.tasks: dict[str, _Task] = {}  # job id -> its task (a batched job's runs share one)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.error: str | None = None  # the pump's last error, for poll() to raise
        self.pump = threading.Thread(target=self._pump, name="ray-backend-pump", daemon=True)
        self.pump.start()

    # ---- the Backend interface -----------------------------------------------------------
    def submit(self, kind: str | Submission, spec: Any = None, **meta: Any) -> str:
        """Queue the job; a portable kind starts as a Ray task now (unless it is running or done
        already), another goes to the local worker. Returns its id."""
        sub = kinds.submission(kind, spec, **meta)
        jid = self.store.submit(sub)
        if not kinds.check(sub.kind).portable:
            ensure_worker(self.store.dir)
            return jid
        job = self.store.claim(self.worker_id, os.getpid(), job=jid)
        if job is not None:
            rows = [job.to_row(), *(k.to_row() for k in self._descendants(jid))]
            ref = self._task.options(**self._resources(job)).remote(rows, self.hub, str(self.store.dir),
                                                                    self.worker_id)
            with self.lock:
                self.tasks[jid] = _Task(ref, jid)
        return jid

    def cancel(self, job_id: str) -> str:
        status = self.store.request_cancel(job_id)
        self._cancels(self._live())
        return status

    def poll(self) -> None:
        """Reap dead jobs (as the local backend does), keep the local worker going for what it runs; raise
        if the pump has died."""
        self.store.reap()
        if self.store.claimable():
            ensure_worker(self.store.dir)
        if not self.pump.is_alive() and not self.stopping.is_set():
            raise RayBackendError(f"the Ray backend's driver thread stopped ({self.error}); restart the app")

    # ---- extras --------------------------------------------------------------------------
    def active(self) -> list[str]:
        """The ids of the jobs its tasks still run."""
        with self.lock:
            return sorted({i for t in self.tasks.values() for i in t.ids})

    def wait(self, ids: Sequence[str], timeout: float = 600.0) -> bool:
        """Block until every job in `ids` has ended in the store (or timeout)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(self.store.get_job(j).done for j in ids):
                return True
            time.sleep(0.1)
        return False

    def shutdown(self, cancel: bool = True, timeout: float = 30.0) -> None:
        """Stop: cancel what still runs (or wait for it), record it, and stop Ray if we started it."""
        if cancel:
            for jid in self.active():
                self.cancel(jid)
        self.wait(self.active(), timeout)
        self.stopping.set()
        self.pump.join(timeout=10)
        for jid in self.active():  # still not done: say so rather than leave it "running"
            self.store.finish(jid, "failed", error="the Ray backend shut down before the job ended")
        if self.started_ray and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> RayBackend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    # ---- internals -----------------------------------------------------------------------
    def _descendants(self, jid: str) -> list[Job]:
        kids = self.store.list_jobs(parent=jid)
        return kids + [d for k in kids for d in self._descendants(k.id)]

    def _resources(self, job: Job) -> dict[str, float]:
        devices = {job.config.get("device")} | {k.config.get("device") for k in self.store.list_jobs(parent=job.id)}
        gpu = "cuda" in devices or ("auto" in devices and self._ray.cluster_resources().get("GPU", 0) > 0)
        return {"num_cpus": self.cpus_per_job, "num_gpus": self.gpu_share if gpu else 0}

    def _live(self) -> list[_Task]:
        with self.lock:
            return list(self.tasks.values())

    def _apply(self, msgs: list[tuple[Any, ...]]) -> None:
        s, me = self.store, self.worker_id
        for root, op, *a in msgs:
            task = self.tasks.get(root)
            if op == "metrics":
                s.log_metrics(a[0], a[1], me)
            elif op == "beat":
                s.heartbeat(a[0], me, step=a[1], progress=a[2], note=a[3])
            elif op == "frame":
                s.emit_frame(a[0], a[1], a[2], me)
            elif op == "started":
                s.set_started(a[0], a[1], a[2])
            elif op == "finish":
                s.finish(a[0], a[1], result=a[2], error=a[3], worker_id=me)
            elif op == "submit":
                s.submit(a[0], a[1])
            elif op == "claim":
                got = [j.id for j in [s.claim(me, os.getpid(), job=a[0])] if j is not None]
            elif op == "claim_children":
                got = [j.id for j in s.claim_children(a[0], me, os.getpid())]
            if task is not None:
                task.started = task.started or op != "flushed"
                if op in ("claim", "claim_children"):
                    task.ids.update(got)

    def _end(self, task: _Task) -> None:
        """The task's ref is ready: what it left running ends here (failed with the task's error, or cancelled)."""
        ray = self._ray
        self._apply(ray.get(self.hub.drain.remote()))
        error = "the Ray task ended before the job did"
        try:
            ray.get(task.ref)
        except Exception as e:  # noqa: BLE001 - the task crashed, or was cancelled before it ran
            error = failure_message(getattr(e, "cause", None) or e)
            if isinstance(e, ray.exceptions.TaskCancelledError):
                error = "cancelled by request (Ray task cancelled)"
        for jid in task.ids:
            cancelled = self.store.is_cancel_requested(jid)
            self.store.finish(jid, "cancelled" if cancelled else "failed",
                              error="cancelled by request (Ray task cancelled)" if cancelled else error,
                              worker_id=self.worker_id)

    def _cancels(self, tasks: list[_Task]) -> None:
        now = time.monotonic()
        for task in tasks:
            for jid in list(task.ids):
                if jid not in task.cancel_sent and self.store.is_cancel_requested(jid):
                    self.hub.cancel.remote(jid)
                    task.cancel_sent[jid] = now
            if task.root in task.cancel_sent:
                if not task.started:
                    self._ray.cancel(task.ref)
                elif now - task.cancel_sent[task.root] > self.cancel_grace_s:
                    self._ray.cancel(task.ref, force=True)

    def _pump(self) -> None:
        ray, last_beat = self._ray, 0.0
        while not self.stopping.is_set():
            try:
                self._apply(ray.get(self.hub.drain.remote()))
                tasks = self._live()
                self._cancels(tasks)
                if tasks:
                    ready, _ = ray.wait([t.ref for t in tasks], num_returns=len(tasks), timeout=0)
                    for task in tasks:
                        if task.ref in ready:
                            self._end(task)
                            with self.lock:
                                self.tasks.pop(task.root, None)
                if time.monotonic() - last_beat > HEARTBEAT_S:  # also jobs still waiting for a Ray slot
                    last_beat = time.monotonic()
                    for jid in self.active():
                        self.store.heartbeat(jid, self.worker_id)
            except Exception as e:  # noqa: BLE001 - keep pumping: a busy database or a hiccup must not strand jobs
                self.error = f"{type(e).__name__}: {e}"
            self.stopping.wait(self.poll_s)
