"""A traced `torch.fx.GraphModule` as an op-level DAG-DNN: one node per data tensor.

`dag_from_graph(gm, values, name, tracer)` is shared by the fx and export tracers
(`explorer.graph.trace`) and by the pruning rewrite, which re-reads its rewritten graph.
Parameters, buffers, literals and sub-graphs computed from them alone are folded into
the nodes that consume them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import fx

from explorer.graph.dag import Arc, Dag, Node
from explorer.graph.ops import SCALING, arc_function, const_label, functional_label, module_label, op_name
from explorer.graph.macs import node_macs
from explorer.graph.shapes import BatchDim, batch_size, per_sample_shape, tensors_in


def _arg_slots(n: fx.Node) -> Iterator[tuple[tuple, Any]]:
    """(position, value) of every argument, containers flattened: (0,), (0, 2), ('dim',), (0, 'logits')."""
    for i, a in enumerate(n.args):
        yield from _flat((i,), a)
    for k, a in n.kwargs.items():
        yield from _flat((k,), a)


def _flat(pos: tuple, a: Any) -> Iterator[tuple[tuple, Any]]:
    if isinstance(a, (list, tuple)):
        for j, x in enumerate(a):
            yield from _flat((*pos, j), x)
    elif isinstance(a, dict):
        for k, x in a.items():
            yield from _flat((*pos, k), x)
    else:
        yield pos, a


def _module_path(n: fx.Node) -> str:
    if n.op == "call_module":
        return str(n.target)
    stack = n.meta.get("nn_module_stack")
    if stack:
        path = list(stack.values())[-1][0]
        return str(path).removeprefix("L['self'].").removeprefix("L__self___")
    return ""


def dag_from_graph(gm: fx.GraphModule, values: dict[fx.Node, Any], name: str, tracer: str,
                   layout: dict[fx.Node, BatchDim | None] | None = None) -> Dag:
    """Turn a traced GraphModule (with each node's propagated value at the example input) into an
    op-level `Dag`. `layout` (from `shapes.batch_layout`) says where each value's batch dimension
    is; without it a leading dimension equal to the example's batch size is taken as the batch.
    Node shapes are per sample where the batch comes first, full (and marked) elsewhere; node MACs
    are per example, counted on the full shapes."""
    placeholders = [values.get(n) for n in gm.graph.nodes if n.op == "placeholder"]
    b0 = batch_size(tuple(placeholders)) or 1

    def bdim(n: fx.Node, t: torch.Tensor) -> BatchDim | None:
        if layout is not None:
            b = layout.get(n)
            return b if isinstance(b, BatchDim) else None
        return BatchDim(0) if t.dim() > 0 and t.shape[0] == b0 else None

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
        meta: dict[str, Any] = {"target": _target_str(n), "fx_op": n.op}
        shape = None
        if isinstance(val, torch.Tensor):
            shape, batch_meta = per_sample_shape(tuple(val.shape), bdim(n, val), b0)
            meta.update(batch_meta)
        elif n.op == "output" and len(ts) == 1:
            shape = tuple(ts[0].shape[1:]) if ts[0].dim() and ts[0].shape[0] == b0 else tuple(ts[0].shape)
        elif ts:
            per = layout.get(n) if layout is not None else None
            if isinstance(per, list) and len(per) == len(ts):
                meta["shapes"] = [list(per_sample_shape(tuple(t.shape), bd, b0)[0]) for t, bd in zip(ts, per)]
            else:
                meta["shapes"] = [list(t.shape[1:] if t.dim() and t.shape[0] == b0 else t.shape) for t in ts]
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
                    const_args.append(const_label(a, values))
                    v = values.get(a)
                    if isinstance(v, torch.Tensor):
                        const_tensors.append(v)
                    roots += const_roots(a, set())
            elif a is not None and not isinstance(a, (torch.dtype, torch.device, torch.memory_format)) \
                    and pos != ("inplace",):
                const_args.append(const_label(a, values))
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
        in_full = [tuple(values[s].shape) for s in sources if isinstance(values.get(s), torch.Tensor)]
        out_full = tuple(val.shape) if isinstance(val, torch.Tensor) else None
        macs = 0 if n.op in ("placeholder", "output") else \
            round(node_macs(op, mod, in_full, out_full, const_tensors) / b0)
        nodes.append(Node(n.name, op, _module_path(n), shape, params, macs, meta))
        base = module_label(op, mod) if mod is not None else functional_label(op, const_tensors)
        if op in SCALING and consts:
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
    out_id = next(n.name for n in gm.graph.nodes if n.op == "output")
    unused = sum(p.numel() for i, p in all_params.items() if i not in param_owner)
    return Dag.build(nodes, arcs, "op", inputs=inputs, outputs=[out_id], name=name,
                     meta={"graph_module": gm, "tracer": tracer, "folded": folded, "unused_params": unused,
                           "batch_size": b0, "batch_layout": "measured" if layout is not None else "assumed"})


def _target_str(n: fx.Node) -> str:
    t = n.target
    if callable(t) and not isinstance(t, str):
        mod = getattr(t, "__module__", None)
        nm = getattr(t, "__qualname__", None) or getattr(t, "__name__", None)
        if nm and not hasattr(t, "_opname"):
            return f"{mod}.{nm}" if mod else nm
    return str(t)
