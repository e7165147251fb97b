"""A small labelled batch for data-driven criteria (SNIP) and probes: n samples of the model's
default dataset when one fits its input shape, else seeded random inputs with random labels.

    >>> x, y, source = default_batch("moons", (2,), 2, n=8)
    >>> tuple(x.shape), source
    ((8, 2), 'moons')
    >>> default_batch(None, (3,), 4, n=2)[2]
    'random inputs, random labels'
"""

from __future__ import annotations

import math

import torch

from explorer.concurrency.once import once_per_key
from explorer.data.datasets import load_dataset
from explorer.data.user_files import DataError


@once_per_key(maxsize=8)
def _train_set(name: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    try:
        d = load_dataset(name)
    except DataError:
        return None
    return d.x_train.float(), d.y_train.long()


def default_batch(dataset: str | None, input_shape: tuple[int, ...], num_classes: int | None,
                  n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, str]:
    """`(x, y, source)`: n samples of `dataset` viewed as `input_shape`, or random when none fits.

    `source` says which ("mnist1d", "random inputs, random labels", ...), for the proposal's notes."""
    g = torch.Generator().manual_seed(seed)
    data = _train_set(dataset) if dataset else None
    if data is not None:
        x, y = data
        if math.prod(x.shape[1:]) == math.prod(input_shape) and (num_classes is None or int(y.max()) < num_classes):
            idx = torch.randperm(len(y), generator=g)[:n]
            return x[idx].reshape(-1, *input_shape), y[idx], dataset
    k = num_classes or 10
    x = torch.randn(n, *input_shape, generator=g)
    y = torch.randint(0, k, (n,), generator=g)
    return x, y, "random inputs, random labels"
