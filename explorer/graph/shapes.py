"""Shapes, parameters and MACs of the ops of a traced graph, without a real forward pass.

`propagate(gm, args)` runs a `torch.fx.GraphModule` on *meta* tensors (shapes only, no
data, no arithmetic), so a 600M-parameter torchvision model costs no more than its
graph. Ops whose output has the input's shape (batch norm, activations, dropout, ...)
skip even the meta kernel. Parameters are turned into meta tensors only where an op
needs them; the model is never copied or modified. When an op has no meta kernel
(data-dependent shapes), `propagate` raises `ShapeError` and the caller can run the
graph on the real example input instead (`propagate(gm, args, real=True)`).

`batch_layout(gm, args)` says where each node's batch dimension is (first, another
dim, merged into a dim as in GPT-2's (B·T, C) or Swin's windows, or none), from one more
meta pass at another batch size. MACs live in `explorer.graph.macs`.

    >>> import torch
    >>> gm = torch.fx.symbolic_trace(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()))
    >>> vals = propagate(gm, (torch.zeros(2, 4),))
    >>> [(n.name, tuple(vals[n].shape)) for n in gm.graph.nodes]
    [('input_1', (2, 4)), ('_0', (2, 3)), ('_1', (2, 3)), ('output', (2, 3))]
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from collections.abc import Iterable
from typing import Any

import torch
from torch import fx, nn


class ShapeError(ValueError):
    """An op whose output shape could not be computed; the message names the node."""


# Modules whose output has exactly the shape of their (first) input, in eval mode.
SAME_SHAPE_MODULES: tuple[type, ...] = (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
    nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d, nn.LocalResponseNorm,
    nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid,
    nn.Hardtanh, nn.ELU, nn.SELU, nn.CELU, nn.LeakyReLU, nn.PReLU, nn.Mish, nn.Softplus,
    nn.Softmax, nn.LogSoftmax, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
    nn.AlphaDropout, nn.Identity,
)
_SAME_SHAPE_FUNCS = {
    torch.relu, torch.nn.functional.relu, torch.sigmoid, torch.tanh, torch.nn.functional.gelu,
    torch.nn.functional.silu, torch.nn.functional.hardswish, torch.nn.functional.hardsigmoid,
    torch.nn.functional.dropout, torch.softmax, torch.nn.functional.softmax,
    torch.nn.functional.layer_norm,
}
# torchvision functions kept whole by `torch.fx.wrap` whose output has the input's shape
# (documented: "Tensor[N, H, W, C]: the output tensor after shifted window attention")
_SAME_SHAPE_WRAPPED = {"shifted_window_attention"}
_SAME_SHAPE_METHODS = {"relu", "sigmoid", "tanh", "contiguous", "clone", "softmax", "relu_", "sigmoid_"}


def _to_meta(v: Any) -> Any:
    if isinstance(v, torch.Tensor) and v.device.type != "meta":
        return torch.empty_like(v, device="meta")
    if isinstance(v, (list, tuple)):
        return type(v)(_to_meta(x) for x in v) if not hasattr(v, "_fields") else type(v)(*(_to_meta(x) for x in v))
    if isinstance(v, dict):
        return {k: _to_meta(x) for k, x in v.items()}
    return v


class _Prop(fx.Interpreter):
    """Interpreter that records every node's value; on meta tensors unless `real`."""

    def __init__(self, gm: fx.GraphModule, real: bool):
        super().__init__(gm, garbage_collect_values=False)
        self.real = real
        self.values: dict[fx.Node, Any] = {}
        self.modules = dict(gm.named_modules())

    def run_node(self, n: fx.Node) -> Any:
        try:
            out = super().run_node(n)
        except ShapeError:
            raise
        except Exception as e:  # noqa: BLE001 - any kernel failure is reported with the node
            where = f" (module {n.target})" if n.op == "call_module" else ""
            raise ShapeError(f"computing the output shape of node {n.name!r}{where} failed: "
                             f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
        self.values[n] = out
        return out

    def get_attr(self, target: Any, args: Any, kwargs: Any) -> Any:
        v = super().get_attr(target, args, kwargs)
        return v if self.real else _to_meta(v)

    def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
        if not self.real:
            if target in _SAME_SHAPE_FUNCS and args and isinstance(args[0], torch.Tensor):
                return torch.empty_like(args[0])
            if getattr(target, "__name__", "") in _SAME_SHAPE_WRAPPED and args and isinstance(args[0], torch.Tensor) \
                    and str(getattr(target, "__module__", "")).startswith("torchvision"):
                return torch.empty_like(args[0])
            if target in (torch.cat, torch.concat) and args and isinstance(args[0], (list, tuple)):
                out = _cat_shape(args[0], args[1] if len(args) > 1 else kwargs.get("dim", 0))
                if out is not None:
                    return args[0][0].new_empty(out)
            if target in (operator.add, operator.sub, operator.mul) and len(args) == 2:
                a, b = args
                if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape \
                        and a.dtype == b.dtype:
                    return torch.empty_like(a)
        return super().call_function(target, args, kwargs)

    def call_method(self, target: Any, args: Any, kwargs: Any) -> Any:
        if not self.real and target in _SAME_SHAPE_METHODS and args and isinstance(args[0], torch.Tensor):
            return torch.empty_like(args[0])
        return super().call_method(target, args, kwargs)

    def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
        mod = self.modules[target]
        if self.real:
            return mod(*args, **kwargs)
        if type(mod) is nn.MultiheadAttention:
            out = _mha_out(mod, args, kwargs)
            if out is not None:
                return out
        x = args[0] if args and isinstance(args[0], torch.Tensor) and not kwargs and len(args) == 1 else None
        if x is not None:
            if isinstance(mod, SAME_SHAPE_MODULES):
                return torch.empty_like(x)
            if type(mod) is nn.Linear and x.shape[-1] == mod.in_features:
                return x.new_empty((*x.shape[:-1], mod.out_features))
            if type(mod) in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
                out = _conv_shape(mod, tuple(x.shape))
                if out is not None:
                    return x.new_empty(out)
                w = mod.weight if mod.weight.device.type == "meta" else torch.empty_like(mod.weight, device="meta")
                return mod._conv_forward(x, w, None)
        state = {k: v for k, v in _named_tensors(mod) if v.device.type != "meta"}
        if not state:
            return mod(*args, **kwargs)
        meta_state = {k: torch.empty_like(v, device="meta") for k, v in state.items()}
        return torch.func.functional_call(mod, meta_state, args, kwargs, strict=False)


def _mha_out(m: nn.MultiheadAttention, args: tuple, kwargs: dict) -> Any:
    """(output, weights or None) of nn.MultiheadAttention on meta tensors, by its documented shapes."""
    names = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask", "average_attn_weights")
    a = dict(zip(names, args)) | kwargs
    q, k = a.get("query"), a.get("key")
    if not (isinstance(q, torch.Tensor) and isinstance(k, torch.Tensor)) or q.dim() not in (2, 3) \
            or q.dim() != k.dim() or q.shape[-1] != m.embed_dim:
        return None
    out = q.new_empty((*q.shape[:-1], m.embed_dim))
    if not a.get("need_weights", True):
        return out, None
    if q.dim() == 3:
        n, l, s = (q.shape[0], q.shape[1], k.shape[1]) if m.batch_first else (q.shape[1], q.shape[0], k.shape[0])
        lead: tuple[int, ...] = (n,)
    else:
        l, s, lead = q.shape[0], k.shape[0], ()
    heads = () if a.get("average_attn_weights", True) else (m.num_heads,)
    return out, q.new_empty((*lead, *heads, l, s))


def _cat_shape(ts: Any, dim: Any) -> tuple[int, ...] | None:
    """Shape of torch.cat(ts, dim) when every input is a same-rank, same-dtype tensor; else None."""
    if not ts or not all(isinstance(t, torch.Tensor) for t in ts) or not isinstance(dim, int):
        return None
    nd, dt = ts[0].dim(), ts[0].dtype
    if nd == 0 or any(t.dim() != nd or t.dtype != dt for t in ts):
        return None
    d = dim % nd
    rest = [tuple(t.shape[:d]) + tuple(t.shape[d + 1:]) for t in ts]
    if any(r != rest[0] for r in rest):
        return None  # let the kernel raise its own error
    return (*ts[0].shape[:d], sum(int(t.shape[d]) for t in ts), *ts[0].shape[d + 1:])


def _conv_shape(m: nn.modules.conv._ConvNd, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Output shape of a (batched) convolution by the formula in torch.nn.Conv2d's docs; None if unsure."""
    nd = len(m.kernel_size)
    if len(shape) != nd + 2 or shape[1] != m.in_channels:
        return None  # unbatched input or a channel mismatch: let the kernel raise its own error
    if isinstance(m.padding, str):
        if m.padding == "same":
            return (shape[0], m.out_channels, *shape[2:])
        pad = (0,) * nd
    else:
        pad = m.padding
    spatial = [(n + 2 * p - d * (k - 1) - 1) // s + 1
               for n, p, d, k, s in zip(shape[2:], pad, m.dilation, m.kernel_size, m.stride)]
    return None if min(spatial) < 1 else (shape[0], m.out_channels, *spatial)


def _named_tensors(mod: nn.Module) -> Iterable[tuple[str, torch.Tensor]]:
    yield from mod.named_parameters(remove_duplicate=False)
    yield from ((k, b) for k, b in mod.named_buffers(remove_duplicate=False) if b is not None)


def propagate(gm: fx.GraphModule, args: tuple[Any, ...], real: bool = False) -> dict[fx.Node, Any]:
    """Each node's output value: a meta tensor (or tuple of them, or a plain int) per node.

    With `real=True` the graph runs on the real `args` (under `no_grad`): slower, but works
    for ops that have no meta kernel. Raises `ShapeError` naming the node that failed.
    """
    prop = _Prop(gm, real)
    with torch.no_grad():
        prop.run(*(a if real else _to_meta(a) for a in args))
    return prop.values


# ---------------------------------------------------------------------------------------
# shapes of values, MACs
# ---------------------------------------------------------------------------------------


def tensors_in(v: Any) -> list[torch.Tensor]:
    """The tensors inside a value (a tensor, or nested tuples/lists/dicts of them)."""
    if isinstance(v, torch.Tensor):
        return [v]
    if isinstance(v, (list, tuple)):
        return [t for x in v for t in tensors_in(x)]
    if isinstance(v, dict):
        return [t for x in v.values() for t in tensors_in(x)]
    return []


def unbatched(shape: Iterable[int]) -> tuple[int, ...]:
    """A shape without its leading batch dimension (scalars stay `()`)."""
    s = tuple(int(d) for d in shape)
    return s[1:] if s else s


def _numel(shape: Iterable[int]) -> int:
    return int(math.prod(shape))


@dataclass(frozen=True)
class BatchDim:
    """Where a value's batch dimension is: `dim` (its index), and `merged` when that dimension
    holds the batch times something else (GPT-2's (B·T, C), Swin's windows in the batch)."""

    dim: int
    merged: bool = False


def batch_layout(gm: fx.GraphModule, args: tuple[Any, ...], values: dict[fx.Node, Any]
                 ) -> dict[fx.Node, BatchDim | None] | None:
    """Each tensor node's `BatchDim` (None: the value has no batch dimension, e.g. a constant),
    found by propagating once more on meta tensors at batch size B+1 (B = the example's) and
    seeing which dimension grows with the batch. None when the graph cannot run at another
    batch size (a graph traced for one batch size, e.g. by torch.export)."""
    b0 = batch_size(args)
    if b0 is None:
        return None
    b1 = b0 + 1
    grown = tuple(_with_batch(a, b0, b1) for a in args)
    try:
        other = propagate(gm, grown)
    except ShapeError:
        return None
    out: dict[fx.Node, Any] = {}
    for n, v in values.items():
        w = other.get(n)
        if isinstance(v, torch.Tensor) and isinstance(w, torch.Tensor):
            out[n] = _batch_dim(tuple(v.shape), tuple(w.shape), b0, b1)
        elif isinstance(v, (tuple, list)) and isinstance(w, (tuple, list)) and len(v) == len(w):
            out[n] = [_batch_dim(tuple(a.shape), tuple(b.shape), b0, b1)
                      if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) else None for a, b in zip(v, w)]
    return out


def batch_size(args: tuple[Any, ...]) -> int | None:
    """The example's batch size: the leading dimension of its first tensor (None without one)."""
    ts = tensors_in(args)
    return int(ts[0].shape[0]) if ts and ts[0].dim() > 0 else None


def _with_batch(a: Any, b0: int, b1: int) -> Any:
    if isinstance(a, torch.Tensor) and a.dim() > 0 and a.shape[0] == b0:
        return torch.empty((b1, *a.shape[1:]), dtype=a.dtype, device="meta")
    if isinstance(a, (list, tuple)):
        return type(a)(_with_batch(x, b0, b1) for x in a)
    if isinstance(a, dict):
        return {k: _with_batch(x, b0, b1) for k, x in a.items()}
    return a


def _batch_dim(s0: tuple[int, ...], s1: tuple[int, ...], b0: int, b1: int) -> BatchDim | None:
    if len(s0) != len(s1) or s0 == s1:
        return None
    changed = [k for k, (x, y) in enumerate(zip(s0, s1)) if x != y]
    if len(changed) != 1:
        return None
    k = changed[0]
    if s0[k] == b0 and s1[k] == b1:
        return BatchDim(k)
    if s0[k] * b1 == s1[k] * b0:
        return BatchDim(k, merged=True)
    return None


def per_sample_shape(shape: tuple[int, ...], bd: BatchDim | None, b0: int) -> tuple[tuple[int, ...], dict[str, Any]]:
    """The shape a node shows and the facts about its batch: batch-first values drop it (as every
    view of one sample does); a batch elsewhere or merged keeps the full shape, saying where."""
    if bd is not None and bd.dim == 0 and not bd.merged:
        return tuple(shape[1:]), {}
    if bd is None:
        return tuple(shape), {"batch": "none"}
    where = f"dim {bd.dim}" + (f", merged (batch {b0} × {shape[bd.dim] // max(1, b0)})" if bd.merged else "")
    return tuple(shape), {"batch": where}
