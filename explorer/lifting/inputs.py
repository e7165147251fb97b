"""The inputs a model is looked at with: drawn like its own example input.

The numeric views, the verification and a sub-architecture's value all run the model (or its
lifting) on inputs it accepts. A model says what it eats by its example input (`LoadedModel.
example_input`, kept in `dag.meta["example_input"]`), and every input is drawn like it:

- floats as standard normals; integers (token ids) uniformly in the example's range, so an
  embedding never sees a float or an id past its vocabulary; booleans at random;
- several inputs stay several (a tuple), each drawn like its own example;
- a graph traced for one batch size (torch.export's `batch_layout == "assumed"`) gets that size.

A dataset sample is used only where it fits: one floating-point input of as many numbers.

    >>> ids = torch.tensor([[3, 7, 9, 4]])
    >>> x, notes = probe_inputs(ids, 2, seed=0)
    >>> x.dtype, tuple(x.shape), bool(x.min() >= 3 and x.max() <= 9), notes
    (torch.int64, (2, 4), True, ["integer input (token ids): drawn in [3, 9], the example's range"])
    >>> g = torch.Generator().manual_seed(5)
    >>> probe_inputs(torch.zeros(1, 3), 1, seed=5)[0].equal(torch.randn(1, 3, generator=g))
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explorer.graph.dag import Dag


class InputError(ValueError):
    """No input can be drawn (an example without tensors, a graph without an example)."""


def probe_inputs(example: Any, n: int, seed: int = 0, fixed_batch: bool = False) -> tuple[Any, list[str]]:
    """`n` samples drawn like `example` (a tensor or a tuple of them), and notes on how
    (`input_notes`): floats as standard normals, integers (token ids) uniformly in the example's range,
    booleans at random. With `fixed_batch` (a graph traced for one batch size) the example's batch size
    is kept."""
    g = torch.Generator().manual_seed(int(seed))
    ex = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    b = _batch(ex, n, fixed_batch)
    out = []
    for t in ex:
        if not isinstance(t, torch.Tensor):
            out.append(t)
            continue
        shape = (b, *t.shape[1:]) if t.dim() else ()
        if t.dtype == torch.bool:
            out.append(torch.rand(shape, generator=g) > 0.5)
        elif not torch.is_floating_point(t) and not torch.is_complex(t):
            lo, hi = _range(t)
            out.append(torch.randint(lo, hi + 1, shape, generator=g, dtype=t.dtype))
        else:
            out.append(torch.randn(shape, generator=g, dtype=t.dtype))
    return (tuple(out) if len(ex) > 1 else out[0]), input_notes(example, n, fixed_batch)


def input_notes(example: Any, n: int, fixed_batch: bool = False) -> list[str]:
    """How `probe_inputs(example, n, ..., fixed_batch)` draws: a batch size other than `n`, integer ranges."""
    ex = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    b = _batch(ex, n, fixed_batch)
    notes = [f"batch of {b}: the graph was traced for that batch size only"] if b != n else []
    for t in ex:
        if isinstance(t, torch.Tensor) and t.dtype != torch.bool and not (torch.is_floating_point(t)
                                                                          or torch.is_complex(t)):
            lo, hi = _range(t)
            notes.append(f"integer input (token ids): drawn in [{lo}, {hi}], the example's range")
    return notes


def _batch(ex: tuple, n: int, fixed_batch: bool) -> int:
    ts = [t for t in ex if isinstance(t, torch.Tensor)]
    if not ts:
        raise InputError("the example input holds no tensor, so there is nothing to draw probe inputs from")
    return int(ts[0].shape[0]) if fixed_batch and ts[0].dim() else n


def _range(t: torch.Tensor) -> tuple[int, int]:
    lo, hi = int(t.min()), int(t.max())
    return lo, max(hi, lo + 1)


def example_of(dag: Dag) -> Any:
    """The example input `dag` was built with; `InputError` when it carries none (an ONNX file)."""
    example = dag.meta.get("example_input")
    if example is None:
        raise InputError(f"{dag.name or 'this graph'} carries no example input (an ONNX file is structure only); "
                         "load the model as a Python model to evaluate it")
    return example


def fixed_batch(dag: Dag) -> bool:
    """Whether `dag` runs at the batch size it was traced with only (torch.export assumed it)."""
    return dag.meta.get("batch_layout") == "assumed" and dag.meta.get("tracer") == "export"


def sample_fits(example: Any, sample: Any) -> bool:
    """Whether a dataset `sample` can stand for one example: a single floating-point input with as many
    numbers per sample (token ids, several inputs or another size do not fit)."""
    if sample is None or not isinstance(example, torch.Tensor) or not torch.is_floating_point(example):
        return False
    return example.dim() > 0 and int(np.prod(example.shape[1:])) == int(np.asarray(sample).size)


def view_input(dag: Dag, seed: int = 0, sample: Any = None) -> Any:
    """The one input the numeric views show: the dataset `sample` (array-like) where it fits the
    example (`sample_fits`), else one seeded draw like the example (`probe_inputs`; the traced batch
    size for a graph traced for one only).

    >>> from explorer.graph import build_dag
    >>> dag = build_dag("mlp_skip")
    >>> tuple(view_input(dag, seed=1).shape), tuple(view_input(dag, sample=np.ones(40)).shape)
    ((1, 40), (1, 40))
    """
    example = example_of(dag)
    if sample_fits(example, sample):
        t = torch.as_tensor(np.asarray(sample), dtype=example.dtype)
        return t.reshape(1, *example.shape[1:])
    return probe_inputs(example, 1, seed, fixed_batch=fixed_batch(dag))[0]


def join_batches(a: Any, b: Any) -> Any:
    """Two batches of the same inputs as one (a tensor, or a tuple of tensors, along dim 0)."""
    if isinstance(a, (tuple, list)):
        return tuple(join_batches(u, v) for u, v in zip(a, b))
    return torch.cat([a, b]) if isinstance(a, torch.Tensor) else a
