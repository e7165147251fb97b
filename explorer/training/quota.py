"""What one student may ask of a class server at a time (`Quota`): jobs queued or running, training
steps per run, model size. A submission over any of them is refused before anything is queued, with a
message that says which limit, the student's figure, and what to do (`QuotaError`). The local app has
no quota. Work the student already asked for (the same settings again, or another student's identical
run) is never refused: it queues nothing new.

    >>> import tempfile
    >>> from explorer.jobs.rows import Submission
    >>> from explorer.jobs.store import JobStore
    >>> s, q = JobStore(tempfile.mkdtemp()), Quota(jobs=1, steps=500, params=10_000)
    >>> q.check(s, "ada", Submission("train", {"model": "moons_mlp", "steps": 200}))
    >>> _ = s.submit(Submission("train", {"model": "moons_mlp", "steps": 200}, owner="ada"))
    >>> q.check(s, "ada", Submission("train", {"model": "moons_mlp", "steps": 300}))
    Traceback (most recent call last):
    ...
    explorer.training.quota.QuotaError: you have 1 job queued or running, the class limit is 1: wait for it to end (or cancel one), then start this again
    >>> q.check(s, "bob", Submission("train", {"model": "moons_mlp", "steps": 5000}))
    Traceback (most recent call last):
    ...
    explorer.training.quota.QuotaError: 5,000 training steps per run is over the class limit of 500: choose at most 500 steps (the quick recipe fits)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from explorer.concurrency.once import once_per_key
from explorer.jobs.rows import JobError, Submission


class QuotaError(JobError):
    """A submission over a student's quota; the message names the limit and the way on."""


@once_per_key(maxsize=64)
def model_params(spec: str) -> int:
    """Parameters of model `spec` (built once per process, cached)."""
    from explorer.models.load import load

    return sum(p.numel() for p in load(spec).model.parameters())


def _configs(sub: Submission) -> Iterator[Mapping[str, Any]]:
    yield sub.config
    for kid in sub.children:
        yield from _configs(kid)


@dataclass(frozen=True)
class Quota:
    """Per student: at most `jobs` jobs queued or running, `steps` training steps in any run, `params`
    parameters in any model trained."""

    jobs: int = 12  # a quick comparison that cannot be batched is 8 jobs
    steps: int = 3000
    params: int = 2_000_000

    def check(self, store: Any, owner: str, sub: Submission) -> None:
        """Raise `QuotaError` when `owner` may not queue `sub` now."""
        if store.status(sub.job_id) in ("queued", "running"):
            return  # asked before (by them or another): nothing new is queued
        active = store._conn().execute(
            "SELECT COUNT(*) FROM jobs WHERE parent IS NULL AND status IN ('queued', 'running') AND EXISTS "
            "(SELECT 1 FROM interest i WHERE i.job_id=jobs.id AND i.owner=?)", (owner,)).fetchone()[0]
        if active >= self.jobs:
            raise QuotaError(f"you have {active} job{'s' if active != 1 else ''} queued or running, the class limit is "
                             f"{self.jobs}: wait for {'it' if active == 1 else 'one'} to end (or cancel one), then start "
                             "this again")
        for cfg in _configs(sub):
            steps = int(cfg.get("steps") or 0)
            if steps > self.steps:
                raise QuotaError(f"{steps:,} training steps per run is over the class limit of {self.steps:,}: choose "
                                 f"at most {self.steps:,} steps (the quick recipe fits)")
            model = cfg.get("model")
            if isinstance(model, str) and model:
                n = model_params(model)
                if n > self.params:
                    raise QuotaError(f"model {model} has {n:,} parameters, over the class limit of {self.params:,} "
                                     "per model: choose a smaller one (every zoo model fits)")


CLASS_QUOTA = Quota()  # what every student of a class server gets (the teacher has none)
