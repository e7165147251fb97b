"""Where work computes: `cuda` when available, then `mps`, else the CPU; and on how many CPU threads.

    >>> resolve("cpu")
    device(type='cpu')

Threads are chosen per role, never left to torch's default (all cores, spinning OpenMP
threads): on a small, shared CPU the spinning threads fight every other process. Measured on
the 2-core box with one busy process beside it: a 40-100-100-10 MLP trained at 227 steps/s on
two threads against 560 on one, and resnet18's forward took 79 ms on two against 66 on one
(quiet, two threads win: 37 vs 57 ms; `bench/bench_threads.py`). So:

| role          | threads                      | why                                                   |
|---------------|------------------------------|-------------------------------------------------------|
| `interactive` | half the cores (at least 1)  | the app's script thread, beside a training worker     |
| `worker`      | 1 per training process       | runs train side by side; the UI keeps a core          |
| `latency`     | 1                            | a timing is only comparable on a fixed thread count   |
| `cli`         | every core this process may use | a foreground command owns the machine              |
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

ROLES = ("interactive", "worker", "latency", "cli")
DEVICES = ("auto", "cpu", "cuda", "mps")  # what a config may ask for: auto, or a device by name


def cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def threads_for(role: str) -> int:
    """The torch thread count for `role` (table in the module doc).

    >>> threads_for("latency"), threads_for("worker")
    (1, 1)
    """
    if role not in ROLES:
        raise ValueError(f"unknown thread role {role!r}; use one of {', '.join(ROLES)}")
    if role == "interactive":
        return max(1, cores() // 2)
    if role == "cli":
        return cores()
    return 1


def use_threads(role: str) -> int:
    """Set torch's intra-op thread count for `role` in this process; returns it. Before torch is
    imported this only sets `OMP_NUM_THREADS` (unless the user set it), which torch reads when it is:
    the app's first run does not pay torch's import (`ui.warmup` does, in the background)."""
    n = threads_for(role)
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_NUM_THREADS", str(n))
        return n
    import torch  # a real import: waits for another thread still importing it (ui.warmup)

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


class DeviceError(ValueError):
    """A device that was asked for but is not present on this machine."""


def available() -> list[str]:
    """Device names usable here, best first (always ends with "cpu")."""
    import torch

    out = []
    if torch.cuda.is_available():
        out.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return [*out, "cpu"]


def resolve(name: str = "auto") -> torch.device:
    """`auto` -> the best available device; `cpu`/`cuda`/`mps` -> that device, if present."""
    import torch

    have = available()
    if name == "auto":
        return torch.device(have[0])
    if name not in DEVICES:
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    if name not in have:
        raise DeviceError(f"device {name!r} was asked for but this machine has only {', '.join(have)}; "
                          "use device='auto' to take the best one present")
    return torch.device(name)


def describe(device: torch.device) -> str:
    """A short, recordable name: "cpu", "cuda:0 (NVIDIA H100 80GB HBM3)", "mps"."""
    import torch

    if device.type == "cuda":
        i = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{i} ({torch.cuda.get_device_name(i)})"
    return device.type
