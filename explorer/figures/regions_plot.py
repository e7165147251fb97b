"""The exact regions of a network on its input plane, as TensorFlow Playground's output panel draws
its heatmap — but exact: every linear region a convex polygon, cut into cells of one predicted
class and coloured by that class and the confidence at the cell's centroid, cell edges drawn;
each unit's boundary; the decision boundary; the data (docs/science.md §6).

The cells are filled either as vector traces (`raster=False`, for the exported animation) or
painted into one image under the traces (`raster=True`, the page's live view: a browser redraws
one image and one polyline of edges far faster than hundreds of filled paths); the grid
approximation of a smooth net is always an image. Traces always come in this order (so animation
frames and selection events line up):

| traces                          | what                                                        | customdata |
|---------------------------------|-------------------------------------------------------------|------------|
| `n_classes * LEVELS` "cells c/k"| cells of class c at confidence level k (vector mode only)   | none       |
| "region edges"                  | the cells' edges, one polyline                              | none       |
| "unit boundaries"               | the zero set of every unit, one polyline                    | none       |
| "boundary handles"              | a marker in the middle of each boundary piece (click: prune)| unit id    |
| "decision boundary"             | where the predicted class changes                           | none       |
| "train", "test"                 | the data                                                    | none       |

    >>> from explorer.regions.encoding import RegionView
    >>> from explorer.regions.polygon import Polygons
    >>> v = RegionView(True, (0.0, 1.0, 0.0, 1.0), 1, (1,), Polygons.box(0, 1, 0, 1), np.array([0]), np.array([1]),
    ...                np.array([0.9]), np.array([[[0.5, 0.0], [0.5, 1.0]]]), np.array([0]), ("h1[0]",), np.zeros((0, 2, 2)))
    >>> fig = regions_figure(v)
    >>> [t.name for t in fig.data][-6:], list(fig.data[-4].customdata), len(fig.layout.images)
    (['region edges', 'unit boundaries', 'boundary handles', 'decision boundary', 'train', 'test'], ['h1[0]'], 1)
"""

from __future__ import annotations

from collections.abc import Sequence

import base64
import io

import numpy as np
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, qualitative

from explorer.regions.encoding import RegionView
from explorer.regions.polygon import Polygons

LEVELS = 6  # confidence levels per class
CLASS_COLORS = ["#f59322", "#0877bd"] + [c for c in qualitative.D3 if c not in ("#ff7f0e", "#1f77b4")]
TRACE_HANDLES = "boundary handles"


def class_color(c: int, strength: float) -> str:
    """Class c's colour mixed with white: strength 0 white, 1 the full colour."""
    return "rgb({},{},{})".format(*_rgb(c, strength))


def rings(p: Polygons) -> tuple[np.ndarray, np.ndarray]:
    """x, y of every polygon closed on its first vertex, NaN between polygons (float32: compact JSON)."""
    R = len(p)
    if R == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    out = np.full((len(p.xy) + 2 * R, 2), np.nan)
    pos = np.arange(len(p.xy)) + 2 * p.owner()
    out[pos] = p.xy
    out[p.start[1:] + 2 * np.arange(R)] = p.xy[p.start[:-1]]
    return out[:, 0].astype(np.float32), out[:, 1].astype(np.float32)


def segments_xy(seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y of segments (S, 2, 2) as one polyline, NaN between segments."""
    if len(seg) == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    out = np.concatenate([seg, np.full((len(seg), 1, 2), np.nan)], 1).reshape(-1, 2)
    return out[:, 0].astype(np.float32), out[:, 1].astype(np.float32)


def _levels(v: RegionView, K: int) -> np.ndarray:
    lo = 1.0 / K
    return np.clip(((v.conf - lo) / (1 - lo) * LEVELS).astype(int), 0, LEVELS - 1) if len(v.conf) else v.cls


def n_classes_of(v: RegionView, n_classes: int) -> int:
    return max(n_classes, int(v.cls.max(initial=0)) + 1)


def region_traces(v: RegionView, n_classes: int, *, discretize: bool = False, hidden_units: Sequence[str] = (),
                  data: dict | None = None, show_test: bool = False, raster: bool = False) -> list[go.Scatter]:
    """The traces of `regions_figure` in their fixed order (see the module doc)."""
    traces: list = []
    K = n_classes_of(v, n_classes)
    level = _levels(v, K)
    if not raster:
        for c in range(K):
            for k in range(LEVELS):
                idx = np.nonzero((v.cls == c) & (level == k))[0] if len(v.cls) else np.zeros(0, int)
                x, y = rings(v.cells.take(idx)) if len(idx) else (np.zeros(0, np.float32), np.zeros(0, np.float32))
                strength = 0.85 if discretize else (k + 0.5) / LEVELS
                traces.append(go.Scatter(x=x, y=y, mode="lines", fill="toself", fillcolor=class_color(c, strength),
                                         line=dict(width=0), hoverinfo="skip", name=f"cells {c}/{k}",
                                         showlegend=False))
    x, y = rings(v.cells)
    traces.append(go.Scatter(x=x, y=y, mode="lines", name="region edges", hoverinfo="skip", showlegend=False,
                             line=dict(color="rgba(255,255,255,0.85)", width=0.6)))
    keep = np.array([u not in set(hidden_units) for u in v.units], dtype=bool)
    sel = keep[v.bound_unit] if len(v.bound_unit) else np.zeros(0, bool)
    seg, who = v.bounds[sel], v.bound_unit[sel]
    x, y = segments_xy(seg)
    traces.append(go.Scatter(x=x, y=y, mode="lines", name="unit boundaries", hoverinfo="skip",
                             line=dict(color="rgba(40,40,40,0.55)", width=1.0), showlegend=False))
    mid = seg.mean(axis=1) if len(seg) else np.zeros((0, 2))
    ids = np.asarray([v.units[i] for i in who], dtype=object)
    traces.append(go.Scatter(x=mid[:, 0].astype(np.float32), y=mid[:, 1].astype(np.float32), mode="markers",
                             name=TRACE_HANDLES, customdata=ids, hovertemplate="boundary of %{customdata}<br>"
                             "click to prune this unit<extra></extra>",
                             marker=dict(size=6, color="rgba(40,40,40,0.16)", line=dict(width=0)), showlegend=False))
    x, y = segments_xy(v.decision)
    traces.append(go.Scatter(x=x, y=y, mode="lines", name="decision boundary", hoverinfo="skip",
                             line=dict(color="#111", width=2.6), showlegend=False))
    for split in ("train", "test"):
        pts = (data or {}).get(split) if (split == "train" or show_test) else None
        xs, ys = (pts[0], pts[1]) if pts is not None else (np.zeros((0, 2)), np.zeros(0, int))
        traces.append(go.Scatter(
            x=xs[:, 0], y=xs[:, 1], mode="markers", name=split, hoverinfo="skip", showlegend=False,
            marker=dict(size=5.5, color=[CLASS_COLORS[int(c) % len(CLASS_COLORS)] for c in ys],
                        line=dict(width=1, color="white" if split == "train" else "black"))))
    return traces


def cells_png(v: RegionView, n_classes: int, discretize: bool = False, size: int = 560) -> str:
    """A data-URI PNG of the cells (or the grid approximation) over the box, painted at twice `size` and
    downsampled (antialiased edges)."""
    from PIL import Image, ImageDraw

    K = n_classes_of(v, n_classes)
    a, b, c, d = v.box
    if v.grid is not None:
        lo = 1.0 / K
        strength = np.full_like(v.grid["conf"], 0.85) if discretize else np.clip((v.grid["conf"] - lo) / (1 - lo), 0, 1)
        rgb = np.array([[_rgb(int(cl), float(st)) for cl, st in zip(rc, rs)] for rc, rs in
                        zip(v.grid["cls"], strength)], dtype=np.uint8)[::-1]
        img = Image.fromarray(rgb, "RGB").resize((size, size), Image.NEAREST)
    else:
        S = 2 * size
        img = Image.new("RGB", (S, S), "white")
        draw = ImageDraw.Draw(img)
        level = _levels(v, K)
        px = (v.cells.xy[:, 0] - a) / (b - a) * S
        py = (d - v.cells.xy[:, 1]) / (d - c) * S
        for r in range(len(v.cells)):
            i, j = v.cells.start[r], v.cells.start[r + 1]
            strength = 0.85 if discretize else (level[r] + 0.5) / LEVELS
            draw.polygon(list(zip(px[i:j], py[i:j])), fill=_rgb(int(v.cls[r]), strength))
        img = img.resize((size, size), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _rgb(c: int, strength: float) -> tuple[int, int, int]:
    r, g, b = hex_to_rgb(CLASS_COLORS[c % len(CLASS_COLORS)])
    s = 0.15 + 0.85 * float(np.clip(strength, 0, 1))
    return int(255 - s * (255 - r)), int(255 - s * (255 - g)), int(255 - s * (255 - b))


def regions_figure(v: RegionView, n_classes: int = 2, *, discretize: bool = False, hidden_units: Sequence[str] = (),
                   data: dict | None = None, show_test: bool = False, title: str | None = None,
                   labels: tuple[str, str] = ("x₁", "x₂"), height: int = 520, raster: bool = True) -> go.Figure:
    """The regions panel (see the module doc). `data`: {"train": (x (n, 2), y), "test": ...}."""
    raster = raster or v.grid is not None
    a, b, c, d = v.box
    images = [dict(source=cells_png(v, n_classes, discretize), xref="x", yref="y", x=a, y=d, sizex=b - a,
                   sizey=d - c, xanchor="left", yanchor="top", sizing="stretch", layer="below")] if raster else []
    fig = go.Figure(region_traces(v, n_classes, discretize=discretize, hidden_units=hidden_units, data=data,
                                  show_test=show_test, raster=raster), layout=dict(images=images))
    what = f"{v.regions} linear regions (exact)" if v.exact else \
        f"grid approximation: {v.regions} sign patterns on the grid (smooth activations have no linear regions)"
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=36, b=10), plot_bgcolor="white",
                      title=dict(text=title or what, font=dict(size=13), x=0.01, y=0.985),
                      clickmode="event+select", dragmode="zoom", hovermode="closest", uirevision="regions")
    fig.update_xaxes(range=[a, b], constrain="domain", showgrid=False, zeroline=False, title_text=labels[0])
    fig.update_yaxes(range=[c, d], scaleanchor="x", scaleratio=1, showgrid=False, zeroline=False, title_text=labels[1])
    return fig
