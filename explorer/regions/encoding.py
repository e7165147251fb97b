"""A partition as a compact JSON document for live frames, and back (docs/science.md §6).

Coordinates are quantised to 16 bits over the plane's box (1/65535 of its width: far below a
pixel), packed little-endian, zlib-compressed and base64-encoded. `encode(view)` writes:

    {"exact": true, "box": [...], "regions": R, "per_level": [...],
     "cells": {"xy": b64, "n": b64 (vertices per cell), "cls": b64, "conf": b64, "region": b64},
     "bounds": {"seg": b64 (S x 4 coords), "unit": b64}, "units": [...],
     "decision": b64 (D x 4 coords)}

The cells are the regions cut further into cells of one predicted class (`decision.class_cells`),
coloured by that class and the confidence at the cell's centroid. `decode(doc)` gives a
`RegionView` of plain numpy arrays for the figures.

    >>> from explorer.regions.polygon import Polygons
    >>> v = RegionView(True, (0.0, 1.0, 0.0, 1.0), 1, (1,), Polygons.box(0, 1, 0, 1), np.array([0]),
    ...                np.array([1]), np.array([0.9]), np.zeros((0, 2, 2)), np.zeros(0, int), (), np.zeros((0, 2, 2)))
    >>> w = decode(encode(v))
    >>> w.regions, w.cells.xy.tolist(), w.cls.tolist(), round(float(w.conf[0]), 2)
    (1, [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], [1], 0.9)
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass

import numpy as np

from explorer.regions.polygon import Polygons

Q = 65535


@dataclass(frozen=True)
class RegionView:
    """What a frame draws: cells (one class each) with their region, class and confidence; unit
    boundaries with the index of their unit in `units`; the decision boundary. `exact` False marks
    a grid approximation (then `regions` counts distinct grid codes)."""

    exact: bool
    box: tuple[float, float, float, float]
    regions: int
    per_level: tuple[int, ...]
    cells: Polygons
    region: np.ndarray  # (C,) region of each cell
    cls: np.ndarray  # (C,) predicted class
    conf: np.ndarray  # (C,) confidence in [0, 1]
    bounds: np.ndarray  # (S, 2, 2)
    bound_unit: np.ndarray  # (S,)
    units: tuple[str, ...]
    decision: np.ndarray  # (D, 2, 2)
    grid: dict | None = None  # grid approximation: {"res", "cls", "conf"} arrays (res, res)


def _pack(a: np.ndarray, dtype: str) -> str:
    return base64.b64encode(zlib.compress(np.ascontiguousarray(a, dtype=dtype).tobytes(), 6)).decode()


def _unpack(s: str, dtype: str) -> np.ndarray:
    return np.frombuffer(zlib.decompress(base64.b64decode(s)), dtype=dtype)


def _quant(xy: np.ndarray, box) -> np.ndarray:
    lo = np.array([box[0], box[2]])
    span = np.array([box[1] - box[0], box[3] - box[2]])
    return np.rint(np.clip((xy.reshape(-1, 2) - lo) / span, 0, 1) * Q).astype("<u2")


def _dequant(q: np.ndarray, box) -> np.ndarray:
    lo = np.array([box[0], box[2]])
    span = np.array([box[1] - box[0], box[3] - box[2]])
    return q.reshape(-1, 2).astype(np.float64) / Q * span + lo


def encode(v: RegionView) -> dict:
    """The frame document of a view (see the module doc)."""
    doc = {"exact": v.exact, "box": list(v.box), "regions": int(v.regions), "per_level": list(v.per_level),
           "cells": {"xy": _pack(_quant(v.cells.xy, v.box), "<u2"), "n": _pack(v.cells.counts, "<u2"),
                     "cls": _pack(v.cls, "u1"), "conf": _pack(np.rint(np.clip(v.conf, 0, 1) * 255), "u1"),
                     "region": _pack(v.region, "<u4")},
           "bounds": {"seg": _pack(_quant(v.bounds, v.box), "<u2"), "unit": _pack(v.bound_unit, "<u2")},
           "units": list(v.units), "decision": _pack(_quant(v.decision, v.box), "<u2")}
    if v.grid is not None:
        doc["grid"] = {"res": int(v.grid["res"]), "cls": _pack(v.grid["cls"], "u1"),
                       "conf": _pack(np.rint(np.clip(v.grid["conf"], 0, 1) * 255), "u1")}
    return doc


def decode(doc: dict) -> RegionView:
    """The `RegionView` of a frame document."""
    box = tuple(float(b) for b in doc["box"])
    c = doc["cells"]
    n = _unpack(c["n"], "<u2").astype(np.int64)
    cells = Polygons(_dequant(_unpack(c["xy"], "<u2"), box), np.concatenate([[0], np.cumsum(n)]).astype(np.int64))
    grid = None
    if "grid" in doc:
        g = doc["grid"]
        r = int(g["res"])
        grid = {"res": r, "cls": _unpack(g["cls"], "u1").reshape(r, r),
                "conf": _unpack(g["conf"], "u1").reshape(r, r) / 255.0}
    return RegionView(bool(doc["exact"]), box, int(doc["regions"]), tuple(doc["per_level"]), cells,
                      _unpack(c["region"], "<u4").astype(np.int64), _unpack(c["cls"], "u1").astype(np.int64),
                      _unpack(c["conf"], "u1") / 255.0,
                      _dequant(_unpack(doc["bounds"]["seg"], "<u2"), box).reshape(-1, 2, 2),
                      _unpack(doc["bounds"]["unit"], "<u2").astype(np.int64), tuple(doc["units"]),
                      _dequant(_unpack(doc["decision"], "<u2"), box).reshape(-1, 2, 2), grid)
