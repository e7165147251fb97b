"""In-place mutation in a traced graph: where a graph's arcs would lie.

A graph's arcs say which values each op reads. An op that writes into a tensor in place —
`h[:, :4] *= 2`, `h[:, -2:] = 0`, `x.add_(y)` on a view — changes a value other nodes read
later, but the graph still shows them reading the value from before the write. The
tracers therefore look for such writes (`first_mutation`) and trace those models
functionally instead (torch.export with decompositions: the writes become
`slice_scatter`s whose arcs are true).

An in-place op on a value nothing else reads (`out += identity` in a ResNet block, ReLU with
`inplace=True` on a fresh tensor) is harmless and left alone.

    >>> import torch
    >>> class M(torch.nn.Module):
    ...     def forward(self, x):
    ...         h = x * 1
    ...         h[:, :2].mul_(2)  # a write through a view: h changes
    ...         return h + 1
    >>> describe(first_mutation(torch.fx.symbolic_trace(M())))
    'mul_'
    >>> first_mutation(torch.fx.symbolic_trace(torch.nn.ReLU(inplace=True))) is None
    True
"""

from __future__ import annotations

import operator

from torch import fx

# ops whose output is a view of their first input: writing into it writes into that input
VIEW_OPS = frozenset({"getitem", "slice", "select", "view", "narrow", "transpose", "permute", "expand", "unsqueeze",
                      "squeeze", "diagonal", "as_strided", "unflatten", "flatten", "t", "alias", "unbind", "split",
                      "chunk", "view_as", "reshape", "_unsafe_view"})
_INPLACE_OPERATORS = {operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.ifloordiv,
                      operator.imod, operator.ipow, operator.iand, operator.ior, operator.ixor, operator.imatmul}


def _name(n: fx.Node) -> str:
    t = n.target
    if isinstance(t, str):
        return t
    name = getattr(t, "__name__", "") or str(t)
    overload = getattr(t, "_overloadpacket", None)
    if overload is not None:
        name = getattr(overload, "__name__", name)
    return name.split(".")[0]


def _writes(n: fx.Node) -> bool:
    if n.op == "call_function" and n.target in (operator.setitem,):
        return True
    if n.op == "call_function" and n.target in _INPLACE_OPERATORS:
        return True
    if n.op in ("call_method", "call_function"):
        name = _name(n)
        return name.endswith("_") and not name.startswith("_") and name not in ("requires_grad_",)
    return False


def first_mutation(gm: fx.GraphModule) -> fx.Node | None:
    """The first node that writes in place into a value another node reads (through a view, or
    read after the write); None when every write is harmless."""
    order = {n: k for k, n in enumerate(gm.graph.nodes)}
    for n in gm.graph.nodes:
        if not _writes(n) or not n.args or not isinstance(n.args[0], fx.Node):
            continue
        target = n.args[0]
        if n.op == "call_function" and n.target is operator.setitem:
            return n
        if target.op in ("call_function", "call_method") and _name(target) in VIEW_OPS:
            return n  # a write through a view reaches the viewed tensor
        if any(order[u] > order[n] for u in target.users if u is not n):
            return n  # the written value is read again after the write
    return None


def describe(n: fx.Node) -> str:
    """'mul_ at model.py:12: h[:, :4] *= 2' (the user's line when the tracer recorded it)."""
    where = ""
    trace = n.meta.get("stack_trace") or ""
    lines = [ln.strip() for ln in trace.strip().splitlines() if ln.strip()]
    for k in range(len(lines) - 1, -1, -1):
        if lines[k].startswith("File "):
            file_part = lines[k].split(",")
            fname = file_part[0].removeprefix('File "').rstrip('"').rsplit("/", 1)[-1]
            line_no = file_part[1].strip().removeprefix("line ") if len(file_part) > 1 else "?"
            code = lines[k + 1] if k + 1 < len(lines) else ""
            where = f" at {fname}:{line_no}: {code}"
            break
    return f"{_name(n)}{where}"
