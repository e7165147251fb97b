"""An overlay on the DAG figure: the nodes coloured (or sized) by a per-node metric, with a colour bar in
the metric's unit (`explorer.overlays`). The figure is restyled, not redrawn: only the node trace of a
`dag_plot.dag_figure` changes, so switching the overlay of a 2,000-node graph costs a copy of the figure.

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> from explorer.figures.dag_plot import dag_figure
    >>> from explorer.overlays import overlay
    >>> dag = Dag.build([Node("x", "input"), Node("h", "linear", params=6), Node("y", "linear", params=3)],
    ...                 [Arc("x", "h"), Arc("h", "y")], "op")
    >>> fig = with_overlay(dag_figure(dag), dag, overlay("params", dag))
    >>> fig.data[-1].marker.colorbar.title.text
    'params (parameters), log scale'
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from explorer.graph.dag import Dag
from explorer.overlays.base import Overlay

SCALE = "Viridis"


def _ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Colour-bar ticks of a log10(1 + v) scale, labelled with the values themselves (1, 10, 100, ...)."""
    vals = [0.0] + [10.0 ** k for k in range(0, int(math.ceil(hi)) + 1)]
    vals = [v for v in vals if lo - 1e-9 <= math.log10(1 + v) <= hi + 1e-9]
    return [math.log10(1 + v) for v in vals], [f"{v:,.0f}" if v < 1e4 else f"{v:.0e}" for v in vals]


def with_overlay(fig: go.Figure, dag: Dag, ov: Overlay, by: str = "color") -> go.Figure:
    """A copy of `fig` (a `dag_figure` of `dag`) with its nodes coloured (`by="color"`) or sized
    (`by="size"`) by `ov`; flagged nodes (noisy, unreliable) drawn as crossed circles; the hover gains
    the value."""
    if by not in ("color", "size"):
        raise ValueError(f"by must be 'color' or 'size', not {by!r}")
    out = go.Figure(fig)
    nodes = out.data[-1]
    ids = list(nodes.customdata)
    v = np.array([ov.values.get(i, np.nan) for i in ids], dtype=float)
    finite = np.isfinite(v)
    c = np.log10(1 + np.clip(v, 0, None)) if ov.log else v.copy()
    lo, hi = (float(c[finite].min()), float(c[finite].max())) if finite.any() else (0.0, 1.0)
    lo, hi = ov.range if ov.range is not None else (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)
    title = f"{ov.name} ({ov.unit})" + (", log scale" if ov.log else "")
    hover = [f"{h}<br><b>{ov.name}: " + (f"{x:.4g} {ov.unit}" if np.isfinite(x) else "no value") + "</b>"
             + (" (noisy)" if i in ov.flagged else "")
             for h, x, i in zip(nodes.hovertext, v, ids)]
    symbols = ["circle-x" if i in ov.flagged else "circle" for i in ids]
    if by == "color":
        cbar = dict(title=dict(text=title), thickness=14, len=0.9)
        if ov.log:
            cbar["tickvals"], cbar["ticktext"] = _ticks(lo, hi)
        colors = np.where(finite, c, lo)
        nodes.update(marker=dict(color=colors, cmin=lo, cmax=hi, colorscale=SCALE, colorbar=cbar, symbol=symbols),
                     hovertext=hover)
        if not finite.all():  # nodes the metric does not cover (no weights): hollow and faint
            op = np.asarray(nodes.marker.opacity if nodes.marker.opacity is not None else 1.0, dtype=float)
            nodes.marker.opacity = np.where(finite, np.broadcast_to(op, finite.shape), 0.35)
            nodes.marker.symbol = [s if f else "circle-open" for s, f in zip(symbols, finite)]
    else:
        base = np.asarray(nodes.marker.size, dtype=float)
        s = np.where(finite, (c - lo) / (hi - lo), 0.0)
        nodes.update(marker=dict(size=base * (0.6 + 2.4 * np.sqrt(s)), symbol=symbols), hovertext=hover)
        out.add_annotation(text=f"size: {title}", xref="paper", yref="paper", x=1, y=1.02, showarrow=False,
                           xanchor="right", font=dict(size=11))
    return out
