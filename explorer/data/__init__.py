"""Data that needs no download, and the user's own files (docs/science.md §8).

- `datasets`   — `load_dataset(name)`: MNIST-1D (generated locally), digits, moons, circles,
  spirals, xor, or a user file; a fixed train/test split as a `DataSplit`;
- `user_files` — `.csv`/`.npz` files, validated row by row (`DataError` names file, row and fix);
- `variants`   — `BASE@key=value` names: MNIST-1D with another seed or noise level, permuted labels;
- `batches`    — `Batches`: minibatches in an order fixed by the data seed alone;
- `sample`     — `default_batch`: a small labelled batch for data-driven criteria.
"""

from explorer.data.batches import Batches
from explorer.data.datasets import BUILTIN, DataSplit, load_dataset
from explorer.data.user_files import DataError

__all__ = ["BUILTIN", "Batches", "DataError", "DataSplit", "load_dataset"]
