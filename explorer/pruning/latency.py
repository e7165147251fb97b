"""Measured CPU latency of the dense, masked and compacted forms.

`measure` times `model(x)` under `torch.inference_mode` with a fixed number of threads,
after warm-up, and reports the median and inter-quartile range of the repeats. `compare`
lays the three forms side by side with parameters, non-zero parameters and MACs.

    >>> import torch
    >>> lat = measure(torch.nn.Linear(8, 8), torch.zeros(1, 8), warmup=1, repeats=5)
    >>> lat.median_ms >= 0 and lat.iqr_ms >= 0
    True
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

NOTE = ("A mask alone does not speed anything up: the masked model runs the same dense kernels and "
        "multiplies the zeros. Only the compacted model, with the emptied units and channels physically "
        "removed, does less work. Unstructured weight sparsity would need sparse kernels to pay off.")


class LatencyError(ValueError):
    """Bad timing parameters; the message says which and the accepted range."""


@dataclass(frozen=True)
class Latency:
    median_ms: float
    iqr_ms: float
    repeats: int
    threads: int
    min_ms: float = 0.0  # the fastest repeat: the least load-sensitive estimate on a shared machine

    def __repr__(self) -> str:
        return f"Latency({self.median_ms:.3f} ms ± {self.iqr_ms / 2:.3f} (IQR/2), n={self.repeats}, {self.threads} thr)"


def measure(model: nn.Module, x: torch.Tensor, *, warmup: int = 5, repeats: int = 30,
            threads: int | None = None, min_time_s: float = 0.0) -> Latency:
    """Median and IQR of the wall time of `model(x)` in ms, on CPU, in eval and inference mode.

    `threads` fixes `torch.set_num_threads` for the measurement (default: the current
    setting); it is restored afterwards. With `min_time_s`, each sample repeats the
    call until that much time has passed and reports the mean per call (for sub-ms models)."""
    if warmup < 0 or repeats < 1:
        raise LatencyError(f"warmup must be >= 0 and repeats >= 1; got warmup={warmup}, repeats={repeats}")
    before = torch.get_num_threads()
    n_thr = before if threads is None else int(threads)
    was = model.training
    model.eval()
    torch.set_num_threads(n_thr)
    samples: list[float] = []
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(repeats):
                k, t0 = 0, time.perf_counter()
                while True:
                    model(x)
                    k += 1
                    dt = time.perf_counter() - t0
                    if dt >= min_time_s:
                        break
                samples.append(1000.0 * dt / k)
    finally:
        torch.set_num_threads(before)
        model.train(was)
    q = statistics.quantiles(samples, n=4) if len(samples) >= 2 else [samples[0]] * 3
    return Latency(statistics.median(samples), q[2] - q[0], repeats, n_thr, min(samples))


def compare(dense: nn.Module, masked: nn.Module, compacted: nn.Module, x: torch.Tensor, *,
            warmup: int = 5, repeats: int = 30, threads: int | None = None) -> list[dict[str, Any]]:
    """Rows {form, params, nonzero_params, macs, latency_ms, iqr_ms, speedup} for the three forms;
    speed-up is dense latency over the form's latency. Read `NOTE` beside it.

    The forms are timed interleaved (dense, masked, compacted, dense, ...) so that a change in
    machine load affects all three alike."""
    from explorer.pruning.compact import count

    forms = (("dense", dense), ("masked", masked), ("compacted", compacted))
    samples: dict[str, list[float]] = {f: [] for f, _ in forms}
    rounds = max(1, repeats // 5)
    for _ in range(rounds):
        for f, m in forms:
            lat = measure(m, x, warmup=warmup if not samples[f] else 1, repeats=5, threads=threads)
            samples[f].append(lat.median_ms)
    rows = []
    base = statistics.median(samples["dense"])
    for f, m in forms:
        c = count(m, x)
        med = statistics.median(samples[f])
        q = statistics.quantiles(samples[f], n=4) if len(samples[f]) >= 2 else [med] * 3
        rows.append({"form": f, **c, "latency_ms": med, "iqr_ms": q[2] - q[0], "speedup": base / med})
    return rows
