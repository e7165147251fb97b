"""What a network costs: parameters, non-zero parameters and multiply-accumulates (MACs).

MACs are counted by running the model once on one sample, over the Linear and Conv
layers that actually run (the layers hold nearly all the work of the zoo's networks;
attention's `q @ k` products and normalisations are not counted). `effective` MACs
count only non-zero weights: what a sparse kernel would do; a dense kernel still does
`macs`.

    >>> import torch
    >>> m = torch.nn.Linear(4, 3)
    >>> with torch.no_grad(): _ = m.weight[0].zero_()
    >>> cost(m, torch.zeros(1, 4))
    Cost(params=15, nonzero=11, macs=12, effective_macs=8)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


@dataclass(frozen=True)
class Cost:
    params: int
    nonzero: int
    macs: int
    effective_macs: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@torch.no_grad()
def cost(model: nn.Module, x: torch.Tensor) -> Cost:
    """Parameters, non-zero parameters, dense MACs and non-zero-weight MACs per sample of `x`."""
    params = sum(p.numel() for p in model.parameters())
    nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    macs = [0, 0]

    def hook(m: nn.Module, inp, out) -> None:
        w = m.weight
        nnz = int(torch.count_nonzero(w))
        batch = out.shape[0] if out.dim() > 1 else 1
        if isinstance(m, nn.Linear):
            reps = out.numel() // (batch * m.out_features)
        elif isinstance(m, _CONV):
            reps = math.prod(out.shape[2:])
        else:  # transposed conv: every input position meets every weight
            reps = math.prod(inp[0].shape[2:])
        macs[0] += reps * w.numel()
        macs[1] += reps * nnz

    hooks = [m.register_forward_hook(hook) for m in model.modules()
             if isinstance(m, (nn.Linear,) + _CONV + _CONV_T)]
    was = model.training
    try:
        model.eval()
        model(x[:1])
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    return Cost(params, nonzero, macs[0], macs[1])
