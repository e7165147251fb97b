"""Measured CPU latency of the dense, masked (or rewritten) and compacted forms, with its spread.

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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

NOTE = ("A mask alone does not speed anything up: the masked model runs the same dense kernels and "
        "multiplies the zeros. Only the compacted model, with the emptied units and channels physically "
        "removed — or, at op level, the rewritten graph without the removed ops — does less work. "
        "Unstructured weight sparsity would need sparse kernels to pay off.")


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


NOISY_SPREAD = 0.25  # the IQR of a form's paired speed-ups over its median, above which it says "noisy"


def compare(dense: nn.Module, masked: nn.Module, compacted: nn.Module, x: torch.Tensor, *,
            warmup: int = 5, repeats: int = 30, threads: int | None = None, pruned_form: str = "masked",
            macs: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """Rows {form, params, nonzero_params, macs, latency_ms, iqr_ms, speedup, speedup_iqr, noisy, note}
    for the dense, pruned and compacted forms. Read `NOTE` beside it.

    The forms are timed interleaved in rounds (dense, pruned, compacted, dense, ...) after warm-up,
    on `threads` torch threads (default `threads_for("latency")`, one: what a beside-the-UI measurement gets), and each
    round's speed-up is paired with that round's dense time, so a change in machine load cancels.
    A form whose speed-ups spread wider than `NOISY_SPREAD` of their median, or that is faster
    than its MAC reduction allows, is flagged `noisy` ("measure again") instead of trusted.
    `pruned_form` names the middle form: "masked" (unit level: the same kernels, zeros inside) or
    "rewritten" (op level: the removed ops are gone from the graph, so it can be faster). `macs`: the MACs of
    the forms the caller already knows (by form name); the others are counted by tracing."""
    from explorer.pruning.compact import count
    from explorer.runtime.device import threads_for

    threads = threads_for("latency") if threads is None else threads
    forms = (("dense", dense), (pruned_form, masked), ("compacted", compacted))
    for _, m in forms:  # warm-up outside the timed rounds: first calls pay allocation and dispatch
        measure(m, x, warmup=warmup, repeats=1, threads=threads)
    times: dict[str, list[float]] = {f: [] for f, _ in forms}
    rounds = max(3, repeats // 5)
    for _ in range(rounds):
        for f, m in forms:
            times[f].append(measure(m, x, warmup=1, repeats=5, threads=threads).median_ms)
    counts = {f: count(m, x, (macs or {}).get(f)) for f, m in forms}
    rows = []
    for f, _ in forms:
        med = statistics.median(times[f])
        q = statistics.quantiles(times[f], n=4) if len(times[f]) >= 2 else [med] * 3
        ratios = [d / t for d, t in zip(times["dense"], times[f])]
        r_med = statistics.median(ratios)
        rq = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [r_med] * 3
        spread = (rq[2] - rq[0]) / r_med if r_med > 0 else float("inf")
        mac_gain = counts["dense"]["macs"] / max(1, counts[f]["macs"])
        note = ""
        if f != "dense" and spread > NOISY_SPREAD:
            note = f"noisy: speed-ups spread ±{100 * spread / 2:.0f}% over {rounds} rounds — measure again"
        elif f != "dense" and r_med > 1.5 * mac_gain + 0.2:
            note = (f"implausible: ×{r_med:.2f} is more than its MAC reduction (×{mac_gain:.2f}) allows — "
                    "measure again")
        rows.append({"form": f, **counts[f], "latency_ms": med, "iqr_ms": q[2] - q[0], "speedup": r_med,
                     "speedup_iqr": rq[2] - rq[0], "noisy": bool(note), "note": note, "rounds": rounds})
    return rows


def untimed(dense: nn.Module, pruned: nn.Module, compacted: nn.Module, x: torch.Tensor, why: str, *,
            pruned_form: str = "masked", macs: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """The rows of `compare` with the sizes only and no timing, for a cut that removes nothing (`why`):
    the forms are the same size, so any measured difference would be noise, not a speed-up or slowdown."""
    from explorer.pruning.compact import count

    return [{"form": f, **count(m, x, (macs or {}).get(f)), "latency_ms": None, "iqr_ms": None, "speedup": None,
             "speedup_iqr": None, "noisy": False, "note": why if f != "dense" else "", "rounds": 0}
            for f, m in (("dense", dense), (pruned_form, pruned), ("compacted", compacted))]
