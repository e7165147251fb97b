"""Verification of the lifting decomposition against the model itself (docs/science.md §2).

`verify(model, dag, x)` measures, in float64 on a copy of the model:

(a) `forward_error` = max |compose(x) - model(x)|: the product of the lifting steps
    reproduces the forward pass;
(b) `jacobian_error` = max |J(x) - torch.autograd.functional.jacobian| at unit level,
    where J(x) is the (output, input) block of the local map P(x) = M_L ... M_1
    (None at op level, whose entries are symbolic).

    >>> import torch
    >>> from explorer.graph.unit import unit_dag
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).eval()
    >>> v = verify(net, unit_dag(net, torch.randn(1, 3), "tiny"), torch.randn(4, 3))
    >>> v.ok, v.forward_error < 1e-12, v.jacobian_error < 1e-12
    (True, True, True)
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from explorer.graph.dag import Dag
from explorer.lifting import LiftingError, lifting


@dataclass(frozen=True)
class Verification:
    """The measured errors of one verification; `ok` when both are within `tol`."""

    name: str
    granularity: str
    forward_error: float
    jacobian_error: float | None
    tol: float
    samples: int
    jacobian_samples: int
    per_output: tuple[tuple[str, float], ...]  # output node -> max |compose - forward| over the samples

    @property
    def ok(self) -> bool:
        return self.forward_error <= self.tol and (self.jacobian_error is None or self.jacobian_error <= self.tol)

    @property
    def worst_output(self) -> tuple[str, float] | None:
        return max(self.per_output, key=lambda p: p[1]) if self.per_output else None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["per_output"] = {k: v for k, v in self.per_output}
        d["ok"] = self.ok
        return d

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1)

    def __str__(self) -> str:
        jac = "n/a (op level: symbolic entries)" if self.jacobian_error is None else f"{self.jacobian_error:.3g}"
        verdict = "OK" if self.ok else "FAILED"
        return (f"verify {self.name or '?'} ({self.granularity}, {self.samples} samples): forward error "
                f"{self.forward_error:.3g}, jacobian error {jac} (tol {self.tol:g}): {verdict}")


def _tensors(v: Any) -> list[torch.Tensor]:
    if isinstance(v, torch.Tensor):
        return [v]
    if isinstance(v, dict):
        v = list(v.values())
    if isinstance(v, (list, tuple)):
        return [t for x in v for t in _tensors(x)]
    return []


def verify(model: nn.Module, dag: Dag, x: torch.Tensor, tol: float = 1e-4, jacobian_samples: int = 3) -> Verification:
    """Compare the lifting decomposition of `dag` with `model` at the batch `x` (see the module docstring).

    The model is copied and cast to float64 (eval mode), so `tol` can be tight.
    `jacobian_samples` bounds how many samples of `x` get the (unit-level) Jacobian check.
    """
    ref_model = copy.deepcopy(model).to(torch.float64).eval()
    x64 = torch.as_tensor(x).detach().to(torch.float64)
    if dag.granularity == "unit":
        L = lifting(dag)
        with torch.no_grad():
            ref = ref_model(x64)
        got = L.compose(x64)
        if not isinstance(ref, torch.Tensor) or tuple(ref.shape) != tuple(got.shape):
            raise LiftingError(f"the model's output {type(ref).__name__} {tuple(getattr(ref, 'shape', ()))} does not "
                               f"match the composed output {tuple(got.shape)}: was the DAG built from this model?")
        err = (got - ref).abs().reshape(len(x64), -1)  # (B, n_out)
        out_group = L.net.groups[L.net.output]
        per = err.reshape(len(x64), out_group.units, out_group.block).amax(dim=(0, 2))
        per_output = tuple((out_group.node_id(k), float(per[k])) for k in range(out_group.units))
        jac = 0.0
        n_j = min(jacobian_samples, len(x64))
        for b in range(n_j):
            J, _ = L.local_map(x64[b])
            Jr = torch.autograd.functional.jacobian(lambda a: ref_model(a.unsqueeze(0)).reshape(-1), x64[b],
                                                    vectorize=True)  # one batched backward pass
            jac = max(jac, float((J - Jr.reshape(J.shape)).abs().max()))
        return Verification(dag.name, "unit", float(err.max()), jac, tol, len(x64), n_j, per_output)
    if dag.granularity == "op":
        L = lifting(dag).with_dtype(torch.float64)
        with torch.no_grad():
            ref = _tensors(ref_model(x64))
            got = _tensors(L.compose(x64))
        if len(ref) != len(got) or any(a.shape != b.shape for a, b in zip(ref, got)):
            raise LiftingError(f"the composed output {[tuple(t.shape) for t in got]} does not match the model's "
                               f"{[tuple(t.shape) for t in ref]}: was the DAG traced from this model?")
        errs = [float((a - b).abs().max()) if a.numel() else 0.0 for a, b in zip(got, ref)]
        outs = dag.outputs[0] if len(dag.outputs) == 1 else "output"
        per_output = tuple((f"{outs}[{k}]" if len(errs) > 1 else outs, e) for k, e in enumerate(errs))
        return Verification(dag.name, "op", max(errs, default=0.0), None, tol, len(x64), 0, per_output)
    raise LiftingError(f"verify works at unit or op level, not {dag.granularity!r}: rebuild the graph with "
                       "granularity 'unit' or 'op'")
