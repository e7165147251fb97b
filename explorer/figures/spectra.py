"""Figures of the signal-propagation lab (docs/science.md §5), drawn from the lab's documents
(`explorer.propagation.lab.run_lab`, `depth.depth_sweep`): plain dicts and lists in, plotly out.

- `spectrum_figure`: overlaid histograms of singular values on log-spaced bins, σ = 1 marked;
- `depth_figure`: mean ± std and the condition number of the spectrum against depth, per scheme;
- `layer_heatmap`: per-layer spread, layer × quantile, coloured by log10 σ (white = 1);
- `kept_figure`: the fraction of each layer's weights a pruning keeps, per scheme and criterion;
- `penalty_figure`: the isometry penalty against SGD step, per scheme.

    >>> fig = spectrum_figure([("orthogonal", [1.0, 1.0, 1.0]), ("gaussian:1", [0.1, 0.5, 2.0])])
    >>> [t.name for t in fig.data]
    ['orthogonal', 'gaussian:1']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.propagation.spectrum import QUANTILES, histogram, log_edges

PALETTE = {"orthogonal": "#2ca02c", "delta-orthogonal": "#17becf", "kaiming-normal": "#d62728",
           "kaiming-uniform": "#ff7f0e", "xavier-normal": "#9467bd", "xavier-uniform": "#e377c2",
           "lecun-normal": "#8c564b", "gaussian": "#1f77b4", "as-built": "#7f7f7f"}
STAGE_DASH = {"init": "solid", "pruned": "dash", "isometry": "dot"}
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend": {"font": {"size": 11}}}


def color(scheme: str) -> str:
    """The colour of an init scheme (gaussian:SIGMA2 shares gaussian's)."""
    return PALETTE.get(scheme.split(":")[0], "#333333")


def spectrum_figure(series: Sequence[tuple[str, Sequence[float]]], *, title: str = "", bins: int = 40,
                    dashes: Sequence[str] | None = None, colors: Sequence[str] | None = None) -> go.Figure:
    """One step-line histogram per (name, singular values) on shared log-spaced bins; x on a log axis,
    y the fraction of values per bin, σ = 1 (isometry) as a dashed line."""
    arrays = [np.asarray(v, dtype=float) for _, v in series]
    fig = go.Figure()
    if arrays and any(a.size for a in arrays):
        edges = log_edges([a for a in arrays if a.size], bins)
        centres = np.sqrt(edges[:-1] * edges[1:])
        for k, ((name, _), a) in enumerate(zip(series, arrays)):
            if not a.size:
                continue
            frac = histogram(a, edges) / a.size
            c = colors[k] if colors else color(name.split(" · ")[0])
            fig.add_trace(go.Scatter(x=centres, y=frac, mode="lines", name=name, line_shape="hvh",
                                     line={"color": c, "width": 2, "dash": dashes[k] if dashes else "solid"},
                                     hovertemplate=f"{name}<br>σ ≈ %{{x:.3g}}<br>fraction %{{y:.3f}}<extra></extra>"))
        fig.add_vline(x=1.0, line={"dash": "dash", "color": "#999"}, annotation_text="σ = 1",
                      annotation_position="top")
    fig.update_layout(title=title, height=340, xaxis={"type": "log", "title": "singular value σ"},
                      yaxis={"title": "fraction of singular values"}, **_LAYOUT)
    return fig


def depth_figure(points: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Left: mean ± std of the singular values against depth; right: max / min (log), one line per scheme."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("mean ± std of σ", "condition number max σ / min σ"))
    for scheme in dict.fromkeys(p["init"] for p in points):
        ps = sorted((p for p in points if p["init"] == scheme), key=lambda p: p["depth"])
        c = color(scheme)
        fig.add_trace(go.Scatter(x=[p["depth"] for p in ps], y=[p["mean"] for p in ps], name=scheme, mode="lines+markers",
                                 error_y={"type": "data", "array": [p["std"] for p in ps], "visible": True},
                                 line={"color": c}, legendgroup=scheme), row=1, col=1)
        cond = [p["max"] / p["min"] if p["min"] > 0 else None for p in ps]
        fig.add_trace(go.Scatter(x=[p["depth"] for p in ps], y=cond, name=scheme, mode="lines+markers",
                                 line={"color": c}, legendgroup=scheme, showlegend=False), row=1, col=2)
    fig.update_xaxes(title_text="depth (weight matrices)")
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(height=360, **_LAYOUT)
    return fig


def layer_heatmap(schemes: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]) -> go.Figure:
    """Per scheme a heatmap, layer (rows, input side at the top) × quantile of its map's singular
    values, coloured by log10 σ on a diverging scale centred at σ = 1; skipped layers stay blank."""
    cols = [f"q{round(100 * q)}" for q in QUANTILES]
    labels = ["min", "5%", "25%", "median", "75%", "95%", "max"]
    n = max(1, len(schemes))
    fig = make_subplots(rows=1, cols=n, subplot_titles=[s for s, _ in schemes] or [""], horizontal_spacing=0.08)
    for k, (scheme, layers) in enumerate(schemes, start=1):
        names = [l["layer"] for l in layers]
        z, text = [], []
        for l in layers:
            q = l.get("quantiles") or {}
            vals = [q.get(c) for c in cols]
            z.append([math.log10(v) if v and v > 0 else (-6.0 if v == 0 else None) for v in vals])
            text.append([f"{v:.3g}" if v is not None else "–" for v in vals])
        fig.add_trace(go.Heatmap(z=z, x=labels, y=names, text=text, texttemplate="%{text}" if len(names) <= 20 else None,
                                 colorscale="RdBu", zmid=0, zmin=-2, zmax=2, showscale=k == n,
                                 colorbar={"title": "log10 σ"},
                                 hovertemplate="%{y}, %{x}: σ = %{text}<extra>" + scheme + "</extra>"), row=1, col=k)
        fig.update_yaxes(autorange="reversed", row=1, col=k)
    fig.update_layout(height=max(260, 60 + 28 * max((len(l) for _, l in schemes), default=1)), **_LAYOUT)
    return fig


def kept_figure(bars: Sequence[tuple[str, Mapping[str, float]]], requested: float | None = None,
                twins: Sequence[bool] | None = None) -> go.Figure:
    """Grouped bars: per layer, the fraction of its weights kept, one bar per (name, kept map); a
    `twins` flag hatches a bar (the other SNIP, supervised vs unsupervised). The uniform rate 1 − s dashed."""
    fig = go.Figure()
    for k, (name, kept) in enumerate(bars):
        fig.add_trace(go.Bar(x=list(kept), y=list(kept.values()), name=name,
                             marker={"color": color(name.split(" · ")[0]),
                                     "pattern": {"shape": "/" if twins and twins[k] else ""}},
                             hovertemplate=f"{name}<br>%{{x}}: %{{y:.3f}} kept<extra></extra>"))
    if requested is not None:
        fig.add_hline(y=1 - requested, line={"dash": "dash", "color": "#999"},
                      annotation_text=f"uniform {1 - requested:.2f}", annotation_position="top left")
    fig.update_layout(barmode="group", height=340, yaxis={"title": "fraction of weights kept", "rangemode": "tozero"},
                      xaxis={"title": "layer"}, **_LAYOUT)
    return fig


def penalty_figure(curves: Sequence[tuple[str, Sequence[float], Sequence[int] | None]]) -> go.Figure:
    """The isometry penalty Σ_l ‖(C⊙W)ᵀ(C⊙W) − I‖_F against SGD step (log y), one line per scheme."""
    fig = go.Figure()
    for name, values, steps in curves:
        xs = list(steps) if steps is not None else list(range(len(values)))
        fig.add_trace(go.Scatter(x=xs, y=list(values), mode="lines", name=name, line={"color": color(name)},
                                 hovertemplate=f"{name}<br>step %{{x}}<br>penalty %{{y:.4g}}<extra></extra>"))
    fig.update_layout(height=320, xaxis={"title": "SGD step"}, yaxis={"title": "isometry penalty", "type": "log"},
                      uirevision="penalty", **_LAYOUT)
    return fig
