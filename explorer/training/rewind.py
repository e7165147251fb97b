"""Rewinding (docs/science.md §7): the survivors of a pruned network take the values a saved
state holds — the dense init for a lottery ticket, or the dense run's weights at step k —
and the mask is applied again so the pruned entries stay zero.

    >>> import torch
    >>> from explorer.pruning.mask import Mask
    >>> m = torch.nn.Linear(2, 1)
    >>> mask = Mask({"weight": torch.tensor([[1.0, 0.0]])})
    >>> rewind(m, mask, {"weight": torch.tensor([[3.0, 4.0]]), "bias": torch.zeros(1)})
    >>> m.weight.tolist()
    [[3.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from explorer.models.state import load_state
from explorer.pruning.mask import Mask


class RewindError(ValueError):
    """A state to rewind to that does not exist or does not fit the model."""


@torch.no_grad()
def rewind(model: nn.Module, mask: Mask | None, state: Mapping[str, torch.Tensor],
           source: str = "the state to rewind to") -> None:
    """Load `state` into `model` (every key checked) and re-apply `mask`."""
    load_state(model, state, source, error=RewindError)
    if mask is not None:
        mask.apply_(model)


def rewind_to_checkpoint(model: nn.Module, mask: Mask | None, path: Path) -> None:
    """`rewind` to a safetensors checkpoint written by the training run (`training.checkpoints`)."""
    from explorer.training.checkpoints import read_checkpoint

    if not path.exists():
        raise RewindError(f"rewind checkpoint {path} does not exist: run the dense twin first (same config with "
                          "init=dense and the same rewind_step), or set rewind_from to a dense run that saved it")
    rewind(model, mask, read_checkpoint(path), f"checkpoint {path}")
