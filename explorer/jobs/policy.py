"""Which queued job a worker takes next: the scheduler's hook (`JobStore.claim(policy=...)`).

The default, `Fifo`, is one queue for everyone. A class server can hand out work per owner (round
robin, quotas) by another policy object, without touching the store or the worker.

    >>> Fifo().pick([{"id": "a", "owner": "", "kind": "train", "priority": 0, "created": 1.0}], [])
    'a'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class ClaimPolicy(Protocol):
    """Which queued root job a worker takes next (`JobStore.claim`): the scheduler's hook. `queued`
    are the claimable rows (id, owner, kind, priority, created), oldest first; `running` the rows
    running now (id, owner, kind). Returns an id of `queued`, or None to take nothing."""

    def pick(self, queued: Sequence[Mapping[str, Any]], running: Sequence[Mapping[str, Any]]) -> str | None: ...


@dataclass(frozen=True)
class Fifo:
    """Highest priority first, then oldest first: one queue for everyone (the single-user default)."""

    def pick(self, queued: Sequence[Mapping[str, Any]], running: Sequence[Mapping[str, Any]]) -> str | None:
        return queued[0]["id"] if queued else None
