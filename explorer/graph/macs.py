"""Multiply-accumulates (MACs): one multiply-add is one MAC, counted for convolutions, linear
layers and matrix products — attention's included — as fvcore's conv/linear/matmul handlers and
torch's `FlopCounterMode` (FLOPs / 2) count them. Element-wise ops, normalisations and pools
are not counted: they are a few percent at most and no two tools agree on them.

- `node_macs(op, module, in_shapes, out_shape, consts)`: one op's MACs for the WHOLE example
  batch, from full shapes (the batch dimension wherever it is: first, elsewhere, or merged as
  in GPT-2's (B·T, C)); the graph divides by the batch size for per-example figures.
- a whole model's total is `explorer.pruning.cost.count_macs` (the sum over its graph).

    >>> import torch
    >>> node_macs("linear", torch.nn.Linear(5, 3), [(4, 7, 5)], (4, 7, 3))  # a (B, T, C) linear: 4·7·3·5
    420
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

MATMUL_OPS = frozenset({"matmul", "bmm", "mm", "baddbmm", "addmm", "einsum", "addbmm"})
CONV_OPS = frozenset({"conv1d", "conv2d", "conv3d", "convolution", "_convolution"})


def _numel(shape: Iterable[int]) -> int:
    return int(math.prod(shape))


def node_macs(op: str, module: nn.Module | None, in_shapes: list[tuple[int, ...]],
              out_shape: tuple[int, ...] | None, consts: list[torch.Tensor] | None = None) -> int:
    """MACs of one op over the whole batch (full shapes, batch included wherever it is).

    `in_shapes` are the data inputs' shapes; `consts` the folded constant tensors (a functional
    linear's weight). Ops other than convolutions, linear layers, matrix products and attention
    count 0."""
    if isinstance(module, nn.MultiheadAttention):
        return mha_macs(module, in_shapes)  # its output is a tuple: counted from the inputs
    if out_shape is None:
        return 0
    out_n = _numel(out_shape)
    if module is not None:
        if isinstance(module, nn.modules.conv._ConvNd):
            k = _numel(module.kernel_size)
            if isinstance(module, nn.modules.conv._ConvTransposeNd):
                # each input element is spread over a k-window of every output channel
                return _numel(in_shapes[0]) * k * module.out_channels // module.groups if in_shapes else 0
            return out_n * (module.in_channels // module.groups) * k
        if isinstance(module, nn.Linear):
            return out_n * module.in_features
        if isinstance(module, nn.Bilinear):
            return out_n * module.in1_features * module.in2_features
        return 0
    consts = consts or []
    if op == "linear" and consts:
        return out_n * int(consts[0].shape[-1])
    if op in MATMUL_OPS:
        shapes = list(in_shapes) + [tuple(c.shape) for c in consts if len(c.shape) >= 2]
        return out_n * int(shapes[0][-1]) if shapes and shapes[0] else 0
    if op.startswith("scaled_dot_product") and len(in_shapes) >= 2:
        q, k = in_shapes[0], in_shapes[1]
        # (.., Lq, E) x (.., Lk, E): the scores and the weighted sum of the values
        return 2 * _numel(q[:-1]) * int(k[-2]) * int(q[-1]) if len(q) >= 2 and len(k) >= 2 else 0
    if op in CONV_OPS and consts and len(consts[0].shape) >= 3:
        return out_n * _numel(consts[0].shape[1:])
    return 0


def mha_macs(m: nn.MultiheadAttention, in_shapes: list[tuple[int, ...]]) -> int:
    """nn.MultiheadAttention: q, k, v and output projections, scores and the weighted values."""
    if not in_shapes:
        return 0
    e = m.embed_dim
    q = in_shapes[0]
    k = in_shapes[1] if len(in_shapes) > 1 else q
    if len(q) == 3:
        (b, lq), s = ((q[0], q[1]), k[1]) if m.batch_first else ((q[1], q[0]), k[0])
    else:
        b, lq, s = 1, q[0], k[0]
    kdim, vdim = m.kdim, m.vdim
    return b * (lq * e * e + s * e * kdim + s * e * vdim + 2 * lq * s * e + lq * e * e)
