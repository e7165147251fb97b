"""Runs as the pages and labs read them: the job store (`explorer.jobs.store`) seen through its `train`
jobs, each with its config parsed into a `RunConfig`. No state machine of its own: a run is queued,
claimed, beaten, cancelled, reaped and ended as every job is.

    >>> import tempfile
    >>> s = RunStore(tempfile.mkdtemp())
    >>> rid = s.submit(RunConfig(model="mlp", steps=10, group="g"))
    >>> run = s.get(rid)
    >>> run.status, run.config.steps, run.group, [r.id for r in s.list_runs(group="g")] == [rid]
    ('queued', 10, 'g', True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer import paths
from explorer.jobs.store import Job, JobError, JobStore, Submission
from explorer.training.config import RunConfig
from explorer.training.kinds import TRAIN, run_submission


@dataclass(frozen=True)
class Run:
    """A `train` job with its config parsed; every field of the job reads through (`run.status`, `run.step`,
    ...), `summary` is the job's result (a `runner.RunResult` as a dict)."""

    job: Job
    config: RunConfig

    @classmethod
    def of(cls, job: Job) -> Run:
        if job.kind != TRAIN:
            raise JobError(f"{job.id} is a {job.kind} job, not a training run")
        try:
            return cls(job, RunConfig.from_dict(job.config))
        except ValueError as e:  # ConfigError
            raise JobError(f"run {job.id} in the store has a config that cannot be read ({e}); "
                           f"delete it with `python -m explorer runs delete {job.id}`") from e

    def __getattr__(self, name: str) -> Any:
        if name == "job":  # not set yet (unpickling): no field to read through
            raise AttributeError(name)
        return getattr(self.job, name)

    summary = property(lambda self: self.job.result, doc="the job's result: a `runner.RunResult` as a dict")
    group = property(lambda self: self.config.group, doc="the run's comparison group")
    label = property(lambda self: self.config.name, doc="the run's name in legends and tables")


class RunStore(JobStore):
    """The job store at `paths.runs_db(data_dir)` with run-typed reads (see the module docstring)."""

    @classmethod
    def view(cls, store: JobStore) -> RunStore:
        """The same store (same file, same connections) with run-typed reads: a job's `ctx.store` as a RunStore."""
        if isinstance(store, RunStore):
            return store
        out = cls.__new__(cls)
        out.__dict__.update(store.__dict__)
        return out

    def submit(self, config: RunConfig | Submission, parent: str | None = None) -> str:  # type: ignore[override]
        """Queue a run config (its `train` job) or any submission; returns the id."""
        return super().submit(run_submission(config) if isinstance(config, RunConfig) else config, parent)

    def get(self, run_id: str) -> Run:
        return Run.of(self.get_job(run_id))

    def list_runs(self, group: str | None = None, status: str | None = None) -> list[Run]:
        """Runs in submission order, optionally only one group's or one status's."""
        return [Run.of(j) for j in self.list_jobs(kind=TRAIN, group=group, status=status)]

    def groups(self, kind: str | None = TRAIN) -> list[str]:
        """The comparison groups of the runs, oldest first."""
        return super().groups(kind)

    def group_roles(self) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        """Per group, oldest first: the inits (roles) and the models of its runs, read without parsing configs."""
        cond, args = self._seen()
        rows = self._conn().execute("SELECT grp, json_extract(config, '$.init') AS init, json_extract(config, "
                                    f"'$.model') AS model FROM jobs WHERE kind=?{cond} ORDER BY created, id",
                                    (TRAIN, *args))
        out: dict[str, tuple[set[str], set[str]]] = {}
        for r in rows:
            inits, models = out.setdefault(r["grp"], (set(), set()))
            inits.add(str(r["init"]))
            models.add(str(r["model"]))
        return {g: (frozenset(i), frozenset(m)) for g, (i, m) in out.items()}

    def restore_run(self, config: RunConfig, fields: Mapping[str, Any], worker_id: str,
                    metrics: Iterable[Mapping[str, Any]]) -> bool:
        """Insert a run that ended elsewhere (a result shipped with the app, `explorer.lessons.results`) with its
        `fields` (status, device, torch_version, created, started, finished, step, summary) and metric rows;
        False, and nothing changes, when the store has that run."""
        sub = run_submission(config)
        row = {"id": sub.job_id, "kind": sub.kind, "module": sub.module, "config": sub.config, "group": sub.group,
               "label": sub.label, "seed": sub.seed, "max_attempts": sub.max_attempts, "worker_id": worker_id,
               "result": fields["summary"], **{k: fields[k] for k in fields if k != "summary"}}
        return self.restore_job(row, metrics)

    def checkpoint_dir(self, run_id: str) -> Path:
        return paths.checkpoints(self.dir) / run_id
