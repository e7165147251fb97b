"""Rewind checkpoints: a run's weights at chosen steps, as safetensors (never a pickle).

Paths come from `explorer.paths.checkpoint(root, run_id, step)`.

    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "step_0.safetensors"
    >>> save_checkpoint(torch.nn.Linear(2, 1), p)
    >>> sorted(read_checkpoint(p))
    ['bias', 'weight']
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class CheckpointError(ValueError):
    """A checkpoint file that is missing or not a safetensors file; says which and the fix."""


def save_checkpoint(model: nn.Module, path: Path) -> None:
    """Write `model.state_dict()` to `path` atomically (a reader never sees half a file)."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    tmp.replace(path)


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint; `CheckpointError` for a file that is not safetensors (e.g. a pickle)."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as e:  # noqa: BLE001 - safetensors raises its own types on a bad header
        raise CheckpointError(f"{path} is not a safetensors checkpoint ({type(e).__name__}); it may have been "
                              "replaced or truncated — delete it and run the dense twin again") from e
