"""The frames of a playground run in step order — with those of the runs it continues.

A run started by a prune (`cfg.parent`) holds only the frames after its start; before that its
history is its parent's, up to the step it branched at, and so on up the chain. `timeline`
stitches them; `FrameCache` keeps what a page has read so that each poll fetches only new frames.

    >>> import tempfile
    >>> from explorer.playground.config import PlaygroundConfig
    >>> from explorer.playground.job import KIND
    >>> from explorer.training.jobs.context import run_inline
    >>> from explorer.training.store import RunStore
    >>> store = RunStore(tempfile.mkdtemp())
    >>> cfg = PlaygroundConfig(hidden=(3,), steps=40, frame_every=20, dataset="gauss")
    >>> a = run_inline(KIND, cfg.to_dict(), store).id
    >>> kid = cfg.replace(parent=a, parent_step=20, pruned=("h1[0]",))
    >>> b = run_inline(KIND, kid.to_dict(), store).id
    >>> [(f["step"], f["pruned"]) for f in timeline(store, b)]
    [(0, []), (20, []), (20, ['h1[0]']), (40, ['h1[0]'])]
"""

from __future__ import annotations

from typing import Any

from explorer.playground.config import PlaygroundConfig

MAX_CHAIN = 64


class FrameCache:
    """Frames read so far per job (payloads by step, the last sequence number seen)."""

    def __init__(self) -> None:
        self.frames: dict[str, dict[int, dict[str, Any]]] = {}
        self.seq: dict[str, int] = {}

    def read(self, store: Any, jid: str) -> dict[int, dict[str, Any]]:
        new = store.frames(jid, since=self.seq.get(jid, 0), kind="frame")
        got = self.frames.setdefault(jid, {})
        for f in new:
            got[int(f.payload["step"])] = f.payload  # a re-emitted step (resumed attempt): the latest wins
            self.seq[jid] = f.seq
        return got


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
        frames = cache.read(store, k)
        out += [frames[s] for s in sorted(frames) if upto is None or s <= upto]
    return out
