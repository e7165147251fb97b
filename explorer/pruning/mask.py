"""Masks: which weights of a model survive pruning (docs/science.md §3).

A `Mask` maps parameter names (as in `model.named_parameters()`) to 0/1 tensors of the
parameter's shape; parameters it does not name are kept whole. It validates itself on
every write, as open_lth's does, and applies to a model by multiplying in place.

    >>> m = Mask({"fc.weight": torch.tensor([[1.0, 0.0], [1.0, 1.0]])})
    >>> m
    Mask(1 tensors, 3/4 kept, sparsity 25.0%)
    >>> m["fc.weight"] = torch.tensor([2.0])
    Traceback (most recent call last):
    ...
    explorer.pruning.mask.MaskError: mask 'fc.weight' must hold only 0 and 1; found 2.0
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
from torch import nn


class MaskError(ValueError):
    """A mask that is not 0/1, names no parameter, or does not fit its parameter's shape."""


class Mask(Mapping[str, torch.Tensor]):
    """Parameter name -> 0/1 float tensor. Missing names mean "keep everything"."""

    def __init__(self, tensors: Mapping[str, torch.Tensor] | None = None):
        self._t: dict[str, torch.Tensor] = {}
        for k, v in (tensors or {}).items():
            self[k] = v

    # ---- Mapping ----------------------------------------------------------------------
    def __getitem__(self, name: str) -> torch.Tensor:
        return self._t[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._t)

    def __len__(self) -> int:
        return len(self._t)

    def __setitem__(self, name: str, value: torch.Tensor) -> None:
        if not isinstance(name, str) or not name:
            raise MaskError("mask names must be non-empty parameter names")
        value = torch.as_tensor(value).detach().to(torch.float32).cpu()
        bad = value[(value != 0) & (value != 1)]
        if bad.numel():
            raise MaskError(f"mask {name!r} must hold only 0 and 1; found {bad.flatten()[0].item()}")
        self._t[name] = value

    # ---- construction -----------------------------------------------------------------
    @classmethod
    def ones_like(cls, model: nn.Module, names: list[str] | None = None) -> Mask:
        """The dense mask over `names` (default: every weight of dimension >= 2)."""
        params = dict(model.named_parameters())
        names = names if names is not None else prunable_names(model)
        return cls({n: torch.ones_like(params[n]) for n in names})

    # ---- facts ------------------------------------------------------------------------
    @property
    def kept(self) -> int:
        return int(sum(v.sum().item() for v in self._t.values()))

    @property
    def total(self) -> int:
        return int(sum(v.numel() for v in self._t.values()))

    @property
    def sparsity(self) -> float:
        """Fraction of masked entries that are pruned (0 for an empty mask)."""
        return 1.0 - self.kept / self.total if self.total else 0.0

    def layer_density(self) -> dict[str, float]:
        return {k: float(v.mean().item()) for k, v in self._t.items()}

    def __repr__(self) -> str:
        return f"Mask({len(self)} tensors, {self.kept}/{self.total} kept, sparsity {100 * self.sparsity:.1f}%)"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Mask) and set(self) == set(other)
                and all(torch.equal(self[k], other[k]) for k in self))

    def is_subset_of(self, other: Mask) -> bool:
        """True when every entry kept here is also kept in `other` (IMP masks only shrink)."""
        return all(k in other and bool((self[k] <= other[k]).all()) for k in self)

    def __and__(self, other: Mask) -> Mask:
        out = Mask(self)
        for k, v in other.items():
            out[k] = out[k] * v if k in out else v
        return out

    # ---- use --------------------------------------------------------------------------
    def check(self, model: nn.Module) -> None:
        """Raise `MaskError` if a name is not a parameter of `model` or a shape differs."""
        params = dict(model.named_parameters())
        for k, v in self._t.items():
            if k not in params:
                raise MaskError(f"mask names {k!r}, which is not a parameter of {type(model).__name__}")
            if tuple(v.shape) != tuple(params[k].shape):
                raise MaskError(f"mask {k!r} has shape {tuple(v.shape)} but the parameter has "
                                f"{tuple(params[k].shape)}")

    @torch.no_grad()
    def apply_(self, model: nn.Module) -> nn.Module:
        """Zero the pruned entries of `model` in place; returns `model`."""
        self.check(model)
        params = dict(model.named_parameters())
        for k, v in self._t.items():
            params[k].mul_(v.to(params[k].device, params[k].dtype))
        return model

    # ---- files (never pickle) ---------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write as safetensors (uint8), with the sparsity in the header metadata."""
        from safetensors.torch import save_file

        save_file({k: v.to(torch.uint8).contiguous() for k, v in self._t.items()}, str(path),
                  metadata={"format": "explorer-mask", "sparsity": json.dumps(self.sparsity)})

    @classmethod
    def load(cls, path: str | Path) -> Mask:
        from safetensors.torch import load_file

        try:
            tensors = load_file(str(path))
        except Exception as e:  # safetensors raises its own error types for bad headers
            raise MaskError(f"{path} is not a readable safetensors mask: {e}") from e
        return cls({k: v.float() for k, v in tensors.items()})


def prunable_names(model: nn.Module) -> list[str]:
    """Names of the weights pruning acts on by default: every parameter with >= 2 dimensions
    (Linear/Conv weights), not biases or normalisation scales."""
    return [n for n, p in model.named_parameters() if p.dim() >= 2]
