"""The rows of the job store as Python sees them: a `Submission` (what to queue), a `Job` (one row of the
jobs table, JSON fields parsed), a `Frame`, the statuses, and `job_id` (a job named by its kind and config).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

STATUSES = ("queued", "running", "done", "failed", "cancelled", "diverged")
TERMINAL = ("done", "failed", "cancelled", "diverged")  # diverged: a training run whose loss blew up
DEFAULT_ATTEMPTS = 3  # a job whose worker died is resumed this many times in all before it fails
WATCHED = "watched"  # the control message's key: when a page last showed the job (`JobStore.watch`)


class JobError(ValueError):
    """A store call that cannot be honoured: unknown job, bad status, a config that is not JSON."""


def job_id(kind: str, config: Mapping[str, Any]) -> str:
    """12 hex digits naming (kind, config): the same job submitted twice is one job.

    >>> job_id("demo.count", {"n": 3}) == job_id("demo.count", {"n": 3}) != job_id("demo.count", {"n": 4})
    True
    """
    try:
        text = json.dumps({"kind": kind, "config": config}, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise JobError(f"a {kind} job's config must be plain JSON (numbers, strings, lists, dicts): {e}") from e
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Submission:
    """What to queue: a kind, its config, and how to file it. `children` are queued with it, in the same
    transaction, as its children (the queue never hands them out: their parent runs them). `control`
    (None clears it) is set on a new or requeued job before any worker can see it."""

    kind: str
    config: Mapping[str, Any]
    module: str = ""  # the module that registered the kind: the worker imports it
    id: str | None = None  # default: job_id(kind, config)
    group: str = ""
    label: str = ""
    owner: str = ""
    seed: int | None = None
    max_attempts: int = DEFAULT_ATTEMPTS
    priority: int = 0
    control: Mapping[str, Any] | None = None
    children: tuple[Submission, ...] = ()

    @property
    def job_id(self) -> str:
        return self.id or job_id(self.kind, self.config)


def loads(text: str | None) -> Any:
    """A JSON column's value (None when empty)."""
    return json.loads(text) if text else None


@dataclass(frozen=True)
class Job:
    """One row of the jobs table, its JSON fields parsed."""

    id: str
    kind: str
    module: str
    config: dict[str, Any]
    group: str
    label: str
    owner: str
    parent: str | None
    priority: int
    status: str
    attempt: int
    max_attempts: int
    progress: float  # 0..1
    step: int
    note: str
    control: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    seed: int | None
    device: str | None
    torch_version: str | None
    worker_id: str | None
    worker_pid: int | None
    worker_host: str | None
    heartbeat: float | None
    created: float
    started: float | None
    finished: float | None
    cancel_requested: bool

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def eta_s(self) -> float | None:
        """Seconds left, extrapolated from the progress so far (None before any progress)."""
        if self.status != "running" or not self.started or self.progress <= 0:
            return None
        elapsed = (self.heartbeat or time.time()) - self.started
        return max(0.0, elapsed * (1 - self.progress) / self.progress)

    @classmethod
    def from_row(cls, r: sqlite3.Row | Mapping[str, Any]) -> Job:
        try:
            parsed = {"config": json.loads(r["config"]), "result": loads(r["result"]), "control": loads(r["control"])}
        except ValueError as e:
            raise JobError(f"job {r['id']} in the store cannot be read ({e}); delete it with "
                           f"`python -m explorer runs delete {r['id']}`") from e
        kw = {f.name: r["grp" if f.name == "group" else f.name] for f in fields(cls)}
        return cls(**{**kw, **parsed, "cancel_requested": bool(r["cancel_requested"])})

    def to_row(self) -> dict[str, Any]:
        """The row as plain JSON-able values (what a Ray task is handed)."""
        return {("grp" if f.name == "group" else f.name): getattr(self, f.name) for f in fields(self)} | {
            "config": json.dumps(self.config, sort_keys=True), "result": dumps(self.result),
            "control": dumps(self.control)}


class Frame(NamedTuple):
    """One frame of a job: its sequence number (1, 2, ... across attempts), the attempt that wrote it, its
    kind (what the page draws it as), its JSON payload and when it was written."""

    seq: int; attempt: int; kind: str; payload: dict[str, Any]; created: float  # noqa: E702


def jsonable(o: Any) -> Any:
    """What JSON writes for a value it does not know: arrays as lists, sets and tuples as lists, else text."""
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)

def dumps(d: Mapping[str, Any] | None) -> str | None:
    """A JSON column's text for a document (None stays NULL)."""
    return None if d is None else json.dumps(dict(d), default=jsonable)
