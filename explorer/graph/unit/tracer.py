"""The unit-level tracer: a torch.fx walk that propagates, for each traced value, an affine
expression over the unit nodes made so far (`explorer.graph.unit.expr`), and makes nodes only
where the network is nonlinear (see `explorer.graph.unit.build` for the rules and the DAG).
`UnitTracer(model, x).run()` returns the `UnitNet`."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import torch
import torch.fx as fx
from torch import nn

from explorer.concurrency import exclusive, stage
from explorer.graph.unit.expr import Expr, add, cat
from explorer.graph.unit.net import Group, UnitNet
from explorer.graph.unit.ops import (PHIS, MaxPool, Phi, UnitLevelError, batchnorm_affine, channel_matrix, conv_bias,
                               conv_matrix, index_matrix, linear_matrix, maxpool_of_function,
                               maxpool_of_module, phi_of_function, phi_of_module, prod)

MAX_ENTRIES = 20_000_000  # sparse entries of all blocks together; beyond it the unit level is not for this model


# ---- tracing ----------------------------------------------------------------------------

_PASS_MODULES = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)
_CHANNEL_MODULES = (nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
_REINDEX_FUNCS = {torch.flatten, torch.reshape, torch.transpose, torch.permute, torch.squeeze, torch.unsqueeze,
                  operator.getitem, torch.nn.functional.pad}
_REINDEX_METHODS = {"view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze", "unsqueeze",
                    "view_as", "reshape_as"}
_CHANNEL_FUNCS = {"avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d"}


class UnitTracer:
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
            stage("unit level: tracing with torch.fx, one node per neuron or channel")
            with exclusive():  # fx patches torch's global state while it traces
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
            "relu", "abs", "tanh", "sigmoid", "silu", "relu6", "elu", "softplus", "leaky_relu", "gelu") else None
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


