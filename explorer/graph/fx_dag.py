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
from explorer.graph.shapes import node_macs, tensors_in, unbatched


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
        in_shapes = [unbatched(values[s].shape) for s in sources if isinstance(values.get(s), torch.Tensor)]
        macs = 0 if n.op in ("placeholder", "output") else node_macs(op, mod, in_shapes, shape, const_tensors)
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
