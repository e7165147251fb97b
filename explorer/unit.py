"""The unit level: a network as a DAG of neurons and channels (SCIENCE.md §1, granularity "unit").

`unit_dag(model, example_input)` traces the model with torch.fx and propagates, for each
traced value, an affine expression over the unit nodes made so far (`explorer.unit_expr`).
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
`dag.meta["unit_net"]`, a `UnitNet`, from which `explorer.lifting` builds the matrices.
"""

from __future__ import annotations

import gc
import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.fx as fx
from torch import nn

from explorer.dag import Arc, Dag, Node
from explorer.unit_expr import Blocked, Expr, Term, add, cat
from explorer.unit_ops import (PHIS, MaxPool, Phi, UnitLevelError, batchnorm_affine, channel_matrix, conv_bias,
                               conv_matrix, index_matrix, kernel_label, linear_matrix, maxpool_of_function,
                               maxpool_of_module, phi_of_function, phi_of_module, prod)

__all__ = ["unit_dag", "UnitNet", "Group", "UnitLevelError"]

MAX_ENTRIES = 20_000_000  # sparse entries of all blocks together; beyond it the unit level is not for this model


@dataclass
class Group(Blocked):
    """A layer of unit nodes made at one traced value: `z = phi(sum_src W_src z_src + b)` or a max-pool.

    `shape` is `(units, *block)`: unit k is the k-th channel (or neuron) and its block the
    flat slice `[k*block, (k+1)*block)` of the group's value.
    """

    name: str
    op: str
    module: str
    shape: tuple[int, ...]
    phi: Phi
    terms: dict[str, Term] = field(default_factory=dict)
    b: np.ndarray | None = None
    biases: list[tuple[str, np.ndarray]] = field(default_factory=list)
    pool: MaxPool | None = None  # max-pool group: a nonlinear arc from `pool_src`, channel to channel
    pool_src: str | None = None
    role: str = "hidden"  # "input" | "hidden" | "pool" | "output"

    @property
    def units(self) -> int:
        return self.shape[0]

    def node_id(self, k: int) -> str:
        return f"{self.name}[{k}]"


@dataclass
class UnitNet:
    """The numeric unit-level network: groups in topological order, input and output groups."""

    groups: dict[str, Group]
    input: str
    output: str
    input_shape: tuple[int, ...]  # per sample, as the model eats it
    output_shape: tuple[int, ...]
    example_input: torch.Tensor  # (1, *input_shape)

    def unit(self, node_id: str) -> tuple[Group, int]:
        """`(group, k)` of a unit node id like `conv2[5]`."""
        name, _, k = node_id.rpartition("[")
        if name not in self.groups or not k.endswith("]"):
            raise KeyError(f"{node_id!r} is not a unit node id (ids look like {self.input}[0])")
        return self.groups[name], int(k[:-1])

    def __repr__(self) -> str:
        return f"UnitNet({len(self.groups)} groups: {', '.join(self.groups)})"


# ---- tracing ----------------------------------------------------------------------------

_PASS_MODULES = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)
_CHANNEL_MODULES = (nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
_REINDEX_FUNCS = {torch.flatten, torch.reshape, torch.transpose, torch.permute, torch.squeeze, torch.unsqueeze,
                  operator.getitem, torch.nn.functional.pad}
_REINDEX_METHODS = {"view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze", "unsqueeze",
                    "view_as", "reshape_as"}
_CHANNEL_FUNCS = {"avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d"}


class _Tracer:
    def __init__(self, model: nn.Module, x: torch.Tensor):
        self.model = model
        self.x = x
        self.modules = dict(model.named_modules())
        self.groups: dict[str, Group] = {}
        self.total_entries = 0

    # -- groups --
    def _fresh(self, base: str, fallback: str) -> str:
        for name in (base, fallback, f"{fallback}_"):
            if name and name not in self.groups:
                return name
        raise UnitLevelError(f"cannot name the units made at {fallback!r}: the name is taken")

    def materialise(self, e: Expr, phi: Phi, fx_name: str, op: str = "") -> Expr:
        name = self._fresh(e.hint or fx_name, fx_name)
        self.total_entries += sum(t.W.nnz for t in e.terms.values())
        if self.total_entries > MAX_ENTRIES:
            raise UnitLevelError(f"the unit level of this model has over {MAX_ENTRIES:,} block entries (reached at "
                                 f"{fx_name!r}); it is meant for small networks: use granularity 'op' or 'block'")
        self.groups[name] = Group(name, e.hint_op or op or phi.name, e.hint or "", e.shape, phi, dict(e.terms),
                                  e.b.copy(), list(e.biases))
        return Expr.group(name, e.shape)

    def as_group(self, e: Expr, fx_name: str) -> str:
        return e.pure_group() or self.materialise(e, PHIS["identity"], fx_name).pure_group()

    def src_shapes(self) -> dict[str, tuple[int, ...]]:
        return {g.name: g.shape for g in self.groups.values()}

    # -- the walk --
    def run(self) -> UnitNet:
        try:
            gm = fx.symbolic_trace(self.model)
        except Exception as e:
            raise UnitLevelError(f"torch.fx could not trace {type(self.model).__name__}: {type(e).__name__}: {e}; "
                                 "the unit level needs a traceable model — try granularity 'op'") from e
        val: dict[str, Any] = {}
        expr: dict[str, Expr] = {}
        inputs = [n for n in gm.graph.nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            raise UnitLevelError(f"the unit level needs exactly one input tensor, {type(self.model).__name__} takes "
                                 f"{len(inputs)}; use granularity 'op'")
        out_expr = None
        for n in gm.graph.nodes:
            args = fx.node.map_arg(n.args, lambda a: val[a.name])
            kwargs = fx.node.map_arg(n.kwargs, lambda a: val[a.name])
            if n.op == "placeholder":
                val[n.name] = self.x
                shape = tuple(self.x.shape[1:])
                if len(shape) == 0:
                    raise UnitLevelError("the input must have a feature dimension after the batch dimension")
                self.input_name = "x" if "x" not in self.modules else n.name  # ids read x[3]
                self.groups[self.input_name] = Group(self.input_name, "input", "", shape, PHIS["identity"],
                                                     role="input")
                expr[n.name] = Expr.group(self.input_name, shape)
                continue
            if n.op == "output":
                res = n.args[0]
                if not isinstance(res, fx.Node) or res.name not in expr:
                    raise UnitLevelError("the unit level needs a model returning one tensor computed from its input; "
                                         "use granularity 'op'")
                out_expr = expr[res.name]
                break
            with torch.no_grad():
                if n.op == "get_attr":
                    v = self.model
                    for part in n.target.split("."):
                        v = getattr(v, part)
                elif n.op == "call_function":
                    v = n.target(*args, **kwargs)
                elif n.op == "call_method":
                    v = getattr(args[0], n.target)(*args[1:], **kwargs)
                else:
                    v = self.modules[n.target](*args, **kwargs)
            val[n.name] = v.clone() if isinstance(v, torch.Tensor) else v
            deps = [a.name for a in n.all_input_nodes if a.name in expr]
            if not deps:
                continue
            if not isinstance(v, torch.Tensor):
                if n.op == "call_function" and n.target is getattr or n.op == "call_method" and n.target in (
                        "size", "dim"):
                    continue  # shape queries: plain Python values
                raise UnitLevelError(f"op {n.name!r} ({_op_name(n)}) returns a {type(v).__name__} computed from "
                                     "the input; the unit level supports tensor ops only — use granularity 'op'")
            expr[n.name] = self.step(n, args, kwargs, v, expr, val)
        assert out_expr is not None
        self.materialise_output(out_expr)
        return UnitNet(self.groups, self.input_name, "out", tuple(self.x.shape[1:]), out_expr.shape, self.x)

    def materialise_output(self, e: Expr) -> None:
        name = self._fresh("out", "output")
        e = Expr(e.shape, e.terms, e.b, name, "output", e.biases)
        self.materialise(e, PHIS["identity"], name)
        self.groups[name].role = "output"
        self.groups[name].module = ""

    # -- one traced op --
    def step(self, n: fx.Node, args: tuple, kwargs: dict, v: torch.Tensor, expr: dict[str, Expr],
             val: dict[str, Any]) -> Expr:
        e_args = [expr.get(a.name) if isinstance(a, fx.Node) else None for a in n.args]
        e0 = e_args[0] if e_args else None
        out_shape = tuple(v.shape[1:])
        if v.shape[:1] != self.x.shape[:1]:
            raise UnitLevelError(f"op {n.name!r} ({_op_name(n)}) changes the batch dimension; use granularity 'op'")
        if n.op == "call_module":
            m = self.modules[n.target]
            if isinstance(m, nn.Linear):
                if len(e0.shape) != 1:
                    raise UnitLevelError(f"Linear {n.target!r} on per-sample shape {e0.shape}: the unit level needs "
                                         "flat features (flatten first) — use granularity 'op'")
                W, b = linear_matrix(m)
                return e0.weight_op(W, b, out_shape, f"{n.target}.weight", "oi",
                                    f"{n.target}.bias" if m.bias is not None else None, n.target, "Linear",
                                    self.src_shapes())
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)):
                M = conv_matrix(m, e0.shape, out_shape)
                layout = "io" if isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d)) else "oi"
                return e0.weight_op(M, conv_bias(m, out_shape), out_shape, f"{n.target}.weight", layout,
                                    f"{n.target}.bias" if m.bias is not None else None, n.target, type(m).__name__,
                                    self.src_shapes(), m.groups)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                scale, shift = batchnorm_affine(m, e0.shape)
                return e0.batchnorm(scale, shift, f"{n.target}.weight" if m.affine else None,
                                    f"{n.target}.bias" if m.affine else None, n.target)
            phi = phi_of_module(m)
            if phi is not None:
                e = e0 if e0.hint else Expr(e0.shape, e0.terms, e0.b, None, "", e0.biases)
                return self.materialise(e, phi, n.name)
            pool = maxpool_of_module(m)
            if pool is not None:
                return self.maxpool(e0, pool, out_shape, n.name, n.target, type(m).__name__)
            if isinstance(m, _PASS_MODULES):
                return e0
            if isinstance(m, _CHANNEL_MODULES):
                M, shape = channel_matrix(m, e0.shape, n.target)
                return e0.channelwise(M, shape, None, _short(type(m).__name__))
            if isinstance(m, (nn.Flatten, nn.Unflatten)):
                return self.reindex(n, e0, args, kwargs, v, lambda t: m(t))
            raise UnitLevelError(f"module {n.target!r} ({type(m).__name__}) is not supported at unit level "
                                 "(Linear/Conv/BatchNorm/activations/pools/flatten/add/cat only); use granularity 'op'")
        target = n.target
        fname = target if isinstance(target, str) else getattr(target, "__name__", str(target))
        phi = phi_of_function(target, n.args, n.kwargs) if fname.rstrip("_") in (
            "relu", "tanh", "sigmoid", "silu", "relu6", "elu", "softplus", "leaky_relu", "gelu") else None
        if phi is not None and e0 is not None and all(x is None for x in e_args[1:]):
            return self.materialise(e0, phi, n.name)
        if n.op == "call_function":
            pool = maxpool_of_function(target, args, kwargs)
            if pool is not None:
                return self.maxpool(e0, pool, out_shape, n.name, "", fname)
            if target in (operator.add, torch.add, operator.sub, torch.sub):
                return self.add_sub(n, args, e_args, kwargs, sub=target in (operator.sub, torch.sub))
            if target in (operator.mul, torch.mul, operator.truediv, torch.div) and e_args[0] is not None \
                    and len(e_args) == 2 and e_args[1] is None and isinstance(args[1], (int, float)):
                return e0.scale(float(args[1]) if target in (operator.mul, torch.mul) else 1.0 / float(args[1]))
            if target in (operator.mul, torch.mul) and e_args[1] is not None and e_args[0] is None and isinstance(
                    args[0], (int, float)):
                return e_args[1].scale(float(args[0]))
            if target in (operator.neg, torch.neg):
                return e0.scale(-1.0)
            if target is torch.cat:
                return self.cat(n, args, kwargs, expr)
            if fname in _CHANNEL_FUNCS:
                M, shape = channel_matrix(lambda t: target(t, *args[1:], **kwargs), e0.shape, n.name)
                return e0.channelwise(M, shape, None, fname.replace("_", ""))
            if fname in ("dropout", "dropout1d", "dropout2d", "alpha_dropout"):
                if kwargs.get("training", args[2] if len(args) > 2 else True):
                    raise UnitLevelError(f"{fname} {n.name!r} is active (training=True), a random op; the unit "
                                         "level needs a deterministic eval-mode network — pass training=self.training")
                return e0
            if target in _REINDEX_FUNCS and e0 is not None and all(x is None for x in e_args[1:]):
                return self.reindex(n, e0, args, kwargs, v, lambda t: target(t, *args[1:], **kwargs))
            if fname == "mean" and e0 is not None:
                return self.mean(n, e0, args, kwargs)
        if n.op == "call_method" and e0 is not None and all(x is None for x in e_args[1:]):
            if target in _REINDEX_METHODS:
                return self.reindex(n, e0, args, kwargs, v, lambda t: getattr(t, target)(*args[1:], **kwargs))
            if target == "mean":
                return self.mean(n, e0, args, kwargs)
        raise UnitLevelError(f"op {n.name!r} ({_op_name(n)}) is not supported at unit level (it is not a "
                             "Linear/Conv/BatchNorm/activation/pool/flatten/view/add/cat); use granularity 'op'")

    def maxpool(self, e: Expr, pool: MaxPool, out_shape: tuple[int, ...], fx_name: str, module: str, op: str) -> Expr:
        src = self.as_group(e, f"{fx_name}_in")
        name = self._fresh(module, fx_name)
        self.groups[name] = Group(name, op, module, out_shape, PHIS["identity"], pool=pool, pool_src=src,
                                  b=np.zeros(prod(out_shape)), role="pool")
        return Expr.group(name, out_shape)

    def add_sub(self, n: fx.Node, args: tuple, e_args: list, kwargs: dict, sub: bool) -> Expr:
        a, b = e_args[0], e_args[1]
        alpha = float(kwargs.get("alpha", 1.0))
        if sub:
            alpha = -alpha
        if a is not None and b is not None:
            return add(a, b.scale(alpha))
        if a is not None:  # expression + constant
            const = args[1].detach().double().numpy() if isinstance(args[1], torch.Tensor) else float(args[1])
            return a.shift(alpha * np.asarray(const))
        const = args[0].detach().double().numpy() if isinstance(args[0], torch.Tensor) else float(args[0])
        return b.scale(alpha).shift(np.asarray(const))

    def cat(self, n: fx.Node, args: tuple, kwargs: dict, expr: dict[str, Expr]) -> Expr:
        tensors = args[0]
        dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
        nd = tensors[0].dim()
        if dim % nd != 1:
            raise UnitLevelError(f"cat {n.name!r} along dim {dim}: the unit level concatenates channels (dim 1) "
                                 "only; use granularity 'op'")
        parts = [expr[a.name] if isinstance(a, fx.Node) and a.name in expr else t[0].detach().double().numpy()
                 for a, t in zip(n.args[0] if n.args else n.kwargs["tensors"], tensors)]
        return cat(parts, [tuple(t.shape[1:]) for t in tensors])

    def reindex(self, n: fx.Node, e: Expr, args: tuple, kwargs: dict, v: torch.Tensor, fn) -> Expr:
        idx = torch.arange(1, e.n + 1, dtype=torch.float64).reshape(1, *e.shape)
        try:
            out = fn(idx)
        except Exception as err:
            raise UnitLevelError(f"op {n.name!r} ({_op_name(n)}) could not be replayed as a re-indexing: {err}; "
                                 "use granularity 'op'") from err
        if out.shape[0] != 1 or tuple(out.shape) != (1, *v.shape[1:]):
            raise UnitLevelError(f"op {n.name!r} ({_op_name(n)}) mixes the batch dimension; use granularity 'op'")
        M = index_matrix(out, e.n)
        shape = tuple(out.shape[1:])
        if len(shape) == 0:
            raise UnitLevelError(f"op {n.name!r} ({_op_name(n)}) leaves one number per sample; the unit level "
                                 "needs a feature dimension — use granularity 'op'")
        return e.reindex(M, shape)

    def mean(self, n: fx.Node, e: Expr, args: tuple, kwargs: dict) -> Expr:
        dims = kwargs.get("dim", args[1] if len(args) > 1 else None)
        nd = len(e.shape) + 1
        dims = (dims,) if isinstance(dims, int) else dims
        if dims is None or any(d % nd < 2 for d in dims):
            raise UnitLevelError(f"mean {n.name!r} over dims {dims}: only spatial means (dims >= 2) are channel-wise; "
                                 "use granularity 'op'")
        M, shape = channel_matrix(lambda t: t.mean(*args[1:], **kwargs), e.shape, n.name)
        return e.channelwise(M, shape, None, "mean")


def _op_name(n: fx.Node) -> str:
    if n.op == "call_module":
        return f"module {n.target}"
    t = n.target
    return f"{n.op} {t if isinstance(t, str) else getattr(t, '__name__', t)}"


def _short(name: str) -> str:
    return name.replace("AdaptiveAvgPool", "adaptive avgpool ").replace("AvgPool", "avgpool ").strip()


# ---- from groups to the DAG -------------------------------------------------------------


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
    gc_was_on = gc.isenabled()
    gc.disable()  # tens of thousands of small Arc objects: cyclic GC passes would cost a third of the time
    try:
        return _unit_dag(model, example_input, name)
    finally:
        if gc_was_on:
            gc.enable()


def _unit_dag(model: nn.Module, example_input: torch.Tensor, name: str) -> Dag:
    x = torch.as_tensor(example_input)[:1]
    net = _Tracer(model, x.detach()).run()
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
                     meta={"unit_net": net})
