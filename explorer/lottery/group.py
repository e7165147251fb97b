"""A comparison group: the configs of one weak lottery-ticket experiment (docs/science.md §4).

For each seed: the dense run, the ticket and the controls, all with the same data order and,
where the role claims it, the same initialisation; one group id names them in the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence, Set
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


def same_network(a: Any, b: Any) -> bool:
    """Two starts (`roles.Start`) that are one network: the same architecture, weights and mask."""
    import torch

    if _kind(a.model) != _kind(b.model) or getattr(a.model, "code", None) != getattr(b.model, "code", None):
        return False
    sa, sb = a.model.state_dict(), b.model.state_dict()
    if sa.keys() != sb.keys() or any(not torch.equal(sa[k], sb[k]) for k in sa):
        return False
    ma, mb = dict(a.mask or {}), dict(b.mask or {})
    keys = (set(ma) | set(mb)) & _used_parameters(a.model)  # a removed op's mask changes nothing
    return all(torch.equal(ma[k] if k in ma else torch.ones_like(mb[k]), mb[k] if k in mb else torch.ones_like(ma[k]))
               for k in keys)


def _kind(model: Any) -> type:
    """The model's class; every `torch.fx.GraphModule` is given a class of its own when it is built,
    so two rewritten graphs compare as GraphModules (their `code` then says whether they are one)."""
    from torch.fx import GraphModule

    return GraphModule if isinstance(model, GraphModule) else type(model)


def _used_parameters(model: Any) -> set[str]:
    """Names of the parameters and buffers `model`'s forward can read: for a rewritten graph
    (`torch.fx.GraphModule`) only those of the modules and attributes its graph still calls — the
    removed ops' weights stay in its state dict but no longer compute anything."""
    names = {k for k, _ in model.named_parameters()} | {k for k, _ in model.named_buffers()}
    graph = getattr(model, "graph", None)
    if graph is None or not hasattr(graph, "nodes"):
        return names
    used: set[str] = set()
    for node in graph.nodes:
        if node.op == "call_module":
            used |= {k for k in names if k.startswith(f"{node.target}.")}
        elif node.op == "get_attr":
            used |= {k for k in names if k == node.target or k.startswith(f"{node.target}.")}
    return used


def plan(base: Any, pruned_dir: str, seeds: Iterable[int], controls: Sequence[str] = ("reinit", "random"),
         group: str | None = None) -> tuple[list[Any], list[str]]:
    """`ticket_group`, with every control checked before anything trains: a control that cannot be
    built (no random cut of the ticket's size exists) or that is the same network as the dense run or
    the ticket (it would only repeat that curve) is left out, and the notes say which and why."""
    from explorer.training import roles

    seeds = list(seeds)
    probe = base.replace(seed=seeds[0] if seeds else 0, pruned_dir=pruned_dir)
    dense = roles.build(probe.replace(init="dense", pruned_dir=""))
    ticket = roles.build(probe.replace(init="ticket"))
    notes, kept = [], []
    if same_network(dense, ticket):
        notes.append("the pruned network is the dense network (the cut removes nothing that changes it): "
                     "there is no ticket to test")
    for role in controls:
        try:
            start = roles.build(probe.replace(init=role))
        except ValueError as e:
            notes.append(f"{roles.title(role)} left out: {e}")
            continue
        twin = "the dense run" if same_network(start, dense) else "the ticket" if same_network(start, ticket) else ""
        if twin:
            notes.append(f"{roles.title(role)} left out: it is the same network as {twin}, so its curve would "
                         "only repeat that one")
            continue
        kept.append(role)
    return ticket_group(base, pruned_dir, seeds, tuple(kept), group), notes


def opening_group(groups: Mapping[str, tuple[Set[str], Set[str]]]) -> str | None:
    """The group a comparison page opens on, from `RunStore.group_roles()` (oldest first): the newest
    complete comparison — a dense run (its own, or round 0's for a lottery round) and a ticket — else the
    newest group.

    >>> g = {"a": ({"dense", "ticket"}, {"mlp"}), "lth-0a0a0a-r0": ({"dense"}, {"lottery_mlp"}),
    ...      "lth-0a0a0a-r1": ({"ticket", "random"}, {"lottery_mlp"}), "b": ({"ticket"}, {"mlp"})}
    >>> opening_group(g), opening_group({"b": ({"ticket"}, {"mlp"}), "c": ({"dense"}, {"mlp"})})
    ('lth-0a0a0a-r1', 'c')
    """
    from explorer.lottery.rounds import dense_group

    def complete(g: str) -> bool:
        inits, _ = groups[g]
        ref = dense_group(g)
        has_dense = "dense" in inits or (ref in groups and "dense" in groups[ref][0])
        return has_dense and bool({"ticket", "rewind"} & set(inits))

    newest = list(groups)[::-1]
    return next((g for g in newest if complete(g)), newest[0] if newest else None)
