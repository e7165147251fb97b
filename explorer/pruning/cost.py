"""What a network costs: parameters, non-zero parameters and multiply-accumulates (MACs).

`macs` is `explorer.graph.macs.count_macs`: the one MAC count of the project (convolutions,
linear layers, matrix products and attention; the same total `levels` and the pages show).
`effective` MACs leave out the work of zero weights in the Linear and Conv layers that run:
what a sparse kernel would do; a dense kernel still does `macs`.

    >>> import torch
    >>> m = torch.nn.Linear(4, 3)
    >>> with torch.no_grad(): _ = m.weight[0].zero_()
    >>> cost(m, torch.zeros(1, 4))
    Cost(params=15, nonzero=11, macs=12, effective_macs=8)
    >>> c = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 30 * 30, 10))
    >>> count_macs(c, torch.zeros(2, 3, 32, 32)) == 8 * 30 * 30 * 3 * 9 + 8 * 30 * 30 * 10
    True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from explorer.graph.memo import PerGraph

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
def cost(model: nn.Module, x: torch.Tensor, macs_total: int | None = None) -> Cost:
    """Parameters, non-zero parameters, dense MACs and non-zero-weight MACs per sample of `x`. `macs_total`:
    the dense MACs when the caller has them (a masked copy of a network has its network's), else traced."""
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
    total = count_macs(model, x[:1]) if macs_total is None else macs_total
    return Cost(params, nonzero, total, max(0, total - (macs[0] - macs[1])))


_DENSE_MACS = PerGraph(keep=4)


def dense_macs(dag: Any, model: nn.Module, x: torch.Tensor) -> int:
    """`count_macs` of `model`, the network whose graph is `dag`: a function of its architecture and the input's
    shape only (a masked copy has the same), so traced once per graph object and input shape."""
    return _DENSE_MACS.get(dag, tuple(x.shape[1:]), lambda: count_macs(model, x[:1]))


def count_macs(model: nn.Module, x: Any) -> int:
    """MACs per example of `model` on `x` (a tensor, or a tuple of positional inputs): the sum of
    its op-level graph's node MACs; torch's `FlopCounterMode` (FLOPs / 2) if it does not trace."""
    from explorer.graph.trace import trace

    try:
        return int(sum(n.macs for n in trace(model, x).nodes))
    except ValueError:
        return flop_counter_macs(model, x)


def flop_counter_macs(model: nn.Module, x: Any) -> int:
    """MACs per example by torch's `FlopCounterMode`: FLOPs of convolutions, matrix products and
    attention, halved (it does not see inside nn.MultiheadAttention's fused fast path)."""
    from torch.utils.flop_counter import FlopCounterMode

    args = tuple(x) if isinstance(x, (tuple, list)) else (x,)
    ts = [a for a in args if isinstance(a, torch.Tensor)]
    batch = int(ts[0].shape[0]) if ts and ts[0].dim() > 0 else 1
    was = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*args)
    finally:
        model.train(was)
    return int(round(counter.get_total_flops() / 2 / max(1, batch)))
