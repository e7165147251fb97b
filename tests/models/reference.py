"""Independent references for the any-model suite: fvcore's MAC count (conv, linear and matmul
handlers, one multiply-add = one MAC; plus scaled-dot-product attention, which fvcore has no
handler for), per example."""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

COUNTED = ("aten::addmm", "aten::bmm", "aten::_convolution", "aten::einsum", "aten::matmul", "aten::mm",
           "aten::linear", "aten::baddbmm")


def _sdpa(inputs: list[Any], outputs: list[Any]) -> int:
    from fvcore.nn.jit_handles import get_shape

    q, k = get_shape(inputs[0]), get_shape(inputs[1])
    return 2 * math.prod(q[:-1]) * k[-2] * q[-1]  # scores and the weighted values


def fvcore_macs(model: torch.nn.Module, x: Any) -> float:
    """fvcore's count with only its conv/linear/matmul handlers (and one for attention)."""
    from fvcore.nn.jit_analysis import JitModelAnalysis
    from fvcore.nn.flop_count import _DEFAULT_SUPPORTED_OPS as FVCORE

    args = x if isinstance(x, tuple) else (x,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = JitModelAnalysis(model, args).set_op_handle(**{k: FVCORE[k] for k in COUNTED if k in FVCORE})
        f.set_op_handle("aten::scaled_dot_product_attention", _sdpa)
        f.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        total = f.total()
    return total / int(args[0].shape[0])
