"""The op vocabulary of traced graphs: op names, what each op's arcs compute, arc labels.

One owner for the facts every op-level stage reads: the tracers (`trace`, `record`)
label arcs with them, the symbolic lifting evaluates by them, validity decides by them.

- `ADDITIVE`: heads that sum their inputs (`add(x, 0) = x`: an input can be removed);
- `SLOT_OPS`: heads that place each input in its own slot (`cat`, `stack`, the output);
- `JOINT_OPS`: heads that combine their inputs non-additively (`mul`, `matmul`, attention);
- `SIZE_OPS`: nodes that compute Python values (shapes, sizes), not tensors;
- `arc_function(op, ...) -> (kind, label)`: the function on one arc into a node computing `op`.

    >>> normalise("iadd"), normalise("relu_"), normalise("__add__")
    ('add', 'relu', 'add')
    >>> arc_function("add", [(1,)], 2, 1, "add", [])
    ('identity', 'id')
    >>> arc_function("mul", [(0,)], 2, 0, "mul", [])
    ('joint', 'mul arg 0')
"""

from __future__ import annotations

from typing import Any

import torch
from torch import fx, nn

ADDITIVE = {"add", "sub", "rsub"}
SLOT_OPS = {"cat", "concat", "concatenate", "stack", "hstack", "vstack", "output", "slice_scatter", "select_scatter",
            "index_put", "diagonal_scatter", "as_strided_scatter"}
LINEAR_OPS = {
    "conv1d", "conv2d", "conv3d", "convtranspose1d", "convtranspose2d", "convtranspose3d", "convolution",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "linear", "addmm", "mm",
    "batchnorm1d", "batchnorm2d", "batchnorm3d", "batch_norm", "frozenbatchnorm2d",
    "_native_batch_norm_legit_no_training", "avgpool1d", "avgpool2d", "avgpool3d", "avg_pool1d",
    "avg_pool2d", "avg_pool3d", "adaptiveavgpool1d", "adaptiveavgpool2d", "adaptiveavgpool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "_adaptive_avg_pool2d",
    "flatten", "unflatten", "view", "_unsafe_view", "reshape", "permute", "transpose", "t", "contiguous",
    "getitem", "mean", "sum", "chunk", "split", "split_with_sizes", "unbind", "unsqueeze", "squeeze",
    "expand", "expand_as", "repeat", "narrow", "select", "slice", "clone", "to", "type", "float",
    "roll", "flip", "pad", "constant_pad_nd", "zeropad2d", "constantpad2d", "pixel_shuffle",
    "pixelshuffle", "upsample", "interpolate", "upsample_nearest2d", "upsample_bilinear2d",
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alphadropout", "identity", "stochasticdepth",
    "stochastic_depth", "neg", "mul", "div", "truediv", "matmul", "bmm", "einsum", "detach", "alias",
    "channel_shuffle", "unfold", "movedim", "swapaxes", "tensor_split", "new_zeros", "copy", "slice", "alias_copy",
    "view_copy", "permute_copy", "expand_copy", "_to_copy",
}
NONLINEAR_OPS = {  # documented for readers; anything unknown is treated as nonlinear too
    "relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax", "_softmax",
    "hardswish", "hardsigmoid", "hardtanh", "elu", "selu", "leaky_relu", "leakyrelu", "prelu", "mish",
    "softplus", "maxpool1d", "maxpool2d", "maxpool3d", "max_pool2d", "adaptivemaxpool2d", "layernorm",
    "layer_norm", "groupnorm", "group_norm", "instancenorm2d", "localresponsenorm", "max", "amax",
    "min", "abs", "exp", "log", "sqrt", "rsqrt", "pow", "clamp", "multiheadattention", "embedding",
}
# ops that scale by their non-data argument: linear in the data input when that is the only one
SCALING = {"mul", "div", "truediv", "matmul", "bmm", "mm", "einsum"}
NORMALISED = {"iadd": "add", "isub": "sub", "imul": "mul", "itruediv": "div", "truediv": "div",
              "radd": "add", "rmul": "mul", "floordiv": "floordiv", "imatmul": "matmul", "concat": "cat",
              "concatenate": "cat", "__and__": "and", "__or__": "or"}


JOINT_OPS = frozenset({"mul", "matmul", "bmm", "baddbmm", "div", "truediv", "einsum",
                       "scaled_dot_product_attention", "pow", "where", "masked_fill"})
SIZE_OPS = frozenset({"size", "dim", "numel", "shape", "getattr_shape"})


def normalise(name: str) -> str:
    """The canonical op name of a function or method name: dunders stripped, in-place twins
    (`relu_`, `iadd`) mapped to the function they compute, aliases (`concat`) to one name."""
    name = name.strip("_") if name.startswith("__") else name
    if name.endswith("_") and not name.startswith("_"):
        name = name[:-1]  # in-place twin (relu_, add_) computes the same function
    return NORMALISED.get(name, name)


def op_name(n: fx.Node, modules: dict[str, nn.Module]) -> str:
    """The short op name of an fx node: module class (lowercase) or function/method name."""
    if n.op == "placeholder":
        return "input"
    if n.op == "output":
        return "output"
    if n.op == "call_module":
        return type(modules[str(n.target)]).__name__.lower()
    if n.op == "call_method":
        name = str(n.target)
    else:
        t = n.target
        name = getattr(t, "_opname", None) or getattr(t, "__name__", None) or str(t)
    return normalise(name)


def pair(v: Any, squash: bool = False) -> str:
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if squash and len(set(v)) == 1:
        v = v[:1]  # stride (2, 2) reads "s2"
    return "×".join(str(int(x)) for x in v)


def module_label(op: str, m: nn.Module) -> str:
    """A short description of a module's function, e.g. 'conv2d 3×3 64→64 s2'."""
    if isinstance(m, nn.modules.conv._ConvNd):
        s = f"{op} {pair(m.kernel_size)} {m.in_channels}→{m.out_channels}"
        if any(x != 1 for x in m.stride):
            s += f" s{pair(m.stride, True)}"
        if m.groups != 1:
            s += f" g{m.groups}"
        if any(x != 1 for x in m.dilation):
            s += f" d{pair(m.dilation, True)}"
        return s
    if isinstance(m, nn.Linear):
        return f"linear {m.in_features}→{m.out_features}"
    if isinstance(m, nn.modules.batchnorm._NormBase):
        return f"{op} {m.num_features}"
    if isinstance(m, nn.LayerNorm):
        return f"layernorm {pair(m.normalized_shape)}"
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
        s = f"{op} {pair(m.kernel_size)}"
        stride = m.stride if m.stride is not None else m.kernel_size
        return s + (f" s{pair(stride, True)}" if pair(stride) != pair(m.kernel_size) else "")
    if isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
                      nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)):
        return f"{op} →{pair(m.output_size) if m.output_size is not None else '?'}"
    if isinstance(m, nn.MultiheadAttention):
        return f"multiheadattention {m.embed_dim}d {m.num_heads}h"
    return op


def const_label(v: Any, values: dict[fx.Node, Any]) -> str:
    if isinstance(v, fx.Node):
        val = values.get(v)
        if isinstance(val, (int, float)) and not isinstance(val, bool):
            return const_label(val, values)  # a number computed from shapes, e.g. dh ** 0.5
        return str(v.target) if v.op == "get_attr" else v.name
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def functional_label(op: str, consts: list[torch.Tensor]) -> str:
    if op == "linear" and consts and consts[0].dim() == 2:
        return f"linear {consts[0].shape[1]}→{consts[0].shape[0]}"
    if op in ("conv1d", "conv2d", "conv3d", "convolution") and consts and consts[0].dim() >= 3:
        w = consts[0]
        return f"{op} {pair(w.shape[2:])} {w.shape[1]}→{w.shape[0]}"
    return op


def arc_function(op: str, slots: list[tuple], n_sources: int, source_index: int,
                 base_label: str, const_args: list[str]) -> tuple[str, str]:
    """(kind, label) of one arc into a node computing `op`.

    `slots` are the argument positions at which this source appears, `n_sources` the
    number of distinct data inputs of the node, `const_args` labels of its constant
    arguments (folded parameters, literals).
    """
    first = slots[0][0] if slots else 0
    mult = len(slots)
    if op in ADDITIVE:
        neg = (op == "sub" and first == 1) or (op == "rsub" and first == 0)
        base = "−id" if neg else "id"
        return "identity", (f"{mult}·{base}" if mult > 1 else base)
    if op in SLOT_OPS:
        pos = [".".join(map(str, s[1:])) if len(s) > 1 else s[0] for s in slots]
        if op == "output" and n_sources == 1 and len(pos) == 1:
            return "identity", "id"
        what = "slot" if len(pos) == 1 else "slots"
        return "linear", f"{what} {','.join(map(str, pos))} of {op}"
    if n_sources >= 2:
        return "joint", f"{op} arg {first}"
    if op in SCALING:
        if mult > 1:  # x * x, x @ x: not linear in x
            return "joint", f"{op} (×{mult})"
        if op in ("div", "truediv") and first != 0:
            return "nonlinear", f"{const_args[0] if const_args else 'c'} ÷ x"
        sym = {"mul": "×", "div": "÷"}.get(op, f"{op} ")
        return "linear", f"{sym}{const_args[0]}" if const_args else op
    if op == "getitem" and const_args:
        return "linear", f"[{const_args[0]}]"
    if op in LINEAR_OPS:
        return "linear", base_label
    return "nonlinear", base_label
