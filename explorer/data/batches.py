"""Minibatches in an order fixed by `data_seed` alone, so runs of one comparison group see the
same data in the same order.

    >>> import torch
    >>> xb, yb = next(iter(Batches(torch.zeros(10, 2), torch.zeros(10, dtype=torch.long), batch_size=4, data_seed=0)))
    >>> tuple(xb.shape), yb.dtype
    ((4, 2), torch.int64)
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from explorer.data.user_files import DataError


class Batches:
    """Endless minibatches of (x, y), reshuffled each epoch by a generator seeded with
    `data_seed` only: two runs with the same data_seed see identical batches in identical order.
    Inputs stay on their device; indexing happens there (no DataLoader, no copies per step)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, data_seed: int):
        if batch_size < 1:
            raise DataError(f"batch_size must be >= 1; got {batch_size}")
        self.x, self.y, self.batch_size = x, y, min(batch_size, len(y))
        self.gen = torch.Generator().manual_seed(int(data_seed))

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n, b = len(self.y), self.batch_size
        while True:
            perm = torch.randperm(n, generator=self.gen).to(self.x.device)
            for i in range(0, n - b + 1, b):  # drop the ragged tail: every step sees a full batch
                idx = perm[i:i + b]
                yield self.x[idx], self.y[idx]
