"""Which activation follows each Linear/Conv layer, read from the model's `torch.fx` graph.

An initialisation scheme needs the gain of the nonlinearity a layer feeds (orthogonal and
Kaiming scale by it), and the signal-propagation lab needs the layer map `phi(B(W a))` from
a layer's input through its normalisation to its activation. Both come from one walk: from
each weighted module, follow the single user through ops that pass a value on (BatchNorm,
dropout, add, flatten, ...) until an activation is reached (it ends the chain) or the value
branches or meets another kind of op (the chain ends without an activation: a linear layer).

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))
    >>> _, chains = layer_chains(net)
    >>> [(c.layer, c.nodes, c.activation, round(c.gain, 3)) for c in chains]
    [('0', ('_1', '_2'), 'tanh', 1.667), ('3', (), None, 1.0)]
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from explorer.concurrency import exclusive

WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_PASS_MODULES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
                 nn.Identity, nn.Flatten)
_PASS_FUNCTIONS = {operator.add, operator.iadd, torch.add, operator.sub, torch.flatten, F.dropout}
_PASS_METHODS = {"add", "add_", "flatten", "view", "reshape", "contiguous"}
_MODULE_ACTS = {nn.ReLU: "relu", nn.ReLU6: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.Hardtanh: "hardtanh",
                nn.GELU: "gelu", nn.SiLU: "silu", nn.ELU: "elu", nn.SELU: "selu", nn.Softplus: "softplus",
                nn.Hardswish: "hardswish", nn.Mish: "mish"}
_FUNCTION_ACTS = {torch.relu: "relu", F.relu: "relu", F.relu6: "relu", torch.tanh: "tanh", F.tanh: "tanh",
                  torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", F.hardtanh: "hardtanh", F.gelu: "gelu",
                  F.silu: "silu", F.elu: "elu", F.selu: "selu", F.softplus: "softplus", F.leaky_relu: "leaky_relu"}
_METHOD_ACTS = {"relu": "relu", "relu_": "relu", "tanh": "tanh", "sigmoid": "sigmoid"}
# torch.nn.init.calculate_gain where it defines one; smooth ReLU-likes (GELU, SiLU, ELU, ...) take ReLU's.
_GAINS = {"linear": 1.0, "relu": math.sqrt(2.0), "tanh": 5.0 / 3.0, "sigmoid": 1.0, "hardtanh": 1.0, "selu": 0.75}


@dataclass(frozen=True)
class LayerChain:
    """A weighted layer, the fx nodes after it up to its activation, the activation and its gain."""

    layer: str  # module name (as in named_modules)
    node: str  # the layer's own fx node
    nodes: tuple[str, ...]  # fx nodes from the layer's output up to and including the activation
    activation: str | None  # None: no activation follows (a linear layer, e.g. the output)
    gain: float


def gain(activation: str | None, negative_slope: float = 0.01) -> float:
    """The variance-preserving gain of an activation (1 for none)."""
    if activation is None:
        return 1.0
    if activation == "leaky_relu":
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    return _GAINS.get(activation, math.sqrt(2.0))


def _activation(n: fx.Node, gm: fx.GraphModule) -> tuple[str, float] | None:
    if n.op == "call_module":
        m = gm.get_submodule(str(n.target))
        if isinstance(m, nn.LeakyReLU):
            return "leaky_relu", gain("leaky_relu", float(m.negative_slope))
        for cls, name in _MODULE_ACTS.items():
            if isinstance(m, cls):
                return name, gain(name)
    elif n.op == "call_function" and n.target in _FUNCTION_ACTS:
        name = _FUNCTION_ACTS[n.target]  # type: ignore[index]
        slope = n.args[1] if name == "leaky_relu" and len(n.args) > 1 else n.kwargs.get("negative_slope", 0.01)
        return name, gain(name, float(slope) if isinstance(slope, (int, float)) else 0.01)
    elif n.op == "call_method" and n.target in _METHOD_ACTS:
        name = _METHOD_ACTS[str(n.target)]
        return name, gain(name)
    return None


def _passes(n: fx.Node, gm: fx.GraphModule) -> bool:
    if n.op == "call_module":
        return isinstance(gm.get_submodule(str(n.target)), _PASS_MODULES)
    if n.op == "call_function":
        return n.target in _PASS_FUNCTIONS
    return n.op == "call_method" and n.target in _PASS_METHODS


def layer_chains(model: nn.Module) -> tuple[fx.GraphModule, list[LayerChain]]:
    """The model's fx graph and, for every weighted module it calls, its chain (see the module doc).
    Raises whatever `torch.fx.symbolic_trace` raises for models it cannot trace."""
    with exclusive():  # fx patches torch's global state while it traces
        gm = fx.symbolic_trace(model)
    out: list[LayerChain] = []
    for n in gm.graph.nodes:
        if n.op != "call_module" or not isinstance(gm.get_submodule(str(n.target)), WEIGHTED):
            continue
        chain: list[str] = []
        act: tuple[str, float] | None = None
        cur = n
        while len(cur.users) == 1:
            (u,) = cur.users
            act = _activation(u, gm)
            if act is None and not _passes(u, gm):
                break
            chain.append(u.name)
            cur = u
            if act is not None:
                break
        out.append(LayerChain(str(n.target), n.name, tuple(chain) if act else (), act[0] if act else None,
                              act[1] if act else 1.0))
    return gm, out


def layer_activations(model: nn.Module) -> dict[str, tuple[str | None, float]]:
    """Module name -> (activation it feeds, gain); empty for a model fx cannot trace (the schemes
    then use gain 1 everywhere, and their report says no activation was found)."""
    try:
        return {c.layer: (c.activation, c.gain) for c in layer_chains(model)[1]}
    except Exception:  # noqa: BLE001 - fx fails in many ways on dynamic code; gain 1 is the fallback
        return {}
