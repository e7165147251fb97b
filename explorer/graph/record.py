"""The last-resort tracer: record one real forward pass (leaf modules + torch functions).

`torch.fx` and `torch.export` both fail on control flow that depends on tensor
*values* (`if x.sum() > 0:`). A real forward has no such problem: it takes one path.
`record_dag` registers hooks on the leaf modules and a `TorchFunctionMode` for the
torch functions called between them, and links them by tensor identity. The graph is
the one path the example input took; there is no GraphModule
(`dag.meta["graph_module"] is None`, `dag.meta["tracer"] == "hooks"`).

Tensors that do not descend from an input (parameters, constants) are folded into
their consumers, as in `explorer.graph.trace`; nodes that never reach the output (e.g.
the `sum > 0` that fed an `if`) are dropped and listed in `dag.meta["dead"]`.

    >>> from torch import nn
    >>> class Gate(nn.Module):
    ...     def __init__(self):
    ...         super().__init__(); self.a = nn.Linear(2, 2); self.b = nn.Linear(2, 2)
    ...     def forward(self, x):
    ...         return self.a(x) if x.sum() > 0 else self.b(x)
    >>> dag = record_dag(Gate(), (torch.ones(1, 2),), "gate")
    >>> [n.id for n in dag.nodes], dag.meta["dead"]
    (['x', 'a', 'output'], ['sum', 'gt'])
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from explorer.graph.dag import Arc, Dag, DagError, Node
from explorer.graph.shapes import node_macs, tensors_in, unbatched
from explorer.graph.diagnostics import TraceError, one_line, user_frame
from explorer.graph.ops import arc_function, module_label, normalise

_SKIP = {"__get__", "__set__", "size", "dim", "numel", "__bool__", "item", "tolist", "__len__",
         "__repr__", "__format__", "__index__", "__int__", "__float__", "stride", "is_contiguous"}


def _flat_positions(args: tuple, kwargs: dict) -> list[tuple[tuple, Any]]:
    out: list[tuple[tuple, Any]] = []
    for i, a in enumerate(args):
        if isinstance(a, (list, tuple)):
            out += [((i, j), x) for j, x in enumerate(a)]
        else:
            out.append(((i,), a))
    for k, a in kwargs.items():
        out.append(((k,), a))
    return out


def _fn_name(func: Any) -> str:
    name = getattr(func, "__name__", None) or str(func)
    if name == "__get__":
        name = getattr(getattr(func, "__self__", None), "__name__", "get")
    return normalise(name)


class _Recorder(TorchFunctionMode):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.nodes: list[Node] = []
        self.arcs: list[Arc] = []
        self.producer: dict[int, str] = {}
        self.keep: list[torch.Tensor] = []  # tensors stay alive so their ids stay unique
        self.used: dict[str, int] = {}
        self.depth = 0  # >0 while inside a leaf module
        self.stack: list[str] = []  # module path stack, for error messages
        self.param_name = {id(p): k for k, p in model.named_parameters()}
        self.param_owner: dict[int, str] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}

    def unique(self, base: str) -> str:
        base = base.replace(".", "_") or "op"
        k = self.used.get(base, 0)
        self.used[base] = k + 1
        return base if k == 0 else f"{base}_{k}"

    def register(self, node_id: str, value: Any) -> None:
        for t in tensors_in(value):
            self.producer[id(t)] = node_id
            self.keep.append(t)

    def add(self, op: str, module_path: str, mod: nn.Module | None, args: tuple, kwargs: dict,
            out: Any, meta: dict[str, Any]) -> None:
        pos_vals = _flat_positions(args, kwargs)
        sources: dict[str, list[tuple]] = {}
        const_args: list[str] = []
        consts: list[str] = []
        params = 0
        owned = list(mod.parameters()) if mod is not None else []
        for pos, v in pos_vals:
            if isinstance(v, torch.Tensor) and id(v) in self.producer:
                sources.setdefault(self.producer[id(v)], []).append(pos)
            elif isinstance(v, torch.Tensor):
                if id(v) in self.param_name:
                    consts.append(self.param_name[id(v)])
                    owned.append(v)
                const_args.append(self.param_name.get(id(v), f"tensor{tuple(v.shape)}"))
            elif v is not None and isinstance(v, (int, float, bool, str)):
                const_args.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        if not sources:
            return  # a constant: folded into whatever consumes it
        node_id = self.unique(module_path if mod is not None else op)
        for p in owned:
            if id(p) not in self.param_owner:
                self.param_owner[id(p)] = node_id
                params += p.numel()
        ts = tensors_in(out)
        shape = unbatched(out.shape) if isinstance(out, torch.Tensor) else None
        if shape is None:
            meta["shapes"] = [list(unbatched(t.shape)) for t in ts]
        if consts:
            meta["constants"] = consts
        in_shapes = [self.shapes[s] for s in sources if s in self.shapes]
        macs = node_macs(op, mod, in_shapes, shape)
        self.nodes.append(Node(node_id, op, module_path, shape, params, macs, meta))
        if shape is not None:
            self.shapes[node_id] = shape
        base = module_label(op, mod) if mod is not None else op
        for k, (src, slots) in enumerate(sources.items()):
            kind, label = arc_function(op, slots, len(sources), k, base, consts + const_args)
            self.arcs.append(Arc(src, node_id, label, kind, None,
                                 {"multiplicity": len(slots)} if len(slots) > 1 else {}))
        self.register(node_id, out)

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.depth == 0 and tensors_in(out):
            name = _fn_name(func)
            if name not in _SKIP:
                self.add(name, self.stack[-1] if self.stack else "", None, args, kwargs, out,
                         {"target": getattr(func, "__qualname__", str(func)), "fx_op": "call_function"})
        return out


def _leaf(m: nn.Module) -> bool:
    return next(iter(m.children()), None) is None


def record_dag(model: nn.Module, args: tuple, name: str = "") -> Dag:
    """Op-level `Dag` of one real forward of `model` on `args` (see the module doc).

    Raises `TraceError` naming the module (and source line) where the forward failed,
    with the graph recorded up to there in `.partial`.
    """
    rec = _Recorder(model)
    path = {m: k for k, m in model.named_modules()}
    handles = []

    def pre(m: nn.Module, a: tuple, kw: dict) -> None:
        rec.stack.append(path[m])
        if _leaf(m):
            rec.depth += 1

    def post(m: nn.Module, a: tuple, kw: dict, out: Any) -> None:
        rec.stack.pop()
        if _leaf(m):
            rec.depth -= 1
            if rec.depth == 0:
                with torch._C.DisableTorchFunction():
                    rec.add(type(m).__name__.lower(), path[m], m, a, kw, out,
                            {"target": path[m], "fx_op": "call_module"})

    for m in model.modules():
        if m is model:
            continue  # the root's forward is what we record, op by op (even when it has no children)
        handles.append(m.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(m.register_forward_hook(post, with_kwargs=True))
    try:
        arg_names = list(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        arg_names = []
    inputs = []
    for i, a in enumerate(args):
        nid = arg_names[i] if i < len(arg_names) and arg_names[i] not in ("args", "kwargs") else f"input_{i}"
        nid = rec.unique(nid)
        rec.nodes.append(Node(nid, "input", "", unbatched(a.shape), 0, 0, {"target": nid, "fx_op": "placeholder"}))
        rec.shapes[nid] = unbatched(a.shape)
        rec.register(nid, a)
        inputs.append(nid)
    try:
        with torch.no_grad(), rec:
            out = model(*args)
    except Exception as e:
        where = rec.stack[-1] if rec.stack else ""
        mod_desc = f" in module {where or '<root>'} ({type(model.get_submodule(where)).__name__})" if rec.stack else ""
        line = user_frame(e)
        partial = None
        try:
            partial = Dag.build(rec.nodes, rec.arcs, "op", inputs=inputs, outputs=None, name=name,
                                meta={"graph_module": None, "tracer": "hooks", "partial": True})
        except DagError:
            pass
        raise TraceError(f"the forward pass failed{mod_desc}{' at ' + line if line else ''}: {one_line(e)}",
                         partial) from e
    finally:
        for h in handles:
            h.remove()
    srcs: dict[str, list[tuple]] = {}
    for k, t in enumerate(tensors_in(out)):
        if id(t) in rec.producer:
            srcs.setdefault(rec.producer[id(t)], []).append((k,))
    ts = tensors_in(out)
    shape = unbatched(ts[0].shape) if len(ts) == 1 else None
    rec.nodes.append(Node("output", "output", "", shape, 0, 0, {"target": "output", "fx_op": "output"}))
    for k, (src, slots) in enumerate(srcs.items()):
        kind, label = arc_function("output", slots, len(srcs), k, "output", [])
        rec.arcs.append(Arc(src, "output", label, kind))
    # keep what reaches the output
    alive = {"output"}
    preds: dict[str, list[str]] = {}
    for a in rec.arcs:
        preds.setdefault(a.dst, []).append(a.src)
    todo = ["output"]
    while todo:
        for p in preds.get(todo.pop(), []):
            if p not in alive:
                alive.add(p)
                todo.append(p)
    alive |= set(inputs)
    dead = [n.id for n in rec.nodes if n.id not in alive]
    nodes = [n for n in rec.nodes if n.id in alive]
    arcs = [a for a in rec.arcs if a.src in alive and a.dst in alive]
    unused = sum(p.numel() for p in model.parameters() if id(p) not in rec.param_owner)
    return Dag.build(nodes, arcs, "op", inputs=inputs, outputs=["output"], name=name,
                     meta={"graph_module": None, "tracer": "hooks", "folded": [], "dead": dead,
                           "unused_params": unused})
