"""Loading saved weights into a model, with every key and shape checked first.

One owner for what the pruning rewrite, rewinding, pruned exports and rewind checkpoints
all need: a state dict whose keys cover the model's, of the same shapes, loaded as a
whole or not at all.

    >>> import torch
    >>> m = torch.nn.Linear(2, 1)
    >>> load_state(m, {"weight": torch.ones(1, 2), "bias": torch.zeros(1)}, "a test state")
    >>> load_state(m, {"weight": torch.ones(1, 2)}, "a test state")
    Traceback (most recent call last):
    ...
    explorer.models.state.StateError: a test state lacks 'bias' (1 of 2 entries of Linear); it was saved from another model
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


class StateError(ValueError):
    """Saved weights that do not fit the model; the message names the key and where they came from."""


def load_state(model: nn.Module, state: Mapping[str, torch.Tensor], source: str,
               error: type[ValueError] = StateError) -> None:
    """Load the entries of `state` that `model` has (extra ones are ignored) after checking that
    every key of `model.state_dict()` is present with its shape; raise `error` naming the first
    missing or mismatched key and `source` (e.g. "checkpoint step_0.safetensors")."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise error(f"{source} lacks {missing[0]!r}{more} ({len(missing)} of {len(own)} entries of "
                    f"{type(model).__name__}); it was saved from another model")
    for k, v in own.items():
        got = tuple(state[k].shape)
        if got != tuple(v.shape):
            raise error(f"{source} holds {k!r} of shape {got}, but {type(model).__name__} has {tuple(v.shape)}; "
                        "it was saved from another model or pruned differently")
    model.load_state_dict({k: state[k] for k in own})
