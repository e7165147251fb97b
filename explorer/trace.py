"""Op-level tracing: any `nn.Module` -> a DAG-DNN whose nodes are the tensors of its graph.

`trace(model, example_input)` tries, in order:

1. `torch.fx` symbolic tracing (node ids = fx node names, e.g. `layer1_0_conv1`, `add_3`);
2. `torch.export.export` (non-strict; nodes are aten ops, module paths from
   `nn_module_stack`) for models fx cannot trace, e.g. control flow on shapes;
3. a recording forward pass (`explorer.trace_hooks`-style, in this module): leaf modules
   and the torch functions between them, arcs by tensor identity; it handles
   data-dependent control flow, because it follows the one path the example takes.

When all three fail, `TraceError` names the op/module that failed and carries the
partial graph (`.partial`, a `Dag` or None).

Every node is a *data* tensor: one that depends on an input. Parameters, buffers
(`get_attr`), literals and sub-graphs computed from them alone (e.g. `torch.arange`,
a class token expanded to the batch) are folded into the arcs/nodes that consume
them (`node.meta["constants"]`, listed in `dag.meta["folded"]`). Shapes come from a
meta-tensor pass (`explorer.shapes`), so no real forward is paid.

    >>> from torch import nn
    >>> dag = trace(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), torch.zeros(1, 4))
    >>> [(n.id, n.op, n.shape, dag.level[n.id]) for n in dag.nodes]
    [('input_1', 'input', (4,), 0), ('_0', 'linear', (3,), 1), ('_1', 'relu', (3,), 2), ('output', 'output', (3,), 3)]
    >>> [(a.src, a.dst, a.label, a.kind) for a in dag.arcs]
    [('input_1', '_0', 'linear 4→3', 'linear'), ('_0', '_1', 'relu', 'nonlinear'), ('_1', 'output', 'id', 'identity')]
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import traceback
from collections.abc import Iterator
from typing import Any

import torch
from torch import fx, nn

from explorer.dag import Arc, Dag, Node
from explorer.shapes import ShapeError, node_macs, propagate, tensors_in, unbatched


class TraceError(ValueError):
    """No tracer could turn the model into a graph. `.partial` holds what was built (or None)."""

    def __init__(self, message: str, partial: Dag | None = None, attempts: tuple[str, ...] = ()):
        super().__init__(message)
        self.partial = partial
        self.attempts = attempts


# ---------------------------------------------------------------------------------------
# what each op's arc computes: kind ("linear" | "identity" | "nonlinear" | "joint") + label
# ---------------------------------------------------------------------------------------

ADDITIVE = {"add", "sub", "rsub"}
SLOT_OPS = {"cat", "concat", "concatenate", "stack", "hstack", "vstack", "output"}
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
    "channel_shuffle", "unfold", "movedim", "swapaxes", "tensor_split", "new_zeros",
}
NONLINEAR_OPS = {  # documented for readers; anything unknown is treated as nonlinear too
    "relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax", "_softmax",
    "hardswish", "hardsigmoid", "hardtanh", "elu", "selu", "leaky_relu", "leakyrelu", "prelu", "mish",
    "softplus", "maxpool1d", "maxpool2d", "maxpool3d", "max_pool2d", "adaptivemaxpool2d", "layernorm",
    "layer_norm", "groupnorm", "group_norm", "instancenorm2d", "localresponsenorm", "max", "amax",
    "min", "abs", "exp", "log", "sqrt", "rsqrt", "pow", "clamp", "multiheadattention", "embedding",
}
# ops that scale by their non-data argument: linear in the data input when that is the only one
_SCALING = {"mul", "div", "truediv", "matmul", "bmm", "mm", "einsum"}
_NORMALISE = {"iadd": "add", "isub": "sub", "imul": "mul", "itruediv": "div", "truediv": "div",
              "radd": "add", "rmul": "mul", "floordiv": "floordiv", "imatmul": "matmul", "concat": "cat",
              "concatenate": "cat", "__and__": "and", "__or__": "or"}


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
    name = name.strip("_") if name.startswith("__") else name
    if name.endswith("_") and not name.startswith("_"):
        name = name[:-1]  # in-place twin (relu_, add_) computes the same function
    return _NORMALISE.get(name, name)


def _pair(v: Any, squash: bool = False) -> str:
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if squash and len(set(v)) == 1:
        v = v[:1]  # stride (2, 2) reads "s2"
    return "×".join(str(int(x)) for x in v)


def module_label(op: str, m: nn.Module) -> str:
    """A short description of a module's function, e.g. 'conv2d 3×3 64→64 s2'."""
    if isinstance(m, nn.modules.conv._ConvNd):
        s = f"{op} {_pair(m.kernel_size)} {m.in_channels}→{m.out_channels}"
        if any(x != 1 for x in m.stride):
            s += f" s{_pair(m.stride, True)}"
        if m.groups != 1:
            s += f" g{m.groups}"
        if any(x != 1 for x in m.dilation):
            s += f" d{_pair(m.dilation, True)}"
        return s
    if isinstance(m, nn.Linear):
        return f"linear {m.in_features}→{m.out_features}"
    if isinstance(m, nn.modules.batchnorm._NormBase):
        return f"{op} {m.num_features}"
    if isinstance(m, nn.LayerNorm):
        return f"layernorm {_pair(m.normalized_shape)}"
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
        s = f"{op} {_pair(m.kernel_size)}"
        stride = m.stride if m.stride is not None else m.kernel_size
        return s + (f" s{_pair(stride, True)}" if _pair(stride) != _pair(m.kernel_size) else "")
    if isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
                      nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)):
        return f"{op} →{_pair(m.output_size) if m.output_size is not None else '?'}"
    if isinstance(m, nn.MultiheadAttention):
        return f"multiheadattention {m.embed_dim}d {m.num_heads}h"
    return op


def _const_label(v: Any, values: dict[fx.Node, Any]) -> str:
    if isinstance(v, fx.Node):
        val = values.get(v)
        if isinstance(val, (int, float)) and not isinstance(val, bool):
            return _const_label(val, values)  # a number computed from shapes, e.g. dh ** 0.5
        return str(v.target) if v.op == "get_attr" else v.name
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _functional_label(op: str, consts: list[torch.Tensor]) -> str:
    if op == "linear" and consts and consts[0].dim() == 2:
        return f"linear {consts[0].shape[1]}→{consts[0].shape[0]}"
    if op in ("conv1d", "conv2d", "conv3d", "convolution") and consts and consts[0].dim() >= 3:
        w = consts[0]
        return f"{op} {_pair(w.shape[2:])} {w.shape[1]}→{w.shape[0]}"
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
        pos = [s[1] if len(s) > 1 else s[0] for s in slots]
        if op == "output" and n_sources == 1 and len(pos) == 1:
            return "identity", "id"
        what = "slot" if len(pos) == 1 else "slots"
        return "linear", f"{what} {','.join(map(str, pos))} of {op}"
    if n_sources >= 2:
        return "joint", f"{op} arg {first}"
    if op in _SCALING:
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


# ---------------------------------------------------------------------------------------
# fx graph -> Dag (shared by the fx and export tracers)
# ---------------------------------------------------------------------------------------


def _arg_slots(n: fx.Node) -> Iterator[tuple[tuple, Any]]:
    """(position, value) of every argument, lists flattened: (0,), (0, 2), ('dim',)."""
    for i, a in enumerate(n.args):
        if isinstance(a, (list, tuple)):
            for j, x in enumerate(a):
                yield (i, j), x
        else:
            yield (i,), a
    for k, a in n.kwargs.items():
        if isinstance(a, (list, tuple)):
            for j, x in enumerate(a):
                yield (k, j), x
        else:
            yield (k,), a


def _module_path(n: fx.Node) -> str:
    if n.op == "call_module":
        return str(n.target)
    stack = n.meta.get("nn_module_stack")
    if stack:
        path = list(stack.values())[-1][0]
        return str(path).removeprefix("L['self'].").removeprefix("L__self___")
    return ""


def dag_from_graph(gm: fx.GraphModule, values: dict[fx.Node, Any], name: str, tracer: str) -> Dag:
    """Turn a traced GraphModule (with each node's propagated value) into an op-level `Dag`."""
    data: set[fx.Node] = set()
    for n in gm.graph.nodes:
        if n.op == "placeholder":
            if tensors_in(values.get(n)):
                data.add(n)
        elif n.op not in ("output", "get_attr") and tensors_in(values.get(n)) \
                and any(i in data for i in n.all_input_nodes):
            data.add(n)
    modules = dict(gm.named_modules())
    param_owner: dict[int, str] = {}
    all_params = {id(p): p for p in gm.parameters()}
    nodes: list[Node] = []
    arcs: list[Arc] = []
    folded = [n.name for n in gm.graph.nodes if n not in data and n.op not in ("placeholder", "output")]

    def const_roots(x: fx.Node, seen: set) -> list[fx.Node]:
        """get_attr and call_module nodes a folded node is computed from (they hold its parameters)."""
        if x in seen:
            return []
        seen.add(x)
        if x.op == "get_attr":
            return [x]
        own = [x] if x.op == "call_module" else []
        return own + [r for i in x.all_input_nodes if i not in data for r in const_roots(i, seen)]

    for n in gm.graph.nodes:
        if n not in data and n.op != "output":
            continue
        op = op_name(n, modules)
        mod = modules[str(n.target)] if n.op == "call_module" else None
        val = values.get(n)
        ts = tensors_in(val)
        shape = unbatched(ts[0].shape) if isinstance(val, torch.Tensor) or (n.op == "output" and len(ts) == 1) \
            else None
        meta: dict[str, Any] = {"target": _target_str(n), "fx_op": n.op}
        if shape is None and ts:
            meta["shapes"] = [list(unbatched(t.shape)) for t in ts]
        # sources in argument order; constants folded
        sources: dict[fx.Node, list[tuple]] = {}
        const_args: list[str] = []
        const_tensors: list[torch.Tensor] = []
        roots: list[fx.Node] = []
        for pos, a in _arg_slots(n):
            if isinstance(a, fx.Node):
                if a in data:
                    sources.setdefault(a, []).append(pos)
                else:
                    const_args.append(_const_label(a, values))
                    v = values.get(a)
                    if isinstance(v, torch.Tensor):
                        const_tensors.append(v)
                    roots += const_roots(a, set())
            elif a is not None and not isinstance(a, (torch.dtype, torch.device, torch.memory_format)) \
                    and pos != ("inplace",):
                const_args.append(_const_label(a, values))
        params = 0
        owned: list[torch.Tensor] = list(mod.parameters()) if mod is not None else []
        for r in roots:
            if r.op == "call_module":
                owned += list(modules[str(r.target)].parameters())
                continue
            try:
                owned.append(gm.get_parameter(str(r.target)))
            except (AttributeError, TypeError):
                continue
        for p in owned:
            if id(p) in all_params and id(p) not in param_owner:
                param_owner[id(p)] = n.name
                params += p.numel()
            elif id(p) in param_owner and param_owner[id(p)] != n.name:
                meta["shared_params_with"] = param_owner[id(p)]
        consts = [str(r.target) for r in roots if r.op == "get_attr"]
        if consts:
            meta["constants"] = consts
        in_shapes = [unbatched(values[s].shape) for s in sources if isinstance(values.get(s), torch.Tensor)]
        macs = 0 if n.op in ("placeholder", "output") else node_macs(op, mod, in_shapes, shape, const_tensors)
        nodes.append(Node(n.name, op, _module_path(n), shape, params, macs, meta))
        base = module_label(op, mod) if mod is not None else _functional_label(op, const_tensors)
        if op in _SCALING and consts:
            const_args = consts + const_args
        for k, (src, slots) in enumerate(sources.items()):
            kind, label = arc_function(op, slots, len(sources), k, base, const_args)
            ameta: dict[str, Any] = {}
            if len(slots) > 1:
                ameta["multiplicity"] = len(slots)
            if consts and kind in ("identity", "linear"):
                ameta["constants"] = consts
            arcs.append(Arc(src.name, n.name, label, kind, None, ameta))
    inputs = [n.name for n in gm.graph.nodes if n.op == "placeholder" and n in data]
    unused = sum(p.numel() for i, p in all_params.items() if i not in param_owner)
    return Dag.build(nodes, arcs, "op", inputs=inputs, outputs=["output"], name=name,
                     meta={"graph_module": gm, "tracer": tracer, "folded": folded, "unused_params": unused})


def _target_str(n: fx.Node) -> str:
    t = n.target
    if callable(t) and not isinstance(t, str):
        mod = getattr(t, "__module__", None)
        nm = getattr(t, "__qualname__", None) or getattr(t, "__name__", None)
        if nm and not hasattr(t, "_opname"):
            return f"{mod}.{nm}" if mod else nm
    return str(t)


# ---------------------------------------------------------------------------------------
# tracers
# ---------------------------------------------------------------------------------------


def _torchvision_leaves() -> tuple[type, ...]:
    """torchvision.ops modules fx should not enter (as `torchvision.models.feature_extraction` does),
    except the containers (Conv2dNormActivation, MLP, SqueezeExcitation) whose parts we want to see."""
    try:
        import torchvision.ops as tvops
    except ImportError:  # pragma: no cover - torchvision is a requirement
        return ()
    keep_open = (nn.Sequential, tvops.SqueezeExcitation)
    return tuple(c for c in vars(tvops).values()
                 if isinstance(c, type) and issubclass(c, nn.Module) and not issubclass(c, keep_open))


class _Tracer(fx.Tracer):
    """fx tracer that remembers the innermost module being traced when something fails."""

    def __init__(self) -> None:
        super().__init__()
        self.failed_in: str | None = None
        self._leaves = _torchvision_leaves()

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, self._leaves) or super().is_leaf_module(m, qualname)

    def call_module(self, m: nn.Module, forward: Any, args: Any, kwargs: Any) -> Any:
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_in is None:
                self.failed_in = self.path_of_module(m) + f" ({type(m).__name__})"
            raise


def _user_frame(e: BaseException) -> str:
    """'file.py:LINE: code' of the innermost frame outside torch — where the model's code broke."""
    skip = (os.path.dirname(torch.__file__), os.path.dirname(os.path.abspath(__file__)))
    best = ""
    for fs in traceback.extract_tb(e.__traceback__):
        if not os.path.abspath(fs.filename).startswith(skip):
            best = f"{os.path.basename(fs.filename)}:{fs.lineno}: {(fs.line or '').strip()}"
    return best


def _first_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return f"{type(e).__name__}: {s[0] if s else ''}"[:300]


def _fx_graph(model: nn.Module) -> fx.GraphModule:
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as e:
        where = f" in module {tracer.failed_in}" if tracer.failed_in else ""
        line = _user_frame(e)
        raise _Failed(f"fx{where}{' at ' + line if line else ''}: {_first_line(e)}") from e
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


def _export_graph(model: nn.Module, args: tuple) -> fx.GraphModule:
    quiet = [logging.getLogger(n) for n in ("torch.fx.experimental.symbolic_shapes", "torch._dynamo",
                                             "torch.export", "torch._export")]
    for lg in quiet:
        lg.addFilter(_drop)  # export logs whole graphs when it gives up; we report one line
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # export prints the partial graph on failure
            ep = torch.export.export(model, args, strict=False)
    except Exception as e:
        line = _user_frame(e)
        raise _Failed(f"export{' at ' + line if line else ''}: {_first_line(e)}") from e
    finally:
        for lg in quiet:
            lg.removeFilter(_drop)
    return ep.module()


def _drop(record: logging.LogRecord) -> bool:
    return False


class _Failed(Exception):
    """One tracer's failure, as one line."""


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode for the duration, then restore each one's flag."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, f in flags:
            m.training = f


def _values(gm: fx.GraphModule, args: tuple) -> dict[fx.Node, Any]:
    try:
        return propagate(gm, args)
    except ShapeError:
        return propagate(gm, args, real=True)  # ops without meta kernels: pay one real forward


def trace(model: nn.Module, example_input: torch.Tensor | tuple[torch.Tensor, ...], name: str = "") -> Dag:
    """The op-level DAG-DNN of `model` (in eval mode) at `example_input` (with batch dim).

    `dag.meta["example_input"]` is `example_input`; `dag.meta["graph_module"]` is the traced GraphModule (node names = node ids; None
    for the recording fallback; it shares submodules with `model`, so copy before
    rewriting), `dag.meta["tracer"]` says which tracer succeeded. The model's
    training flags are restored afterwards. Raises `TraceError` when nothing works.
    """
    args = tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)
    name = name or type(model).__name__
    attempts: list[str] = []
    types = {path: type(m).__name__ for path, m in model.named_modules()}  # GraphModules lose the classes
    with eval_mode(model):
        for tracer in ("fx", "export"):
            try:
                gm = _fx_graph(model) if tracer == "fx" else _export_graph(model, args)
                if tracer == "fx":
                    gm.eval()
                dag = dag_from_graph(gm, _values(gm, args), name, tracer)
                dag.meta.update(module_types=types, example_input=example_input)
                return dag
            except _Failed as e:
                attempts.append(str(e))
            except (ShapeError, ValueError) as e:
                attempts.append(f"{tracer}: {_first_line(e)}")
        from explorer.record import record_dag  # noqa: PLC0415 - the last resort
        try:
            dag = record_dag(model, args, name)
            dag.meta.update(module_types=types, example_input=example_input)
            return dag
        except TraceError as e:
            attempts.append(f"hooks: {e}")
            partial = e.partial
    raise TraceError(f"could not trace {name}: " + "; ".join(attempts)
                     + ". Make the failing code traceable (no control flow on tensor values), "
                       "or wrap it in a leaf module.", partial, tuple(attempts))
