"""Shapes, parameters and MACs of the ops of a traced graph, without a real forward pass.

`propagate(gm, args)` runs a `torch.fx.GraphModule` on *meta* tensors (shapes only, no
data, no arithmetic), so a 600M-parameter torchvision model costs no more than its
graph. Ops whose output has the input's shape (batch norm, activations, dropout, ...)
skip even the meta kernel. Parameters are turned into meta tensors only where an op
needs them; the model is never copied or modified. When an op has no meta kernel
(data-dependent shapes), `propagate` raises `ShapeError` and the caller can run the
graph on the real example input instead (`propagate(gm, args, real=True)`).

`node_macs(...)` counts multiply-accumulates per example (no batch dimension) for
the ops whose cost dominates: convolutions, linear layers, matmuls, attention; an
element-wise op or a normalisation counts one MAC per output element.

    >>> import torch
    >>> gm = torch.fx.symbolic_trace(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()))
    >>> vals = propagate(gm, (torch.zeros(2, 4),))
    >>> [(n.name, tuple(vals[n].shape)) for n in gm.graph.nodes]
    [('input_1', (2, 4)), ('_0', (2, 3)), ('_1', (2, 3)), ('output', (2, 3))]
"""

from __future__ import annotations

import math
import operator
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


_ELEMENTWISE_COST = 1  # one "MAC" per output element for normalisations and activations


def node_macs(op: str, module: nn.Module | None, in_shapes: list[tuple[int, ...]],
              out_shape: tuple[int, ...] | None, consts: list[torch.Tensor] | None = None) -> int:
    """Multiply-accumulates of one op for ONE example (shapes given without batch dim).

    `in_shapes` are the tensor inputs' shapes; `consts` the folded constant tensors
    (e.g. a functional linear's weight). Unknown ops cost one per output element.
    """
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
        if isinstance(module, nn.MultiheadAttention):
            return _mha_macs(module, in_shapes)
        if isinstance(module, (nn.Dropout, nn.Identity)):
            return 0
        if not any(True for _ in module.parameters()) and not in_shapes:
            return 0
        return out_n * _ELEMENTWISE_COST
    if op in ("linear",) and consts:
        return out_n * int(consts[0].shape[-1])
    if op in ("matmul", "bmm", "mm", "baddbmm", "addmm", "einsum") or op == "matmul_":
        shapes = list(in_shapes) + [tuple(c.shape) for c in (consts or [])]
        if shapes and shapes[0]:
            return out_n * int(shapes[0][-1])
        return out_n
    if op == "scaled_dot_product_attention" and len(in_shapes) >= 2:
        q, k = in_shapes[0], in_shapes[1]
        # (.., Lq, E) x (.., Lk, E): scores and the weighted sum of values
        return 2 * _numel(q[:-1]) * int(k[-2]) * int(q[-1]) if len(q) >= 2 and len(k) >= 2 else out_n
    if op in ("conv1d", "conv2d", "conv3d", "convolution") and consts:
        w = consts[0]
        return out_n * _numel(w.shape[1:])
    if op in _SHAPE_ONLY:
        return 0
    return out_n * _ELEMENTWISE_COST


def _mha_macs(m: nn.MultiheadAttention, in_shapes: list[tuple[int, ...]]) -> int:
    if not in_shapes:
        return 0
    e = m.embed_dim
    q = in_shapes[0]
    k = in_shapes[1] if len(in_shapes) > 1 else q
    lq, lk = _numel(q[:-1]), _numel(k[:-1])
    # q, k, v projections + scores + weighted values + output projection
    return lq * e * e + 2 * lk * e * e + 2 * lq * lk * e + lq * e * e


# Ops that only move or reshape data: no arithmetic.
_SHAPE_ONLY = {
    "view", "reshape", "flatten", "unflatten", "permute", "transpose", "t", "contiguous", "getitem",
    "cat", "concat", "concatenate", "stack", "chunk", "split", "unbind", "unsqueeze", "squeeze",
    "expand", "expand_as", "repeat", "narrow", "select", "clone", "to", "type", "float", "size",
    "dropout", "identity", "output", "input", "getattr", "roll", "flip", "pad", "detach",
}
