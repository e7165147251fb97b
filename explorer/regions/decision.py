"""The decision boundary and the class cells of a partition: where the predicted class changes.

On each linear region the logits are affine, `f_k(u, v) = maps[r, k] @ (1, u, v)`. With two
classes the boundary is the zero set of `f_1 - f_0`, one segment per region it crosses (one
logit: `f_0 = 0`). With K > 2 classes the boundary between classes i and j on a region is the
chord of `f_i = f_j` clipped to where both beat every other class (`polygon.clip_segments`).
`class_cells` cuts every region further into the convex cells of one predicted class, for
colouring by class and confidence (docs/science.md §6).

    >>> from explorer.regions.polygon import Polygons
    >>> sq = Polygons.box(-1, 1, -1, 1)
    >>> maps = np.array([[[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])   # f_0 = 0, f_1 = u: boundary u = 0
    >>> decision_segments(sq, maps).tolist()
    [[[0.0, -1.0], [0.0, 1.0]]]
    >>> cells, region, cls = class_cells(sq, maps)
    >>> region.tolist(), cls.tolist(), cells.areas().tolist()
    ([0, 0], [1, 0], [2.0, 2.0])
"""

from __future__ import annotations

import numpy as np

from explorer.regions.polygon import TOL, Polygons, clip_segments, split


def decision_segments(polys: Polygons, maps: np.ndarray, tol: float = TOL) -> np.ndarray:
    """(D, 2, 2) the decision boundary inside the regions `polys` with output maps (R, n_out, 3)."""
    n_out = maps.shape[1]
    if n_out <= 2:
        g = maps[:, 0] if n_out == 1 else maps[:, 1] - maps[:, 0]
        return split(polys, g, tol).chords
    out = []
    for i in range(n_out):
        for j in range(i + 1, n_out):
            s = split(polys, maps[:, i] - maps[:, j], tol)
            if not len(s.chords):
                continue
            others = [k for k in range(n_out) if k not in (i, j)]
            cons = maps[s.chord_of][:, [i], :] - maps[s.chord_of][:, others, :]  # (C, K-2, 3): f_i - f_k >= 0
            seg = clip_segments(s.chords, cons, tol)
            out.append(seg[~np.isnan(seg[:, 0, 0])])
    return np.concatenate(out) if out else np.zeros((0, 2, 2))


def class_cells(polys: Polygons, maps: np.ndarray, tol: float = TOL) -> tuple[Polygons, np.ndarray, np.ndarray]:
    """Each region cut into cells of one predicted class. Returns (cells, region of each cell, class of each)."""
    n_out = maps.shape[1]
    region = np.arange(len(polys))
    if n_out == 1:
        s = split(polys, maps[:, 0], tol)
        return s.polygons, region[s.parent], (s.side > 0).astype(np.int64)
    best = np.zeros(len(polys), dtype=np.int64)
    cells = polys
    for j in range(1, n_out):  # tournament: class j takes over where it beats the best so far
        m = maps[region]
        s = split(cells, m[:, j] - m[np.arange(len(region)), best], tol)
        cells, region, best = s.polygons, region[s.parent], best[s.parent]
        best[s.side > 0] = j
    return cells, region, best
