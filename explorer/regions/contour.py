"""Zero contours of a sampled field (marching squares), for the grid approximation of smooth nets.

`zero_contour(F, us, vs)` returns the segments of `{F = 0}` for F sampled at `(us[i], vs[j])`
(F[j, i], rows = v): in every grid cell whose corners change sign, the crossings on its edges
(linear interpolation) are joined; a saddle cell (signs alternating around it) is resolved by
the sign of the cell's mean. An approximation, labelled as such wherever it is drawn.

    >>> us = vs = np.linspace(-1, 1, 5)
    >>> U, V = np.meshgrid(us, vs)
    >>> seg = zero_contour(U - 0.1, us, vs)           # the vertical line u = 0.1
    >>> len(seg), bool(np.allclose(seg[:, :, 0], 0.1))
    (4, True)
"""

from __future__ import annotations

import numpy as np


def zero_contour(F: np.ndarray, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
    """(S, 2, 2) segments of the zero set of F (len(vs), len(us))."""
    a, b = F[:-1, :-1], F[:-1, 1:]  # corners: a (u0, v0), b (u1, v0), c (u1, v1), d (u0, v1)
    c, d = F[1:, 1:], F[1:, :-1]
    u0, u1 = us[:-1][None, :], us[1:][None, :]
    v0, v1 = vs[:-1][:, None], vs[1:][:, None]
    shape = a.shape

    def cross(p, q, P0, P1):  # crossing on edge p -> q with end points P0, P1 (broadcast to cells)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.clip(p / (p - q), 0, 1)
        hit = (p > 0) != (q > 0)
        x = np.broadcast_to(P0[0], shape) + t * (np.broadcast_to(P1[0], shape) - np.broadcast_to(P0[0], shape))
        y = np.broadcast_to(P0[1], shape) + t * (np.broadcast_to(P1[1], shape) - np.broadcast_to(P0[1], shape))
        return hit, np.stack([x, y], -1)

    e = [cross(a, b, (u0, v0), (u1, v0)), cross(b, c, (u1, v0), (u1, v1)),
         cross(c, d, (u1, v1), (u0, v1)), cross(d, a, (u0, v1), (u0, v0))]  # bottom, right, top, left
    hits = np.stack([h for h, _ in e], -1)  # (..., 4)
    pts = np.stack([p for _, p in e], -2)  # (..., 4, 2)
    n = hits.sum(-1)
    out = []
    two = n == 2
    if two.any():
        h, p = hits[two], pts[two]
        first = np.argmax(h, axis=1)
        second = 3 - np.argmax(h[:, ::-1], axis=1)
        k = np.arange(len(h))
        out.append(np.stack([p[k, first], p[k, second]], 1))
    four = n == 4
    if four.any():
        p = pts[four]
        centre_pos = ((a + b + c + d) / 4)[four] > 0
        same_as_a = centre_pos == (a[four] > 0)
        # the centre joins a's corner region with c's: cut off b and d (right+bottom, top+left), else a and c
        s1 = np.where(same_as_a[:, None], p[:, [0, 1]].reshape(-1, 4), p[:, [3, 0]].reshape(-1, 4))
        s2 = np.where(same_as_a[:, None], p[:, [2, 3]].reshape(-1, 4), p[:, [1, 2]].reshape(-1, 4))
        out += [s1.reshape(-1, 2, 2), s2.reshape(-1, 2, 2)]
    return np.concatenate(out) if out else np.zeros((0, 2, 2))
