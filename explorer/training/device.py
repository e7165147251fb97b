"""Where a run computes: `cuda` when available, then `mps`, else the CPU; or the user's choice.

    >>> resolve("cpu")
    device(type='cpu')
"""

from __future__ import annotations

import torch


class DeviceError(ValueError):
    """A device that was asked for but is not present on this machine."""


def available() -> list[str]:
    """Device names usable here, best first (always ends with "cpu")."""
    out = []
    if torch.cuda.is_available():
        out.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return [*out, "cpu"]


def resolve(name: str = "auto") -> torch.device:
    """`auto` -> the best available device; `cpu`/`cuda`/`mps` -> that device, if present."""
    have = available()
    if name == "auto":
        return torch.device(have[0])
    if name not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    if name not in have:
        raise DeviceError(f"device {name!r} was asked for but this machine has only {', '.join(have)}; "
                          "use device='auto' to take the best one present")
    return torch.device(name)


def describe(device: torch.device) -> str:
    """A short, recordable name: "cpu", "cuda:0 (NVIDIA H100 80GB HBM3)", "mps"."""
    if device.type == "cuda":
        i = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{i} ({torch.cuda.get_device_name(i)})"
    return device.type
