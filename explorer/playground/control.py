"""Play, pause, step, reset and prune a playground run — each is a job submission, a cancel or a
control message.

A run is the `playground` job of one `PlaygroundConfig`; its id hashes the config, so the same
settings find the same run. Pausing cancels the job (it keeps its state, `explorer.playground.job`);
playing submits it again, which resumes it. Stepping sets the job's control message — "pause at the
first frame at or after step S" — on a running job, or submits the paused one with it. Resetting
starts a fresh run of the same settings (`trial + 1`). Pruning pauses the run and starts its child:
the same settings continuing from the parent's frame with the units and arcs removed.

    >>> import tempfile
    >>> from explorer.jobs.backends import LocalBackend
    >>> from explorer.playground.config import PlaygroundConfig
    >>> be = LocalBackend(tempfile.mkdtemp(), autostart=False)
    >>> cfg = PlaygroundConfig(hidden=(4,), steps=40, frame_every=20)
    >>> jid = play(be, cfg, until_step=0)    # preview: frame 0, then pause
    >>> be.store.control(jid), be.store.get_job(jid).status
    ({'until_step': 0}, 'queued')
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from explorer.jobs.store import job_id
from explorer.playground.config import PlaygroundConfig
from explorer.playground.job import KIND

__all__ = ["KIND", "child", "pause", "play", "run_id", "step"]


def run_id(cfg: PlaygroundConfig) -> str:
    """The job id of the run of `cfg`."""
    return job_id(KIND, cfg.to_dict())


def _hold(until_step: int | None) -> dict[str, int] | None:
    return None if until_step is None else {"until_step": int(until_step)}


def play(backend: Any, cfg: PlaygroundConfig, until_step: int | None = None) -> str:
    """Start or resume the run of `cfg` on `backend` (pausing itself at `until_step` if given); returns its job id."""
    return backend.submit(KIND, cfg, control=_hold(until_step))


def pause(backend: Any, jid: str) -> str:
    """Ask the run to stop (it keeps its state); returns its status."""
    return backend.cancel(jid)


def step(backend: Any, cfg: PlaygroundConfig, at_step: int) -> str:
    """Advance a paused (or running) run by one frame after `at_step`."""
    jid = run_id(cfg)
    until = min(cfg.steps, at_step - at_step % cfg.frame_every + cfg.frame_every)
    if backend.store.status(jid) in ("running", "queued"):
        backend.store.set_control(jid, _hold(until))
        return jid
    return play(backend, cfg, until)


def child(cfg: PlaygroundConfig, parent: str, at_step: int, removed: Iterable[str]) -> PlaygroundConfig:
    """The run that continues `parent` (a run of `cfg`) from its frame at `at_step` with `removed` units/arcs
    pruned as well. Pruned where its parent had finished, it trains on for as many steps again as the
    parent trained (else it would have no step left: nothing to play after a prune of a finished run).

    >>> cfg = PlaygroundConfig(hidden=(4,), steps=60)
    >>> k = child(cfg, "a", 20, ["h1[0]"]); (k.parent_step, k.steps, k.pruned)
    (20, 60, ('h1[0]',))
    >>> k = child(cfg, "a", 60, ["h1[0]"]); (k.parent_step, k.steps)
    (60, 120)
    >>> child(k, "b", 120, ["h1[1]"]).steps, child(k, "b", 90, ["h1[1]"]).steps
    (180, 120)
    """
    at_step = int(at_step)
    steps = cfg.steps if at_step < cfg.steps else at_step + (cfg.steps - cfg.parent_step)
    return cfg.replace(parent=parent, parent_step=at_step, pruned=tuple(sorted(set(cfg.pruned) | set(removed))),
                       trial=0, steps=steps)
