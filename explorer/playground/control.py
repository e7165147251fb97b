"""Play, pause, step, reset and prune a playground run — each is a job submission or a cancel.

A run is the `playground` job of one `PlaygroundConfig`; its id hashes the config, so the same
settings find the same run. Pausing cancels the job (it keeps its state, `explorer.playground.job`);
playing submits it again, which resumes it. Stepping writes `hold.json` into the job's work
folder first — "pause at the first frame at or after step S" — and then plays. Resetting starts
a fresh run of the same settings (`trial + 1`). Pruning pauses the run and starts its child: the
same settings continuing from the parent's frame with the units and arcs removed.

    >>> import tempfile
    >>> from explorer.playground.config import PlaygroundConfig
    >>> from explorer.training.store import RunStore
    >>> store = RunStore(tempfile.mkdtemp())
    >>> cfg = PlaygroundConfig(hidden=(4,), steps=40, frame_every=20)
    >>> jid = play(store, cfg, until_step=0, submit=store.submit_job)    # preview: frame 0, then pause
    >>> read_hold(workdir(store, jid)), store.get_job(jid).status
    (0, 'queued')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from explorer import paths
from explorer.playground.config import PlaygroundConfig
from explorer.playground.job import HOLD, KIND, read_hold
from explorer.training.job_store import job_id

__all__ = ["KIND", "child", "pause", "play", "read_hold", "run_id", "step", "workdir"]


def run_id(cfg: PlaygroundConfig) -> str:
    """The job id of the run of `cfg`."""
    return job_id(KIND, cfg.to_dict())


def workdir(store: Any, jid: str) -> Path:
    return paths.ensure_dir(paths.jobs(store.dir) / jid)


def _set_hold(store: Any, jid: str, until_step: int | None) -> None:
    f = workdir(store, jid) / HOLD
    if until_step is None:
        f.unlink(missing_ok=True)
    else:
        f.write_text(json.dumps({"until_step": int(until_step)}))


def play(store: Any, cfg: PlaygroundConfig, until_step: int | None = None,
         submit: Callable[[str, dict], str] | None = None) -> str:
    """Start or resume the run of `cfg` (pausing itself at `until_step` if given); returns its job id.
    `submit(kind, config)` queues it (a backend's `submit_job`, which also starts the worker)."""
    jid = run_id(cfg)
    _set_hold(store, jid, until_step)
    (submit or store.submit_job)(KIND, cfg.to_dict())
    return jid


def pause(store: Any, jid: str) -> str:
    """Ask the run to stop (it keeps its state); returns its status."""
    return store.request_cancel_job(jid)


def step(store: Any, cfg: PlaygroundConfig, at_step: int, submit: Callable[[str, dict], str] | None = None) -> str:
    """Advance a paused (or running) run by one frame after `at_step`."""
    jid = run_id(cfg)
    until = min(cfg.steps, at_step - at_step % cfg.frame_every + cfg.frame_every)
    try:
        status = store.get_job(jid).status
    except ValueError:
        status = None
    if status in ("running", "queued"):
        _set_hold(store, jid, until)
        return jid
    return play(store, cfg, until, submit)


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
