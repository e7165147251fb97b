"""How far the partition moved between two checkpoints, and the early-bird draw it gives
(You et al., "Drawing Early-Bird Tickets", ICLR 2020; the spline view, TMLR 2022; docs/science.md §6).

The partition distance is the normalised Hamming distance between the activation codes of two
checkpoints on one fixed probe set (a grid over the plane): per level, the fraction of code
entries that differ; then the mean over the levels that have bending units. 0 means the same
regions everywhere the probes look; it settles early in training. The early-bird ticket is
drawn at the first checkpoint whose last `window` distances all stay below `threshold`.

    >>> a = np.array([[0, 1, 1], [1, 1, 0]])
    >>> b = np.array([[0, 1, 0], [1, 1, 0]])
    >>> partition_distance(a, b, np.array([1, 1, 2]))       # level 1 equal, level 2: 1 of 2 differ
    0.25
    >>> early_bird([0.5, 0.3, 0.12, 0.08, 0.05, 0.04], window=3, threshold=0.16)
    4
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

EB_WINDOW = 3  # the spline early-bird's window of checkpoints (You et al. 2022)
EB_THRESHOLD = 0.16  # its bound on the largest distance in the window


class DistanceError(ValueError):
    """Codes that cannot be compared (different probe sets or networks)."""


def partition_distance(a: np.ndarray, b: np.ndarray, level: np.ndarray) -> float:
    """Mean over levels of the fraction of differing code entries of codes a, b (B, n_code) on the same probes."""
    if a.shape != b.shape or len(level) != a.shape[1]:
        raise DistanceError(f"codes of shapes {a.shape} and {b.shape} (levels for {len(level)} columns) do not "
                            "come from the same network and probe set; compare checkpoints of one network")
    if a.shape[1] == 0:
        return 0.0
    diff = a != b
    return float(np.mean([diff[:, level == l].mean() for l in np.unique(level)]))


def early_bird(distances: Sequence[float | None], window: int = EB_WINDOW,
               threshold: float = EB_THRESHOLD) -> int | None:
    """Index of the first checkpoint whose last `window` distances (None: not measured) are all < threshold."""
    run = 0
    for i, d in enumerate(distances):
        run = run + 1 if d is not None and d < threshold else 0
        if run >= window:
            return i
    return None
