"""The size of a pruned network, layer by layer, and what "a control of the same size" means.

A `KeptProfile` lists, for every parameter tensor of a model in order, its shape and how many
of its entries a mask keeps (a tensor the mask does not name is kept whole). Its `kept` and
`total` are what a run reports as "kept params / total".

A lottery ticket is judged against controls (docs/science.md §4, §7): the same cut re-initialised
(`reinit`), the ticket rewound (`rewind`), and a random network *of the same size* (`random`).
"The same size" is decided here, per kind of cut, and every control is checked against its ticket
before it trains (`explorer.training.roles.build`): a control whose size differs is refused with the
layers that differ, never trained as if it were comparable.

- **reinit, rewind** (every cut): the ticket's own mask — the same kept count in every tensor
  (`exact`).
- **random, weight mask** (a criterion's or IMP's mask, unit-level arcs = single weights): a random
  mask keeping as many entries of every tensor as the ticket's (`exact`, by construction).
- **random, unit cut** (unit level, whole neurons/channels): as many units of every layer, drawn at
  random; kept only if every tensor then keeps exactly as many entries as the ticket's (`exact`).
- **random, op-level cut** (a branch of ops, or arcs such as skip connections, realised by a graph
  rewrite): such a cut removes whole layers, so a *different* cut can never keep the same count in
  the same tensors. Its size is the same layer for layer up to exchanging layers of one shape
  (`exchangeable`): the same multiset of (shape, kept count) — another residual branch of the same
  widths, another skip arc that carries no weight. Where no such cut exists (resnet_tiny's block1
  branch: nothing else has two 8×8×3×3 convolutions) the random control is refused with that reason.

    >>> import torch
    >>> from explorer.pruning.mask import Mask
    >>> lin = torch.nn.Linear(3, 2)
    >>> p = kept_profile(lin, Mask({"weight": torch.tensor([[1.0, 0, 0], [1, 1, 0]])}))
    >>> p
    KeptProfile(5/8 kept: weight 3/6, bias 2/2)
    >>> q = kept_profile(lin, Mask({"weight": torch.tensor([[0.0, 1, 1], [0, 1, 0]])}))
    >>> q.differences(p), kept_profile(lin, None).differences(p)
    ([], ['weight keeps 6 of 6 entries, the ticket 3'])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

EXACT = "exact"  # the same kept count in every tensor, by name
EXCHANGEABLE = "exchangeable"  # the same multiset of (shape, kept count): layers of one shape may trade places


class SizeMismatch(ValueError):
    """A control whose kept parameters differ from its ticket's; the message names the layers."""


@dataclass(frozen=True)
class KeptProfile:
    """Per parameter tensor (model order): (name, shape, kept entries)."""

    layers: tuple[tuple[str, tuple[int, ...], int], ...]

    @property
    def kept(self) -> int:
        return sum(k for _, _, k in self.layers)

    @property
    def total(self) -> int:
        return sum(_numel(s) for _, s, _ in self.layers)

    def by_name(self) -> dict[str, tuple[tuple[int, ...], int]]:
        return {n: (s, k) for n, s, k in self.layers}

    def differences(self, ticket: KeptProfile, rule: str = EXACT) -> list[str]:
        """What differs from `ticket`'s profile under `rule` (`EXACT` or `EXCHANGEABLE`), in words;
        empty when this is a network of the same size."""
        if rule == EXCHANGEABLE:
            mine, theirs = Counter((s, k) for _, s, k in self.layers), Counter((s, k) for _, s, k in ticket.layers)
            out = [f"{_shape(s)} tensors keeping {k} of {_numel(s)}: {mine[(s, k)]} here, {theirs[(s, k)]} in the ticket"
                   for s, k in sorted(set(mine) | set(theirs)) if mine[(s, k)] != theirs[(s, k)]]
        elif rule == EXACT:
            a, b = self.by_name(), ticket.by_name()
            out = [f"{n} is not a parameter of the ticket" for n in a if n not in b]
            out += [f"the ticket's {n} is not a parameter here" for n in b if n not in a]
            out += [f"{n} has shape {_shape(a[n][0])}, the ticket's {_shape(b[n][0])}" for n in a
                    if n in b and a[n][0] != b[n][0]]
            out += [f"{n} keeps {a[n][1]} of {_numel(a[n][0])} entries, the ticket {b[n][1]}" for n in a
                    if n in b and a[n][0] == b[n][0] and a[n][1] != b[n][1]]
        else:
            raise ValueError(f"size rule {rule!r} is not one of {EXACT!r}, {EXCHANGEABLE!r}")
        if self.kept != ticket.kept and not out:  # cannot happen when the layers agree; kept for safety
            out.append(f"{self.kept} parameters kept, the ticket {ticket.kept}")
        return out

    def __repr__(self) -> str:
        shown = ", ".join(f"{n} {k}/{_numel(s)}" for n, s, k in self.layers[:6])
        more = f", ... {len(self.layers) - 6} more" if len(self.layers) > 6 else ""
        return f"KeptProfile({self.kept}/{self.total} kept: {shown}{more})"


def kept_profile(model: nn.Module, mask: Mapping[str, torch.Tensor] | None) -> KeptProfile:
    """The kept entries of every parameter of `model` under `mask` (None: nothing masked). A masked
    tensor's count is its mask's number of ones; the mask must name only parameters of `model`."""
    mask = mask or {}
    params = dict(model.named_parameters())
    stray = [k for k in mask if k not in params]
    if stray:
        raise SizeMismatch(f"the mask names {stray[0]!r}, which is not a parameter of {type(model).__name__}")
    return KeptProfile(tuple((n, tuple(p.shape), int(mask[n].sum().item()) if n in mask else p.numel())
                             for n, p in params.items()))


def check_same_size(control: KeptProfile, ticket: KeptProfile, rule: str, what: str) -> None:
    """Raise `SizeMismatch` naming the layers where `control` (described by `what`) is not the
    ticket's size under `rule` (see the module doc)."""
    diff = control.differences(ticket, rule)
    if diff:
        per = "layer for layer" if rule == EXACT else "layer for layer (layers of one shape may trade places)"
        raise SizeMismatch(f"{what} keeps {control.kept:,} of {control.total:,} parameters where the ticket keeps "
                           f"{ticket.kept:,}, so it is not a control of the same size {per}: "
                           + "; ".join(diff[:4]) + (f"; and {len(diff) - 4} more" if len(diff) > 4 else ""))


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) or "scalar"
