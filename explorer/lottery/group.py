"""A comparison group: the configs of one weak lottery-ticket experiment (docs/science.md §4).

For each seed: the dense run, the ticket and the controls, all with the same data order and,
where the role claims it, the same initialisation; one group id names them in the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any


def ticket_group(base: Any, pruned_dir: str, seeds: Iterable[int], controls: Sequence[str] = ("reinit", "random"),
                 group: str | None = None) -> list[Any]:
    """The configs of one weak-LTH experiment: for each seed a dense run, the ticket and the
    controls, all with the same data order (base.data_seed) and, where claimed, the same init.

    >>> from explorer.training.config import RunConfig
    >>> cs = ticket_group(RunConfig(model="mlp"), "pr", [0, 1])
    >>> [(c.init, c.seed) for c in cs][:4], len({c.group for c in cs}), len({c.data_seed for c in cs})
    ([('dense', 0), ('ticket', 0), ('reinit', 0), ('random', 0)], 1, 1)
    """
    seeds = list(seeds)
    if group is None:
        key = f"{base.run_id}|{pruned_dir}|{sorted(seeds)}|{list(controls)}"
        group = f"{base.model}-lth-{hashlib.sha256(key.encode()).hexdigest()[:6]}"
    out = []
    for s in seeds:
        dense = base.replace(init="dense", pruned_dir="", seed=s, group=group, label=f"dense s{s}")
        out.append(dense)
        for role in ("ticket", *controls):
            out.append(base.replace(init=role, pruned_dir=pruned_dir, seed=s, group=group, label=f"{role} s{s}"))
    return out
