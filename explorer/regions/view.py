"""What a figure or a frame shows of a network on a plane: the exact partition when the network
is piecewise linear, else a grid approximation that says so (docs/science.md §6).

- `exact_view(P)`: the regions of a `Partition` cut into cells of one predicted class, each
  coloured by the class and confidence at its centroid, with every unit's boundary and the
  decision boundary — all exact;
- `grid_view(lift, plane, res)`: for tanh/sigmoid nets, the class and confidence on a res x res
  grid, unit boundaries and the decision boundary as zero contours, and the number of distinct
  sign patterns on the grid in place of a region count — `exact` False, never shown as exact;
- `view(lift, plane)`: the first when it applies, else the second.

    >>> import torch
    >>> from explorer.graph.unit import unit_dag
    >>> from explorer.lifting import lifting
    >>> from explorer.regions.plane import Plane
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    >>> v = view(lifting(unit_dag(net, torch.randn(1, 2), "tiny")), Plane.rect(-3, 3, -3, 3))
    >>> v.exact, v.regions <= 11, len(v.units)
    (False, True, 4)
"""

from __future__ import annotations

import numpy as np

from explorer.lifting.numeric import NumericLifting
from explorer.regions.contour import zero_contour
from explorer.regions.decision import class_cells
from explorer.regions.encoding import RegionView
from explorer.regions.partition import MAX_REGIONS, Partition, partition
from explorer.regions.plan import NotPiecewiseLinear, level_plan
from explorer.regions.plane import Plane
from explorer.regions.polygon import Polygons
from explorer.regions.probe import codes_at, level_values

GRID_RES = 100  # the grid approximation's resolution (TensorFlow Playground samples 100 x 100)


def softmax_top(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class, confidence) of logits (n, K); one logit: the sigmoid's."""
    if logits.shape[1] == 1:
        p = 1 / (1 + np.exp(-logits[:, 0]))
        return (p > 0.5).astype(np.int64), np.maximum(p, 1 - p)
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    return p.argmax(axis=1), p.max(axis=1)


def exact_view(P: Partition) -> RegionView:
    cells, region, cls = class_cells(P.polygons, P.maps)
    cen = cells.centroids()
    _, conf = softmax_top(P.logits_at(cen, region))
    return RegionView(True, P.plane.box, len(P), P.per_level, cells, region, cls, conf, P.boundaries,
                      P.boundary_unit, P.units, P.decision)


def grid_view(lift: NumericLifting, plane: Plane, res: int = GRID_RES) -> RegionView:
    us, vs, uv = plane.grid(res)
    X = plane.inputs(uv)
    Z, pres = level_values(lift, X)
    codes, _ = codes_at(lift, X)
    logits = Z[lift.out_slots].T  # (res*res, n_out)
    cls, conf = softmax_top(logits)
    segs, who, units = [], [], []
    for l in range(1, lift.L + 1):
        for u in level_plan(lift, l, exact=False).units:
            kinks = u.kinks if u.phi.piecewise_linear else (0.0,)
            for k in u.local:
                for kink in kinks:
                    s = zero_contour((pres[l][k] - kink).reshape(res, res), us, vs)
                    if len(s):
                        if u.node not in units:
                            units.append(u.node)
                        segs.append(s)
                        who.append(np.full(len(s), units.index(u.node)))
    if logits.shape[1] <= 2:
        d = logits[:, 0] if logits.shape[1] == 1 else logits[:, 1] - logits[:, 0]
        decision = zero_contour(d.reshape(res, res), us, vs)
    else:
        decision = _class_edges(cls.reshape(res, res), us, vs)
    n_codes = len(np.unique(codes, axis=0)) if codes.shape[1] else 1
    return RegionView(False, plane.box, n_codes, (), Polygons.from_list([]), np.zeros(0, np.int64),
                      np.zeros(0, np.int64), np.zeros(0), np.concatenate(segs) if segs else np.zeros((0, 2, 2)),
                      np.concatenate(who) if who else np.zeros(0, np.int64), tuple(units), decision,
                      {"res": res, "cls": cls.reshape(res, res), "conf": conf.reshape(res, res)})


def _class_edges(C: np.ndarray, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
    """Pixel edges between grid cells of different class (a staircase approximation)."""
    du, dv = us[1] - us[0], vs[1] - vs[0]
    j, i = np.nonzero(C[:, 1:] != C[:, :-1])
    a = np.stack([np.stack([us[i] + du / 2, vs[j] - dv / 2], 1), np.stack([us[i] + du / 2, vs[j] + dv / 2], 1)], 1)
    j, i = np.nonzero(C[1:, :] != C[:-1, :])
    b = np.stack([np.stack([us[i] - du / 2, vs[j] + dv / 2], 1), np.stack([us[i] + du / 2, vs[j] + dv / 2], 1)], 1)
    return np.concatenate([a, b])


def view(lift: NumericLifting, plane: Plane, *, res: int = GRID_RES, max_regions: int = MAX_REGIONS) -> RegionView:
    """The exact view when the network is piecewise linear, else the grid approximation."""
    try:
        return exact_view(partition(lift, plane, max_regions=max_regions))
    except NotPiecewiseLinear:
        return grid_view(lift, plane, res)
