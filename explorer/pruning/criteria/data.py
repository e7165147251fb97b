"""A small labelled batch for data-driven criteria (SNIP): from the model's default dataset
when one fits its input shape, else random inputs with random labels (seeded).

Datasets are generated locally (MNIST-1D with `make_dataset(get_dataset_args())`, never
`get_dataset()`, which downloads; sklearn digits and moons are bundled/generated) and
cached in-process.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch


@lru_cache(maxsize=8)
def _train_set(name: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    try:  # the project's dataset module, when present (shares its on-disk cache)
        from explorer.data import load_dataset

        d = load_dataset(name)
        return d.x_train.float(), d.y_train.long()
    except ImportError:
        pass
    except ValueError:
        return None
    if name == "mnist1d":
        from mnist1d.data import get_dataset_args, make_dataset

        d = make_dataset(get_dataset_args())
        return torch.as_tensor(d["x"], dtype=torch.float32), torch.as_tensor(d["y"], dtype=torch.long)
    from sklearn import datasets

    if name == "digits":
        d = datasets.load_digits()
        return (torch.as_tensor(d.data / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8),
                torch.as_tensor(d.target, dtype=torch.long))
    if name == "moons":
        x, y = datasets.make_moons(1000, noise=0.1, random_state=0)
        return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    return None


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


