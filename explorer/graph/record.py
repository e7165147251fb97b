"""The last-resort tracer: record one real forward pass (leaf modules + torch functions).

When `torch.fx` and `torch.export` both fail, one real forward is recorded: hooks on the
leaf modules and a `TorchFunctionMode` for the torch functions called between them, linked
by tensor identity. There is no GraphModule (`dag.meta["graph_module"] is None`,
`dag.meta["tracer"] == "hooks"`), so the graph can be drawn but not evaluated.

A recording is the one path the example took, so it is only the model when no decision
depended on the input's *values*. Every such decision (`bool`, `item`, `int`, `tolist` of a
tensor computed from the input: `if x.sum() > 0:`, a loop over a data-dependent count, a
detection head's thresholds) is caught and refused with the file and line, never drawn as
if it were the model. So is an output that does not come from the input, or from none of
the model's parameters.

    >>> from torch import nn
    >>> class Gate(nn.Module):
    ...     def __init__(self):
    ...         super().__init__(); self.a = nn.Linear(2, 2); self.b = nn.Linear(2, 2)
    ...     def forward(self, x):
    ...         return self.a(x) if x.sum() > 0 else self.b(x)
    >>> record_dag(Gate(), (torch.ones(1, 2),), "gate")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    explorer.graph.diagnostics.TraceError: gate decides on the input's values (bool of a tensor at ...
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from explorer.concurrency import exclusive, this_thread_only
from explorer.graph.dag import Arc, Dag, DagError, Node
from explorer.graph.macs import node_macs
from explorer.graph.shapes import BatchDim, per_sample_shape, tensors_in
from explorer.graph.diagnostics import TraceError, one_line, user_frame, user_stack_line
from explorer.graph.ops import arc_function, module_label, normalise

_SKIP = {"__get__", "__set__", "size", "dim", "numel", "__bool__", "item", "tolist", "__len__",
         "__repr__", "__format__", "__index__", "__int__", "__float__", "stride", "is_contiguous"}


# Calls that turn a tensor into a Python value: on a tensor computed from the input, a decision
# on the input's values follows (the recording then holds one branch of the model, not the model).
_DECISIONS = {"__bool__": "bool", "item": "item()", "tolist": "tolist()", "__int__": "int", "__index__": "an index",
              "__float__": "float"}


def _flat_positions(args: tuple, kwargs: dict) -> list[tuple[tuple, Any]]:
    out: list[tuple[tuple, Any]] = []

    def walk(pos: tuple, a: Any) -> None:
        if isinstance(a, (list, tuple)):
            for j, x in enumerate(a):
                walk((*pos, j), x)
        elif isinstance(a, dict):
            for k, x in a.items():
                walk((*pos, k), x)
        else:
            out.append((pos, a))

    for i, a in enumerate(args):
        walk((i,), a)
    for k, a in kwargs.items():
        walk((k,), a)
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
        self.shapes: dict[str, tuple[int, ...]] = {}  # full shapes (batch included)
        self.batch = 1
        self.decisions: list[str] = []  # where the forward decided on the input's values
        self.writes: list[str] = []  # in-place writes through a view or by assignment into a slice

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
        shape = None
        if isinstance(out, torch.Tensor):
            bd = BatchDim(0) if out.dim() and out.shape[0] == self.batch else None
            shape, batch_meta = per_sample_shape(tuple(out.shape), bd, self.batch)
            meta.update(batch_meta)
        else:
            meta["shapes"] = [list(t.shape) for t in ts]
        if consts:
            meta["constants"] = consts
        in_full = [self.shapes[s] for s in sources if s in self.shapes]
        full = tuple(out.shape) if isinstance(out, torch.Tensor) else None
        macs = round(node_macs(op, mod, in_full, full) / self.batch)
        self.nodes.append(Node(node_id, op, module_path, shape, params, macs, meta))
        if full is not None:
            self.shapes[node_id] = full
        base = module_label(op, mod) if mod is not None else op
        for k, (src, slots) in enumerate(sources.items()):
            kind, label = arc_function(op, slots, len(sources), k, base, consts + const_args)
            self.arcs.append(Arc(src, node_id, label, kind, None,
                                 {"multiplicity": len(slots)} if len(slots) > 1 else {}))
        self.register(node_id, out)

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        fname = getattr(func, "__name__", "")
        what = _DECISIONS.get(fname)
        data = bool(args) and isinstance(args[0], torch.Tensor) and id(args[0]) in self.producer
        if what and data:
            self.decisions.append(f"{what} of a tensor at {user_stack_line() or 'an unknown line'}")
        if data and (fname == "__setitem__" or (fname.endswith("_") and not fname.startswith("_")
                                                and args[0]._base is not None)):
            self.writes.append(f"{fname} at {user_stack_line() or 'an unknown line'}")
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
    with the graph recorded up to there in `.partial`. Runs under `explorer.concurrency.exclusive()`;
    its hooks see this thread's forward only (other sessions may run the same shared model meanwhile).
    """
    with exclusive():
        return _record(model, args, name)


def _record(model: nn.Module, args: tuple, name: str) -> Dag:
    rec = _Recorder(model)
    path = {m: k for k, m in model.named_modules()}
    handles = []

    @this_thread_only
    def pre(m: nn.Module, a: tuple, kw: dict) -> None:
        rec.stack.append(path[m])
        if _leaf(m):
            rec.depth += 1

    @this_thread_only
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
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    rec.batch = int(tensors[0].shape[0]) if tensors and tensors[0].dim() else 1
    for i, a in enumerate(args):
        if not isinstance(a, torch.Tensor):
            continue
        nid = arg_names[i] if i < len(arg_names) and arg_names[i] not in ("args", "kwargs") else f"input_{i}"
        nid = rec.unique(nid)
        rec.nodes.append(Node(nid, "input", "", tuple(a.shape[1:]), 0, 0, {"target": nid, "fx_op": "placeholder"}))
        rec.shapes[nid] = tuple(a.shape)
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
    _refuse(model, name, out, rec)
    srcs: dict[str, list[tuple]] = {}
    for pos, t in _flat_positions((out,), {}):
        if isinstance(t, torch.Tensor) and id(t) in rec.producer:
            srcs.setdefault(rec.producer[id(t)], []).append(pos)
    ts = tensors_in(out)
    shape = tuple(ts[0].shape[1:]) if len(ts) == 1 else None
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
                           "unused_params": unused, "batch_size": rec.batch, "batch_layout": "assumed"})


def _refuse(model: nn.Module, name: str, out: Any, rec: _Recorder) -> None:
    """Refuse a recording that is not the model: a decision on the input's values, an output that
    holds no tensor, or one that depends on no input or on none of the model's parameters."""
    if rec.decisions:
        more = f" (and {len(rec.decisions) - 1} more)" if len(rec.decisions) > 1 else ""
        raise TraceError(f"{name} decides on the input's values ({rec.decisions[0]}{more}), so one recorded forward "
                         "is one branch of the model, not the model; trace a sub-module without that decision "
                         "(spec MODEL@submodule), or write the branch with torch.cond / torch.where so that "
                         "torch.export can trace both sides")
    if rec.writes:
        raise TraceError(f"{name} writes in place into a tensor other ops read ({rec.writes[0]}); a recorded graph "
                         "would show them reading the value from before the write. Write it functionally "
                         "(h = torch.cat(...), h = h * mask) or make the model traceable by torch.export")
    ts = tensors_in(out)
    if not ts:
        raise TraceError(f"{name}'s forward returned {type(out).__name__}, no tensor: there is no output to draw; "
                         "return the tensor(s) the model computes")
    if not any(id(t) in rec.producer for t in ts):
        raise TraceError(f"{name}'s output does not follow from its input through ops the recording sees (a "
                         f"detection head's post-processing builds new tensors in custom ops){_subs(model)}")
    total = sum(p.numel() for p in model.parameters())
    if total and not rec.param_owner:
        raise TraceError(f"{name}'s output comes from none of its {total:,} parameters (e.g. a detection head's "
                         f"post-processing that builds new tensors){_subs(model)}")


def _subs(model: nn.Module) -> str:
    """'; trace a sub-module instead, e.g. MODEL@backbone (2.1M parameters), ...' for the biggest children."""
    kids = sorted(((sum(p.numel() for p in m.parameters()), n) for n, m in model.named_children()), reverse=True)
    kids = [(k, n) for k, n in kids if k][:3]
    if not kids:
        return "; return what the layers compute from the input"
    return "; trace a sub-module instead: " + ", ".join(f"MODEL@{n} ({k / 1e6:.2f}M parameters)" for k, n in kids)
