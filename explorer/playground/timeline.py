"""The frames of a playground run in step order — with those of the runs it continues.

A run started by a prune (`cfg.parent`) holds only the frames after its start; before that its
history is its parent's, up to the step it branched at, and so on up the chain. `timeline`
stitches them, through a page's `explorer.jobs.follow.FrameCache` so that each poll fetches only new frames.

    >>> import tempfile
    >>> from explorer.playground.config import PlaygroundConfig
    >>> from explorer.playground.job import KIND
    >>> from explorer.jobs.backends import InlineBackend
    >>> be = InlineBackend(tempfile.mkdtemp())
    >>> cfg = PlaygroundConfig(hidden=(3,), steps=40, frame_every=20, dataset="gauss")
    >>> a = be.submit(KIND, cfg)
    >>> b = be.submit(KIND, cfg.replace(parent=a, parent_step=20, pruned=("h1[0]",)))
    >>> [(f["step"], f["pruned"]) for f in timeline(be.store, b)]
    [(0, []), (20, []), (20, ['h1[0]']), (40, ['h1[0]'])]
"""

from __future__ import annotations

from typing import Any

from explorer.jobs.follow import FrameCache
from explorer.playground.config import PlaygroundConfig

MAX_CHAIN = 64


def by_step(store: Any, jid: str, cache: FrameCache) -> dict[int, dict[str, Any]]:
    """The run's frames by step (a step emitted again by a resumed attempt: the latest wins)."""
    return {int(f.payload["step"]): f.payload for f in cache.read(store, jid, kind="frame")}


def chain(store: Any, jid: str) -> list[tuple[str, int | None]]:
    """[(job id, last step taken from it)] from the root run to `jid` (None: all of it)."""
    out: list[tuple[str, int | None]] = [(jid, None)]
    while len(out) < MAX_CHAIN:
        cfg = PlaygroundConfig.from_dict(store.get_job(out[0][0]).config)
        if not cfg.parent:
            break
        out.insert(0, (cfg.parent, cfg.parent_step))
    return out


def timeline(store: Any, jid: str, cache: FrameCache | None = None) -> list[dict[str, Any]]:
    """The frames of run `jid` and its ancestors, in step order."""
    cache = cache or FrameCache()
    out: list[dict[str, Any]] = []
    for k, upto in chain(store, jid):
        frames = by_step(store, k, cache)
        out += [frames[s] for s in sorted(frames) if upto is None or s <= upto]
    return out
