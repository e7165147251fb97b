"""Convex polygons in batches: the cells of a 2-D partition, each split exactly along its own line.

`Polygons` holds R convex polygons as one `(V, 2)` float64 array of vertices — each polygon's
vertices contiguous and counter-clockwise — and offsets `start` `(R+1,)`. `split(polys, coeff)`
cuts every polygon along its own line `c0 + c1 x + c2 y = 0` at once: a half-plane clip of a
convex polygon (Sutherland–Hodgman with a single edge) written as a few vectorised numpy
passes over all vertices, so the cost is O(V) whatever R is (docs/science.md §6).

    >>> sq = Polygons.box(0, 2, 0, 1)
    >>> s = split(sq, np.array([[-1.0, 1.0, 0.0]]))    # the line x = 1
    >>> len(s.polygons), s.parent.tolist(), s.side.tolist()
    (2, [0, 0], [1, -1])
    >>> s.polygons.areas().tolist()
    [1.0, 1.0]
    >>> s.chords.tolist()
    [[[1.0, 0.0], [1.0, 1.0]]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOL = 1e-9  # a vertex within TOL * |its terms| of a line lies on it


@dataclass(frozen=True)
class Polygons:
    """R convex polygons: vertices `xy` (V, 2), polygon r is `xy[start[r]:start[r + 1]]`."""

    xy: np.ndarray  # (V, 2) float64, counter-clockwise per polygon
    start: np.ndarray  # (R+1,) int64

    @classmethod
    def box(cls, xmin: float, xmax: float, ymin: float, ymax: float) -> Polygons:
        """One rectangle, counter-clockwise from the lower-left corner."""
        if not (xmax > xmin and ymax > ymin):
            raise ValueError(f"box ({xmin}, {xmax}, {ymin}, {ymax}) is empty: give XMIN < XMAX and YMIN < YMAX")
        xy = np.array([[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax]], dtype=np.float64)
        return cls(xy, np.array([0, 4], dtype=np.int64))

    @classmethod
    def from_list(cls, polys: list[np.ndarray]) -> Polygons:
        counts = [len(p) for p in polys]
        xy = np.concatenate(polys).astype(np.float64) if polys else np.zeros((0, 2))
        return cls(xy, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))

    def __len__(self) -> int:
        return len(self.start) - 1

    def __repr__(self) -> str:
        return f"Polygons({len(self)} convex, {len(self.xy)} vertices)"

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.start)

    def owner(self) -> np.ndarray:
        """(V,) the polygon of each vertex."""
        return np.repeat(np.arange(len(self)), self.counts)

    def nxt(self) -> np.ndarray:
        """(V,) index of the next vertex of the same polygon (cyclically)."""
        i = np.arange(len(self.xy)) + 1
        i[self.start[1:] - 1] = self.start[:-1]
        return i

    def polygon(self, r: int) -> np.ndarray:
        return self.xy[self.start[r]:self.start[r + 1]]

    def to_list(self) -> list[np.ndarray]:
        return [self.polygon(r) for r in range(len(self))]

    def take(self, idx: np.ndarray) -> Polygons:
        """The polygons `idx` (in that order)."""
        idx = np.asarray(idx, dtype=np.int64)
        c = self.counts[idx]
        rep = np.repeat(self.start[idx] - np.concatenate([[0], np.cumsum(c)[:-1]]), c)
        return Polygons(self.xy[np.arange(int(c.sum())) + rep], np.concatenate([[0], np.cumsum(c)]).astype(np.int64))

    def _cross(self) -> np.ndarray:
        a, b = self.xy, self.xy[self.nxt()]
        return a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1]  # (V,) shoelace terms

    def areas(self) -> np.ndarray:
        """(R,) areas (shoelace)."""
        return np.bincount(self.owner(), self._cross(), minlength=len(self)) / 2

    def centroids(self) -> np.ndarray:
        """(R, 2) area centroids (inside, the polygons being convex); vertex means for degenerate ones."""
        own, cr, nx = self.owner(), self._cross(), self.nxt()
        a = np.bincount(own, cr, minlength=len(self)) / 2
        s = self.xy + self.xy[nx]
        cx = np.bincount(own, s[:, 0] * cr, minlength=len(self))
        cy = np.bincount(own, s[:, 1] * cr, minlength=len(self))
        mean = np.stack([np.bincount(own, self.xy[:, k], minlength=len(self)) for k in (0, 1)], 1) / \
            np.maximum(self.counts, 1)[:, None]
        ok = np.abs(a) > 1e-300
        out = mean.copy()
        out[ok] = np.stack([cx[ok], cy[ok]], 1) / (6 * a[ok, None])
        return out

    def contains(self, r: int, pts: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """(n,) whether each point of `pts` (n, 2) lies in polygon r (edges included, up to `tol`)."""
        p = self.polygon(r)
        e = np.roll(p, -1, axis=0) - p  # (m, 2) edges
        d = pts[:, None, :] - p[None, :, :]  # (n, m, 2)
        cross = e[None, :, 0] * d[:, :, 1] - e[None, :, 1] * d[:, :, 0]
        scale = np.linalg.norm(e, axis=1)[None, :] * (1 + np.abs(pts).max(axis=1, keepdims=True))
        return (cross >= -tol * scale).all(axis=1)


def values(polys: Polygons, coeff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each polygon's line `c0 + c1 x + c2 y` (coeff (R, 3)) at its vertices, and the size of its terms.
    Returns (values (V,), scale (V,))."""
    own = polys.owner()
    c = coeff[own]  # (V, 3)
    x, y = polys.xy[:, 0], polys.xy[:, 1]
    v = c[:, 0] + c[:, 1] * x + c[:, 2] * y
    return v, np.abs(c[:, 0]) + np.abs(c[:, 1] * x) + np.abs(c[:, 2] * y)


@dataclass(frozen=True)
class Split:
    """The result of `split`: the polygons after the cut and where each came from.

    Polygon r < R is polygon r of the input, or its positive part where the line cut it; the
    negative parts of the S cut polygons follow as R..R+S-1 (`parent` names their polygon).
    `side` is +1 / -1 for the side of the line a polygon lies on (0: the line vanishes on it).
    `chords` (C, 2, 2) are the pieces of the lines inside the polygons (`chord_of`: whose line,
    an input index) — a cut's chord, or an edge the line runs along (taken on its + side only)."""

    polygons: Polygons
    parent: np.ndarray  # (R+S,) int64
    side: np.ndarray  # (R+S,) int8
    chords: np.ndarray  # (C, 2, 2)
    chord_of: np.ndarray  # (C,) int64


def split(polys: Polygons, coeff: np.ndarray, tol: float = TOL) -> Split:
    """Cut polygon r along its own line `coeff[r] = (c0, c1, c2)`, for every r at once (see `Split`)."""
    R = len(polys)
    own, nx = polys.owner(), polys.nxt()
    v, scale = values(polys, coeff)
    cls = np.where(v > tol * scale, 1, np.where(v < -tol * scale, -1, 0)).astype(np.int8)
    hi = np.maximum.reduceat(cls, polys.start[:-1]) if R else np.zeros(0, np.int8)
    lo = np.minimum.reduceat(cls, polys.start[:-1]) if R else np.zeros(0, np.int8)
    cut = (hi == 1) & (lo == -1)
    side = np.where(hi == 1, 1, np.where(lo == -1, -1, 0)).astype(np.int8)
    cutv = cut[own]
    cross = cutv & (cls * cls[nx] == -1)
    P = polys.xy.copy()
    if cross.any():
        i = np.nonzero(cross)[0]
        t = v[i] / (v[i] - v[nx[i]])
        P[i] = polys.xy[i] + t[:, None] * (polys.xy[nx[i]] - polys.xy[i])
    pts = np.stack([polys.xy, P], 1)  # (V, 2 slots, 2): the vertex, then the crossing on the edge after it
    own2 = np.repeat(own, 2).reshape(-1, 2)
    keep_pos = np.stack([~cutv | (cls >= 0), cross], 1)
    keep_neg = np.stack([cutv & (cls <= 0), cross], 1)
    cut_idx = np.nonzero(cut)[0]
    new_of = np.full(R, -1, dtype=np.int64)
    new_of[cut_idx] = R + np.arange(len(cut_idx))
    pos_own, neg_own = own2[keep_pos], new_of[own2[keep_neg]]
    counts = np.concatenate([np.bincount(pos_own, minlength=R), np.bincount(neg_own - R, minlength=len(cut_idx))])
    out = Polygons(np.concatenate([pts[keep_pos], pts[keep_neg]]), np.concatenate([[0], np.cumsum(counts)]))
    parent = np.concatenate([np.arange(R), cut_idx])
    side_out = np.concatenate([side, np.full(len(cut_idx), -1, np.int8)])
    side_out[cut_idx] = 1
    chords, chord_of = _chords(polys, coeff, cls, cutv, cross, P, own, nx, side)
    return Split(out, parent, side_out, chords, chord_of)


def _chords(polys, coeff, cls, cutv, cross, P, own, nx, side) -> tuple[np.ndarray, np.ndarray]:
    """The line's piece in each cut polygon (its extreme points on the line), and edges lying on it."""
    on = cutv & (cls == 0)
    pts = np.concatenate([polys.xy[on], P[cross]])
    who = np.concatenate([own[on], own[cross]])
    segs = np.zeros((0, 2, 2))
    if len(who):
        d = np.stack([-coeff[who, 2], coeff[who, 1]], 1)  # direction of the line
        t = (pts * d).sum(1)
        o = np.lexsort((t, who))
        who_s = who[o]
        first = np.nonzero(np.r_[True, who_s[1:] != who_s[:-1]])[0]
        last = np.r_[first[1:] - 1, len(o) - 1]
        segs = np.stack([pts[o[first]], pts[o[last]]], 1)
        who = who_s[first]
    edge = (~cutv) & (cls == 0) & (cls[nx] == 0) & (side[own] == 1)
    if edge.any():
        e = np.nonzero(edge)[0]
        segs = np.concatenate([segs, np.stack([polys.xy[e], polys.xy[nx[e]]], 1)])
        who = np.concatenate([who, own[e]])
    return segs, who.astype(np.int64)


def clip_segments(segs: np.ndarray, coeff: np.ndarray, tol: float = TOL) -> np.ndarray:
    """Clip segments (S, 2, 2) to the half-planes `c0 + c1 x + c2 y >= 0` (coeff (S, K, 3), K per segment).
    Returns (S, 2, 2) with NaN rows where nothing is left."""
    a, b = segs[:, 0], segs[:, 1]
    lo, hi = np.zeros(len(segs)), np.ones(len(segs))
    for k in range(coeff.shape[1]):
        c = coeff[:, k]
        fa = c[:, 0] + c[:, 1] * a[:, 0] + c[:, 2] * a[:, 1]
        fb = c[:, 0] + c[:, 1] * b[:, 0] + c[:, 2] * b[:, 1]
        eps = tol * (np.abs(c[:, 0]) + np.abs(c[:, 1:]).sum(1) * (1 + np.abs(segs).max(axis=(1, 2))))
        df = fb - fa
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -fa / df
        up = df > eps  # f grows along the segment: t >= t0
        down = df < -eps
        lo = np.where(up, np.maximum(lo, t), lo)
        hi = np.where(down, np.minimum(hi, t), hi)
        flat_out = ~up & ~down & (fa < -eps)
        hi = np.where(flat_out, -1.0, hi)
    out = a[:, None, :] + np.stack([lo, hi], 1)[:, :, None] * (b - a)[:, None, :]
    out[hi - lo <= 1e-12] = np.nan
    return out
