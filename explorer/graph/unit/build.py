"""The unit level: a network as a DAG of neurons and channels (docs/science.md §1, granularity "unit").

`unit_dag(model, example_input)` traces the model with torch.fx and propagates, for each
traced value, an affine expression over the unit nodes made so far (`explorer.graph.unit.expr`).
Nodes are made only where the network is nonlinear:

- the input: one node per feature (flat input) or per channel (image/sequence input);
- every activation (ReLU, LeakyReLU, Tanh, Sigmoid, GELU, ...): one node per neuron or
  channel, with `phi` the activation and an arc from every unit whose block is non-zero
  (BatchNorm in eval is folded into the preceding Linear/Conv);
- every max-pool: one node per channel with a *nonlinear* arc from its input channel;
- the output: one node per output feature/channel with identity `phi`.

Linear layers, BatchNorm, average pools, flatten, view, add and cat make no node: a skip
connection `relu(bn(conv(h)) + x)` becomes identity arcs `x[c] -> conv2[c]` beside the
kernel arcs from `h`, spanning levels; DenseNet's cat just concatenates unit lists.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> dag = unit_dag(net, torch.randn(1, 3), "tiny")
    >>> dag
    Dag(tiny, unit: 9 nodes, 20 arcs, levels 0..2)
    >>> dag.levels()[1][:2], dag.node("0[1]").meta["phi"]
    (['0[0]', '0[1]'], 'relu')
    >>> dag.in_arcs("out[0]")[0].meta
    {'param': '2.weight', 'index': [0, 0]}

The numeric structure (the blocks, biases and activations) is kept in
`dag.meta["unit_net"]`, a `UnitNet`, from which `explorer.lifting.numeric` builds the matrices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from explorer.concurrency.gc_pause import paused_gc
from explorer.graph.dag import Arc, Dag, Node
from explorer.graph.unit.expr import Term
from explorer.graph.unit.net import Group
from explorer.graph.unit.ops import UnitLevelError, kernel_label
from explorer.graph.unit.tracer import UnitTracer

MAX_PARAMS = 2_000_000  # the unit level draws every weight: beyond this it is the wrong view


def _arcs_of_group(g: Group, groups: dict[str, Group], params: dict[str, np.ndarray]) -> list[Arc]:
    arcs: list[Arc] = []
    if g.pool is not None:
        src = groups[g.pool_src]
        return [Arc(src.node_id(c), g.node_id(c), g.pool.label, "nonlinear", None, {"param": None})
                for c in range(g.units)]
    for s, t in g.terms.items():
        src = groups[s]
        coo = t.W.tocoo()
        if coo.nnz == 0:
            continue
        j, u = coo.row // g.block, coo.col // src.block
        key = j.astype(np.int64) * src.units + u
        keys, inv = np.unique(key, return_inverse=True)
        sq = np.bincount(inv, weights=coo.data ** 2)
        val = np.bincount(inv, weights=coo.data)
        scalar = g.block == 1 and src.block == 1
        pure = t.param is None and not t.ops
        for kk, ss, vv in zip(keys, sq, val):
            if ss == 0:
                continue
            jj, uu = int(kk // src.units), int(kk % src.units)
            meta, label = _arc_meta(t, jj, uu, params)
            if pure:
                kind, label = "identity", "id"
            else:
                kind = "linear"
                if label is None:
                    label = (f"w={vv:.3g}" if scalar else f"block ‖·‖={np.sqrt(ss):.3g}")
                    if t.ops:
                        label += " (" + ", ".join(t.ops) + ")"
            arcs.append(Arc(src.node_id(uu), g.node_id(jj), label, kind, float(vv) if scalar else None, meta))
    return arcs


def _arc_meta(t: Term, j: int, u: int, params: dict[str, np.ndarray]) -> tuple[dict[str, Any], str | None]:
    if t.param is None:
        return {"param": None}, None
    row = int(t.rows[j]) if t.rows is not None and t.rows[j] >= 0 else None
    if t.composite or row is None:
        return {"param": t.param, "index": None, "params": list(dict.fromkeys(t.params))}, None
    p = params[t.param]
    if t.layout == "c":
        return {"param": t.param, "index": [row]}, None
    ins = (t.cols or {}).get(u)
    if not ins:
        return {"param": t.param, "index": None, "params": list(dict.fromkeys(t.params))}, None
    i = ins[0] if len(ins) == 1 else ins
    index = [row, i] if t.layout == "oi" else [i, row]
    entry = p[row][ins] if t.layout == "oi" else p[ins][:, row]
    label = f"w={float(entry.reshape(-1)[0]):.3g}" if entry.size == 1 else kernel_label(entry)
    if t.ops:
        label += " (" + ", ".join(t.ops) + ")"
    return {"param": t.param, "index": index}, label


def _param_count(arcs: list[Arc], bias_entries: list, params: dict[str, np.ndarray]) -> int:
    seen: set[tuple] = set()
    total = 0
    for a in arcs:
        idx = a.meta.get("index")
        if a.meta.get("param") is None or idx is None:
            continue
        key = (a.meta["param"],) + tuple(tuple(i) if isinstance(i, list) else i for i in idx)
        if key in seen:
            continue
        seen.add(key)
        p = params[a.meta["param"]]
        n = 1
        for i in idx:
            n *= len(i) if isinstance(i, list) else 1
        total += n * (p[0, 0].size if len(idx) == 2 and p.ndim > 2 else 1)
    return total + len(bias_entries)


def unit_dag(model: nn.Module, example_input: torch.Tensor, name: str = "") -> Dag:
    """The unit-level DAG-DNN of `model` (neurons and channels as nodes), see the module docstring.

    BatchNorm is read in eval form (running statistics). Raises `UnitLevelError` naming the
    first op the unit level cannot express (e.g. a matmul between activations), suggesting "op".
    """
    with paused_gc():  # tens of thousands of small Arc objects: cyclic GC passes would cost a third of the time
        return _unit_dag(model, example_input, name)


def _unit_dag(model: nn.Module, example_input: torch.Tensor, name: str) -> Dag:
    n_params = sum(p.numel() for p in model.parameters())
    if n_params > MAX_PARAMS:
        raise UnitLevelError(f"{name or type(model).__name__} has {n_params:,} parameters; the unit level (one node "
                             f"per neuron or channel, one arc per weight or kernel) is for networks under "
                             f"{MAX_PARAMS:,}: use granularity 'op' or 'block'")
    if isinstance(example_input, (tuple, list)):
        raise UnitLevelError("the unit level needs a model of one input tensor; this one takes "
                             f"{len(example_input)}: use granularity 'op'")
    x = torch.as_tensor(example_input)[:1]
    net = UnitTracer(model, x.detach()).run()
    params = {k: v.detach().double().cpu().numpy() for k, v in model.named_parameters()}
    nodes: list[Node] = []
    arcs: list[Arc] = []
    for g in net.groups.values():
        g_arcs = _arcs_of_group(g, net.groups, params)
        arcs.extend(g_arcs)
        by_dst: dict[str, list[Arc]] = {}
        for a in g_arcs:
            by_dst.setdefault(a.dst, []).append(a)
        rows_nnz = np.zeros(g.units, dtype=np.int64)
        for t in g.terms.values():
            rows_nnz += np.bincount(t.W.tocoo().row // g.block, minlength=g.units)
        main = next((t for t in g.terms.values() if t.param and t.layout in ("oi", "io") and not t.composite), None)
        for k in range(g.units):
            bias_entries = [[p, int(r[k])] for p, r in g.biases if r is not None and r[k] >= 0]
            row = int(main.rows[k]) if main is not None and main.rows is not None and main.rows[k] >= 0 else None
            meta = {"layer": g.module, "unit": k, "phi": g.phi.name, "size": g.block, "group": g.name,
                    "weight": main.param if main is not None and row is not None else None, "row": row,
                    "bias": bias_entries[0][0] if bias_entries else None}
            if len(bias_entries) > 1:
                meta["biases"] = bias_entries
            node_arcs = by_dst.get(g.node_id(k), [])
            shape = tuple(g.shape[1:]) or (1,)
            nodes.append(Node(g.node_id(k), "input" if g.role == "input" else g.op, g.module, shape,
                              _param_count(node_arcs, bias_entries, params), int(rows_nnz[k]), meta))
    inputs = [n.id for n in nodes if n.meta["group"] == net.input]
    outputs = [n.id for n in nodes if n.meta["group"] == net.output]
    return Dag.build(nodes, arcs, "unit", inputs=inputs, outputs=outputs, name=name,
                     meta={"unit_net": net, "example_input": x})
