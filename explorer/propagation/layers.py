"""Per-layer spectra by autograd (any model the op level traces; docs/science.md §5): the
singular values of each layer map `a -> phi(B(W a))` — a Linear/Conv layer from its input
through what passes its value on (BatchNorm, an added skip, ...) to the activation that
follows (`explorer.models.activations.layer_chains`) — at each of K inputs, so one sees at
which layer the signal dies. Other operands (the skip of a residual add) are held at their
values at that input, so the map is the layer's own share of the Jacobian.

For an MLP the product of these maps is the input–output Jacobian; for a unit-level model
they equal the blocks of the lifting's `D_l(x) T_l(x)` (`explorer.propagation.lifted`).

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> [(s.layer, s.shape, s.values.shape) for s in autograd_layer_spectra(net, torch.randn(5, 3))]
    [('0', (4, 3), (5, 3)), ('2', (2, 4), (5, 2))]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import fx, nn

from explorer.models.activations import layer_chains
from explorer.propagation.spectrum import SpectrumError, SpectrumStats, batched_jacobian, frozen_copy, stats, svdvals

MAX_ENTRIES = 4_000_000  # a layer map bigger than this (n_out * n_in) is not formed densely


@dataclass(frozen=True)
class LayerSpectrum:
    """One layer (or level) map's singular values at K inputs, or why it was skipped."""

    layer: str
    shape: tuple[int, int]  # (n_out, n_in) of the map at one input
    values: np.ndarray | None  # (K, min(n_out, n_in)); None when skipped
    activation: str | None = None
    note: str = ""

    def stats(self) -> SpectrumStats | None:
        return stats(self.values) if self.values is not None else None


class _Capture(fx.Interpreter):
    """Runs the graph and keeps a copy of every node's value (in-place ops change the originals)."""

    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm)
        self.values: dict[str, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        out = super().run_node(n)
        self.values[n.name] = out.clone() if isinstance(out, torch.Tensor) else out
        return out


def _run(gm: fx.GraphModule, n: fx.Node, args: tuple, kwargs: dict) -> Any:
    if n.op == "call_module":
        return gm.get_submodule(str(n.target))(*args, **kwargs)
    if n.op == "call_function":
        return n.target(*args, **kwargs)  # type: ignore[operator]
    return getattr(args[0], str(n.target))(*args[1:], **kwargs)


def _segment(gm: fx.GraphModule, nodes: list[fx.Node], values: dict[str, Any]):
    """f(a, consts): the chain `nodes` on one sample `a`, other tensor operands from `consts` (per sample)."""
    names = {m.name for m in nodes}
    inp = nodes[0].args[0]
    const_names = sorted({a.name for m in nodes for a in m.all_input_nodes if a.name not in names and a is not inp})
    consts = {k: values[k] for k in const_names if isinstance(values[k], torch.Tensor)}

    def f(a: torch.Tensor, cs: dict[str, torch.Tensor]) -> torch.Tensor:
        env = {inp.name: a.unsqueeze(0)} | {k: v.unsqueeze(0) for k, v in cs.items()}
        for m in nodes:
            look = lambda q: env[q.name] if q.name in env else values[q.name]  # noqa: E731
            args = fx.node.map_arg(m.args, look)
            kwargs = fx.node.map_arg(m.kwargs, look)
            env[m.name] = _run(gm, m, args, kwargs)  # type: ignore[arg-type]
        return env[nodes[-1].name].reshape(-1)

    return f, consts, inp


def autograd_layer_spectra(model: nn.Module, x: torch.Tensor, *, dtype: torch.dtype = torch.float64,
                           max_entries: int = MAX_ENTRIES) -> list[LayerSpectrum]:
    """One `LayerSpectrum` per Linear/Conv layer in graph order (see the module doc). Raises
    `SpectrumError` for a model torch.fx cannot trace (no layer maps to read)."""
    work = frozen_copy(model, dtype)
    x = torch.as_tensor(x).detach().to(dtype)
    try:
        gm, chains = layer_chains(work)
    except Exception as e:  # noqa: BLE001 - fx raises many types on dynamic code
        raise SpectrumError(f"{type(model).__name__} cannot be traced by torch.fx ({type(e).__name__}: "
                            f"{str(e)[:160]}), so its layer maps cannot be isolated; use the input–output "
                            "spectrum, or the unit level where the model has one") from e
    cap = _Capture(gm)
    with torch.no_grad():
        cap.run(x)
    by_name = {n.name: n for n in gm.graph.nodes}
    out = []
    for c in chains:
        nodes = [by_name[c.node], *(by_name[k] for k in c.nodes)]
        f, consts, inp = _segment(gm, nodes, cap.values)
        a = cap.values[inp.name]  # (K, *in) the layer's input at each sample
        n_in = int(a[0].numel())
        n_out = int(cap.values[nodes[-1].name][0].numel())
        if n_in * n_out > max_entries:
            out.append(LayerSpectrum(c.layer, (n_out, n_in), None, c.activation,
                                     f"skipped: a {n_out}×{n_in} map is over the {max_entries:,}-entry cap "
                                     "(smaller inputs make it smaller)"))
            continue
        J = batched_jacobian(f, a, n_out, extra={k: v for k, v in consts.items()})
        out.append(LayerSpectrum(c.layer, (n_out, n_in), svdvals(J), c.activation))
    return out

