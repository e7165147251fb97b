"""Which queued job a worker takes next: the scheduler's hook (`JobStore.claim(policy=...)`).

The default, `Fifo`, is one queue for everyone. A class server (`explorer.server`) hands out work by
`RoundRobin`: the oldest queued job of the owner served least recently, so a student who queues twenty
jobs delays each other student by one job, not twenty. `order` plays a policy forward: the queue as it
will be served (a student's queue position).

    >>> q = [{"id": i, "owner": o, "kind": "train", "priority": 0, "created": float(t), "served": None}
    ...      for t, (i, o) in enumerate([("a1", "ada"), ("a2", "ada"), ("a3", "ada"), ("b1", "bob")])]
    >>> Fifo().pick(q, []), RoundRobin().pick(q, []), RoundRobin().pick([{**r, "served": 5.0} for r in q[:3]] + q[3:], [])
    ('a1', 'a1', 'b1')
    >>> order(RoundRobin(), q), order(Fifo(), q)
    (['a1', 'b1', 'a2', 'a3'], ['a1', 'a2', 'a3', 'b1'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class ClaimPolicy(Protocol):
    """Which queued root job a worker takes next (`JobStore.claim`): the scheduler's hook. `queued`
    are the claimable rows (id, owner, kind, priority, created, served: when the owner's newest root job
    started, None if never), in claim order; `running` the rows running now (id, owner, kind). Returns
    an id of `queued`, or None to take nothing."""

    def pick(self, queued: Sequence[Mapping[str, Any]], running: Sequence[Mapping[str, Any]]) -> str | None: ...


@dataclass(frozen=True)
class Fifo:
    """Highest priority first, then oldest first: one queue for everyone (the single-user default)."""

    def pick(self, queued: Sequence[Mapping[str, Any]], running: Sequence[Mapping[str, Any]]) -> str | None:
        return queued[0]["id"] if queued else None


@dataclass(frozen=True)
class RoundRobin:
    """Owners in turn: the oldest (highest priority) queued job of the owner served least recently (an
    owner never served first, then by when their turn last came; ties: whose job waits longest). With K
    owners waiting, an owner waits at most K - 1 other claims between two of its jobs."""

    def pick(self, queued: Sequence[Mapping[str, Any]], running: Sequence[Mapping[str, Any]]) -> str | None:
        first: dict[str, Mapping[str, Any]] = {}
        for row in queued:  # queued is in claim order: each owner's first row is their next job
            first.setdefault(row["owner"], row)
        if not first:
            return None

        def turn(o: str) -> tuple[Any, ...]:
            t = first[o]["served"]
            return (t is not None, t or 0.0, -first[o]["priority"], first[o]["created"])

        return first[min(first, key=turn)]["id"]


def server_policy() -> ClaimPolicy:
    """The claim policy of this process's server: `RoundRobin` on a class server, `Fifo` in the local app."""
    from explorer.server.settings import serving_class

    return RoundRobin() if serving_class() else Fifo()


def order(policy: ClaimPolicy, queued: Sequence[Mapping[str, Any]], running: Sequence[Mapping[str, Any]] = ()) \
        -> list[str]:
    """The ids of `queued` in the order `policy` will hand them out if nothing else is queued meanwhile
    (each claim makes its owner the one served last)."""
    left = [dict(r) for r in queued]
    clock, out = max((r["served"] for r in left if r.get("served") is not None), default=0.0), []
    while left:
        jid = policy.pick(left, running)
        if jid is None:
            break
        row = next(r for r in left if r["id"] == jid)
        left.remove(row)
        clock += 1.0
        for r in left:
            if r["owner"] == row["owner"]:
                r["served"] = clock
        out.append(jid)
    return out
