"""Verification of the lifting decomposition against the model itself (docs/science.md §2).

`verify(model, dag, x)` measures, on a copy of the model:

(a) `forward_error` = max |compose(x) - model(x)|: the product of the lifting steps
    reproduces the forward pass;
(b) `jacobian_error` = max |J(x) - torch.autograd.functional.jacobian| at unit level,
    where J(x) is the (output, input) block of the local map P(x) = M_L ... M_1
    (None at op level, whose entries are symbolic).

It runs in float64 with a tight tolerance; a model whose own forward breaks in float64 (a
`grid_sample` that wants float32, an integer-only op) is checked in float32 with a float32
tolerance instead. With `x` omitted, inputs are drawn like the example the graph was traced
with (`explorer.lifting.inputs.probe_inputs`): integer token ids stay integers in the example's
range, several inputs stay several, and a graph traced for one batch size gets that batch size.
Every such choice is written in `notes`.

`verify_model(model, dag, x)` is the policy the Decomposition page and `python -m explorer verify`
share: which inputs (the one shown plus seeded extras for small models), and in which precision
(the model's own above `OWN_PRECISION_PARAMS`).

    >>> import torch
    >>> from explorer.graph.unit import unit_dag
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).eval()
    >>> v = verify(net, unit_dag(net, torch.randn(1, 3), "tiny"), torch.randn(4, 3))
    >>> v.ok, v.forward_error < 1e-12, v.jacobian_error < 1e-12, v.dtype
    (True, True, True, 'float64')
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch import nn

from explorer.graph.dag import Dag
from explorer.lifting import LiftingError, lifting
from explorer.lifting.inputs import example_of, fixed_batch, input_notes, join_batches, probe_inputs

TOL64 = 1e-4  # float64: the composition repeats the model's own ops; anything above this is a real mismatch
TOL32 = 1e-3  # float32: relative to the output's scale
ZERO_OUTPUT = ("the model's output is identically zero at these inputs (e.g. a zero-initialised head), so "
               "the forward check cannot tell a right composition from a wrong one")


def _all_zero(ts: list[torch.Tensor]) -> bool:
    fl = [t for t in ts if t.numel() and torch.is_floating_point(t)]
    return bool(fl) and all(not bool(t.any()) for t in fl)


class VerifyError(ValueError):
    """A verification that cannot run as asked (a bad tolerance, inputs that do not fit)."""


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
    dtype: str = "float64"
    notes: tuple[str, ...] = ()  # what was chosen and why: integer inputs, a fixed batch, float32 ...
    trivial: bool = False  # the model's output is identically zero at these inputs: the check cannot fail

    @property
    def ok(self) -> bool:
        return self.forward_error <= self.tol and (self.jacobian_error is None or self.jacobian_error <= self.tol)

    @property
    def worst_output(self) -> tuple[str, float] | None:
        return max(self.per_output, key=lambda p: p[1]) if self.per_output else None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["per_output"] = {k: v for k, v in self.per_output}
        d["notes"] = list(self.notes)
        d["ok"] = self.ok
        return d

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1)

    def __str__(self) -> str:
        jac = "n/a (op level: symbolic entries)" if self.jacobian_error is None else f"{self.jacobian_error:.3g}"
        verdict = "OK" if self.ok else "FAILED"
        notes = "".join(f"\n  note: {n}" for n in (*self.notes, *([ZERO_OUTPUT] if self.trivial else [])))
        return (f"verify {self.name or '?'} ({self.granularity}, {self.samples} samples, {self.dtype}): forward error "
                f"{self.forward_error:.3g}, jacobian error {jac} (tol {self.tol:g}): {verdict}{notes}")


def _tensors(v: Any) -> list[torch.Tensor]:
    if isinstance(v, torch.Tensor):
        return [v]
    if isinstance(v, dict):
        v = list(v.values())
    if isinstance(v, (list, tuple)):
        return [t for x in v for t in _tensors(x)]
    if hasattr(v, "to_tuple"):  # a Hugging Face ModelOutput
        return _tensors(v.to_tuple())
    return []


def check_tol(tol: float) -> float:
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise VerifyError(f"tolerance {tol!r} must be a positive number (e.g. 1e-4, the largest accepted max-abs "
                          "error); a negative or zero tolerance would report every decomposition as failed")
    return float(tol)


def _cast(x: Any, dtype: torch.dtype) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().to(dtype) if torch.is_floating_point(x) else x
    if isinstance(x, (tuple, list)):
        return type(x)(_cast(v, dtype) for v in x)
    return x


def verify(model: nn.Module, dag: Dag, x: Any = None, tol: float | None = None, jacobian_samples: int = 3,
           samples: int = 4, seed: int = 0, own_precision: bool = False) -> Verification:
    """Compare the lifting decomposition of `dag` with `model` at the batch `x` (default: `samples`
    probe inputs drawn like the graph's example, see `probe_inputs`). `tol` defaults to TOL64
    (float64) or TOL32 × the output's scale (float32). `own_precision` checks an op-level graph in
    the model's own dtype instead of float64 (no float64 copy of the weights: for big models, where
    the copy and the double-precision forward cost seconds); it is written in `notes`.
    Raises `VerifyError`/`LiftingError`."""
    if tol is not None:
        check_tol(tol)
    notes: list[str] = []
    if x is None:
        x, notes = probe_inputs(example_of(dag), samples, seed, fixed_batch=fixed_batch(dag))
    if dag.granularity == "unit":
        return _verify_unit(model, dag, x, tol if tol is not None else TOL64, jacobian_samples)
    if dag.granularity != "op":
        raise LiftingError(f"verify works at unit or op level, not {dag.granularity!r}: rebuild the graph with "
                           "granularity 'unit' or 'op'")
    if own_precision and _own_dtype(model) != torch.float64:
        own = str(_own_dtype(model)).removeprefix("torch.")
        return _verify_op(model, dag, x, _own_dtype(model), tol, [*notes, f"{own}: checked in the model's own precision"])
    try:
        return _verify_op(model, dag, x, torch.float64, tol if tol is not None else TOL64, notes)
    except LiftingError:
        raise
    except Exception as e:  # noqa: BLE001 - the model's own forward failed in float64: check in float32
        why = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}" if str(e) else type(e).__name__
        return _verify_op(model, dag, x, _own_dtype(model), tol,
                          [*notes, f"{str(_own_dtype(model)).removeprefix('torch.')}: in float64 the model fails ({why})"])


def _own_dtype(model: nn.Module) -> torch.dtype:
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def _verify_op(model: nn.Module, dag: Dag, x: Any, dtype: torch.dtype, tol: float | None,
               notes: list[str]) -> Verification:
    if dtype == _own_dtype(model):
        ref_model, L = model.eval(), lifting(dag)  # no cast needed: no copy (some models cannot be copied)
    else:
        try:
            ref_model = copy.deepcopy(model).to(dtype).eval()
        except RuntimeError as e:  # e.g. tensors left on modules by a forward pass, which deepcopy refuses
            own = str(_own_dtype(model)).removeprefix("torch.")
            return _verify_op(model, dag, x, _own_dtype(model), tol,
                              [*notes, f"{own}: the model cannot be copied to cast it to "
                                       f"{str(dtype).removeprefix('torch.')} ({str(e).splitlines()[0][:120]})"])
        L = lifting(dag).with_dtype(dtype)
    xs = _cast(x, dtype)
    args = xs if isinstance(xs, tuple) else (xs,)
    with torch.no_grad():
        ref = _tensors(ref_model(*args))
        got = _tensors(L.compose(xs))
    if len(ref) != len(got) or any(a.shape != b.shape for a, b in zip(ref, got)):
        raise LiftingError(f"the composed output {[tuple(t.shape) for t in got]} does not match the model's "
                           f"{[tuple(t.shape) for t in ref]}: was the DAG traced from this model?")
    errs = [float((a.double() - b.double()).abs().max()) if a.numel() else 0.0 for a, b in zip(got, ref)]
    if tol is None:  # float32: relative to the output's scale
        scale = max((float(r.abs().max()) for r in ref if r.numel() and torch.is_floating_point(r)), default=1.0)
        tol = TOL32 * max(1.0, scale)
    outs = dag.outputs[0] if len(dag.outputs) == 1 else "output"
    per_output = tuple((f"{outs}[{k}]" if len(errs) > 1 else outs, e) for k, e in enumerate(errs))
    n = int(_tensors(xs)[0].shape[0]) if _tensors(xs) and _tensors(xs)[0].dim() else 1
    return Verification(dag.name, "op", max(errs, default=0.0), None, tol, n, 0, per_output,
                        str(dtype).removeprefix("torch."), tuple(notes), _all_zero(ref))


def _verify_unit(model: nn.Module, dag: Dag, x: Any, tol: float, jacobian_samples: int) -> Verification:
    ref_model = copy.deepcopy(model).to(torch.float64).eval()
    x64 = torch.as_tensor(x).detach().to(torch.float64)
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
    return Verification(dag.name, "unit", float(err.max()), jac, tol, len(x64), n_j, per_output,
                        trivial=_all_zero([ref]))


OWN_PRECISION_PARAMS = 20_000_000  # above: checked in the model's own precision (a float64 copy of vit_b_16 and
# its forward took 5 s of the Decomposition page's 5.5)
EXTRA_INPUTS_MAX_PARAMS = 1_000_000  # below: 3 seeded inputs beside the one shown (4 samples in all)


def verify_model(model: nn.Module, dag: Dag, x: Any = None, *, seed: int = 0, samples: int | None = None,
                 tol: float | None = None) -> Verification:
    """The verification policy of the page and the CLI: `verify` on inputs drawn like the model's example
    (`explorer.lifting.inputs`), in float64 up to `OWN_PRECISION_PARAMS` parameters and in the
    model's own precision above.

    With `x` (the input a page shows), seeded extra inputs are added below `EXTRA_INPUTS_MAX_PARAMS`
    parameters (`samples - 1` of them, default 3; none for a graph traced for one batch size), drawn
    from `seed + 1000`. Without `x`, `samples` inputs are drawn from `seed` (default 4, or 1 for a model
    of `EXTRA_INPUTS_MAX_PARAMS` or more). Token ids stay integers, several inputs stay several.

    >>> from explorer import models
    >>> from explorer.graph import build_dag
    >>> lm = models.load("mlp_skip")
    >>> v = verify_model(lm.model, build_dag("mlp_skip", "unit"))
    >>> v.ok, v.samples, v.dtype
    (True, 4, 'float64')
    """
    n_params = sum(p.numel() for p in model.parameters())
    small = n_params < EXTRA_INPUTS_MAX_PARAMS
    notes: list[str] = []
    if x is None:
        x, notes = probe_inputs(example_of(dag), samples or (4 if small else 1), seed, fixed_batch=fixed_batch(dag))
    else:
        notes = input_notes(example_of(dag), 1, fixed_batch(dag))  # how the page drew the input it shows
        extra = 3 if samples is None else samples - 1
        if small and not fixed_batch(dag) and extra > 0:
            x = join_batches(x, probe_inputs(example_of(dag), extra, 1_000 + seed)[0])
    v = verify(model, dag, x, tol=tol, own_precision=n_params > OWN_PRECISION_PARAMS)
    return replace(v, notes=tuple(dict.fromkeys((*notes, *v.notes))))
