"""What a loaded model is: the module, an example input, and facts about it for the pickers.

    >>> info = ZooInfo("mlp", (40,), "an MLP", dataset="mnist1d", num_classes=10)
    >>> info.source, info.input_shape
    ('zoo', (40,))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn


class ModelSpecError(ValueError):
    """A model name or file that cannot be loaded; the message says why and what is accepted."""


@dataclass(frozen=True)
class Recipe:
    """How a zoo model trains well on its dataset (measured): Adam at `lr` for `steps` (batch 100)
    reaches about `test_acc`; a quick comparison trains `quick_steps`. `lottery`: the Lottery lab's
    settings for this model where a paper or notebook fixes them, as (setting, value) pairs."""

    lr: float
    steps: int
    quick_steps: int
    test_acc: float
    lottery: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class ZooInfo:
    """What the pickers show about a model: where it comes from and what it eats."""

    name: str
    input_shape: tuple[int, ...]  # without the batch dimension
    description: str
    source: str = "zoo"  # "zoo" | "torchvision" | "file"
    dataset: str | None = None  # default training dataset, where one fits
    num_classes: int | None = None
    n_inputs: int = 1  # tensors the forward takes (the example input is a tuple of them when > 1)
    recipe: Recipe | None = None  # zoo models: settings that train them well


@dataclass
class LoadedModel:
    model: nn.Module
    example_input: Any  # a batch (B, *input_shape), or a tuple of batches for a model of several inputs
    info: ZooInfo


# ---------------------------------------------------------------------------------------
# Zoo models. Each is small enough for the unit-level view and trains in seconds on CPU.
# ---------------------------------------------------------------------------------------
