"""Op-level graph rewrites: a removed arc `u -> v` becomes zeros of `u`'s shape in `v`'s inputs.

The rewrite works on a `torch.fx.GraphModule` whose node names are the op-level DAG's
node ids (`explorer.graph.trace`). It copies the module, swaps each removed input of a
surviving node for a `torch.zeros` of the same shape, dtype and device (the batch
dimension follows the input's), and drops the nodes nothing uses any more. Submodules
and parameters are all kept under their original names, so state dicts and masks
still line up with the dense model; `dead_parameters` names the ones no surviving op reads.

    >>> import torch, torch.fx
    >>> class Res(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__(); self.f = torch.nn.Linear(3, 3)
    ...     def forward(self, x):
    ...         return self.f(x) + x
    >>> gm = torch.fx.symbolic_trace(Res())
    >>> x = torch.randn(2, 3)
    >>> pruned = zero_arcs(gm, [("f", "add")], x)
    >>> torch.equal(pruned(x), x), dead_parameters(gm, pruned)
    (True, ['f.bias', 'f.weight'])
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Iterable

import torch
import torch.fx as fx
from torch.fx.passes.shape_prop import ShapeProp


class RewriteError(ValueError):
    """An arc the rewrite cannot replace by zeros; the message names it and the fix."""


def full_shapes(gm: fx.GraphModule, example_input: torch.Tensor | tuple) -> dict[str, tuple[tuple, torch.dtype, bool]]:
    """Per fx node: (shape with batch, dtype, batch-first?) measured at batch size 2, so a
    leading batch dimension can be told from a fixed one (a parameter, a constant)."""
    xs = example_input if isinstance(example_input, tuple) else (example_input,)
    x2 = tuple(torch.cat([x, x], 0) if isinstance(x, torch.Tensor) else x for x in xs)
    x3 = tuple(torch.cat([x, x, x], 0) if isinstance(x, torch.Tensor) else x for x in xs)
    b0 = next((x.shape[0] for x in xs if isinstance(x, torch.Tensor) and x.dim() > 0), 1)
    out: dict[str, tuple[tuple, torch.dtype, bool]] = {}
    shapes = []
    for batch in (x2, x3):
        g = copy.deepcopy(gm)
        was = g.training
        g.eval()
        with torch.no_grad():
            ShapeProp(g).propagate(*batch)
        g.train(was)
        shapes.append({n.name: n.meta.get("tensor_meta") for n in g.graph.nodes})
    for name, tm2 in shapes[0].items():
        tm3 = shapes[1].get(name)
        if tm2 is None or not hasattr(tm2, "shape") or tm3 is None or not hasattr(tm3, "shape"):
            continue
        s2, s3 = tuple(tm2.shape), tuple(tm3.shape)
        batched = len(s2) > 0 and len(s2) == len(s3) and s2[0] == 2 * b0 and s3[0] == 3 * b0 and s2[1:] == s3[1:]
        out[name] = (s2, tm2.dtype, batched)
    return out


def zero_arcs(
    gm: fx.GraphModule,
    arcs: Iterable[tuple[str, str]],
    example_input: torch.Tensor | tuple,
) -> fx.GraphModule:
    """A copy of `gm` in which each `src` input of `dst` is replaced by zeros of `src`'s shape.

    `arcs` name fx nodes (the op-level DAG's ids); `dst` must survive (arcs into removed
    nodes need no rewrite: those nodes disappear when nothing reads them).
    """
    arcs = list(arcs)
    out = copy.deepcopy(gm)
    if not arcs:
        return out
    g = out.graph
    by_name = {n.name: n for n in g.nodes}
    shapes = full_shapes(gm, example_input)
    placeholders = [n for n in g.nodes if n.op == "placeholder"]
    if not placeholders:
        raise RewriteError("the traced graph has no input placeholder")
    x = placeholders[0]
    zeros: dict[str, fx.Node] = {}
    for src, dst in arcs:
        for end in (src, dst):
            if end not in by_name:
                raise RewriteError(f"arc {src}->{dst}: the traced graph has no node {end!r}; "
                                   "rebuild the op-level DAG from this model")
        u, v = by_name[src], by_name[dst]
        if u not in v.all_input_nodes:
            raise RewriteError(f"arc {src}->{dst}: {dst} does not read {src} in the traced graph")
        if src not in shapes:
            raise RewriteError(f"arc {src}->{dst}: {src} is not a tensor (it holds "
                               f"{type(u.meta.get('val', None)).__name__}); only tensor inputs can be zeroed")
        if src not in zeros:
            shape, dtype, batched = shapes[src]
            with g.inserting_before(v):
                dev = g.call_function(getattr, (x, "device"))
                if batched:
                    b = g.call_function(operator.getitem, (g.call_function(getattr, (x, "shape")), 0))
                    size = (b, *shape[1:])
                else:
                    size = tuple(shape)
                z = g.call_function(torch.zeros, (size,), {"dtype": dtype, "device": dev})
                z.name = _fresh(g, f"zeros_{src}")
            zeros[src] = z
        z = zeros[src]
        # the zeros must come before their reader in the graph order
        if not _before(g, z, v):
            v.prepend(z)
        v.replace_input_with(u, z)
    g.eliminate_dead_code()
    g.lint()
    out.recompile()
    return out


def dead_parameters(before: fx.GraphModule, after: fx.GraphModule) -> list[str]:
    """Parameters read by some op of `before` and by no op of `after` (sorted names)."""
    return sorted(_used_parameters(before) - _used_parameters(after))


def _used_parameters(gm: fx.GraphModule) -> set[str]:
    names = {n for n, _ in gm.named_parameters()}
    used: set[str] = set()
    for node in gm.graph.nodes:
        if node.op == "call_module":
            prefix = str(node.target) + "."
            used.update(n for n in names if n.startswith(prefix))
        elif node.op == "get_attr":
            t = str(node.target)
            used.update(n for n in names if n == t or n.startswith(t + "."))
    return used


def _before(g: fx.Graph, a: fx.Node, b: fx.Node) -> bool:
    for n in g.nodes:
        if n is a:
            return True
        if n is b:
            return False
    return False


def _fresh(g: fx.Graph, base: str) -> str:
    names = {n.name for n in g.nodes}
    name, k = base, 1
    while name in names:
        k += 1
        name = f"{base}_{k}"
    return name
