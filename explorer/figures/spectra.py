"""Figures of the signal-propagation lab (docs/science.md §5), drawn from the lab's documents
(`explorer.propagation.lab.run_lab`, `depth.depth_sweep`): plain dicts and lists in, plotly out.

- `spectrum_figure`: overlaid histograms of singular values on log-spaced bins, σ = 1 marked;
- `stages_figure`: one panel per init scheme, its stages overlaid (init solid, pruned dotted, isometry dashed);
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
STAGE_DASH = {"init": "solid", "pruned": "dot", "isometry": "dash"}
STAGE_LABEL = {"init": "at init", "pruned": "after pruning", "isometry": "after isometry"}
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend": {"font": {"size": 11}}}


def color(scheme: str) -> str:
    """The colour of an init scheme (gaussian:SIGMA2 shares gaussian's)."""
    return PALETTE.get(scheme.split(":")[0], "#333333")


def _floor(arrays: Sequence[np.ndarray]) -> float:
    """Half of the smallest non-zero fraction a histogram of these arrays can show (the log axis' bottom)."""
    return 0.5 / max((a.size for a in arrays), default=1)


def _add_histogram(fig: go.Figure, name: str, values: np.ndarray, edges: np.ndarray, c: str, dash: str,
                   floor: float, row: int | None = None, col: int | None = None, legend: bool = True) -> None:
    centres = np.sqrt(edges[:-1] * edges[1:])
    frac = histogram(values, edges) / values.size
    y = np.maximum(frac, floor / 10)  # empty bins drop below the log axis, so a lone spike still has its edges
    fig.add_trace(go.Scatter(x=centres, y=y, mode="lines", name=name, line_shape="hvh", showlegend=legend,
                             line={"color": c, "width": 3 if dash == "dot" else 2, "dash": dash},
                             hovertemplate=f"{name}<br>σ ≈ %{{x:.3g}}<br>fraction %{{y:.3f}}<extra></extra>"),
                  row=row, col=col)


def _isometry_line(fig: go.Figure, **where: Any) -> None:
    fig.add_vline(x=1.0, line={"dash": "dot", "color": "rgba(120,120,120,0.6)", "width": 1}, layer="below", **where)


def spectrum_figure(series: Sequence[tuple[str, Sequence[float]]], *, title: str = "", bins: int = 30,
                    dashes: Sequence[str] | None = None, colors: Sequence[str] | None = None) -> go.Figure:
    """One step-line histogram per (name, singular values) on shared log-spaced bins: x the singular
    value (log), y the fraction of the values in each bin (log, so a spread-out spectrum stays
    visible beside a spike); σ = 1, isometry, dotted."""
    arrays = [np.asarray(v, dtype=float) for _, v in series]
    fig = go.Figure()
    nonempty = [a for a in arrays if a.size]
    if nonempty:
        edges = log_edges(nonempty, bins)
        for k, ((name, _), a) in enumerate(zip(series, arrays)):
            if a.size:
                c = colors[k] if colors else color(name.split(" · ")[0])
                _add_histogram(fig, name, a, edges, c, dashes[k] if dashes else "solid", _floor(nonempty))
        _isometry_line(fig)
    fig.update_layout(title=title, height=340, xaxis={"type": "log", "dtick": 1, "title": "singular value σ (dotted: σ = 1)"},
                      yaxis={"title": "fraction of singular values", "type": "log", "dtick": 1,
                             "range": [math.log10(_floor(nonempty)), 0.05]}, **_LAYOUT)
    return fig


def stages_figure(panels: Sequence[tuple[str, Sequence[tuple[str, Sequence[float]]]]], *, bins: int = 30) -> go.Figure:
    """One panel per init scheme, its stages overlaid (init solid, pruned dotted, isometry dashed) on
    bins shared by every panel, so the panels compare at a glance."""
    n = max(1, len(panels))
    fig = make_subplots(rows=1, cols=n, shared_yaxes=True, subplot_titles=[p for p, _ in panels] or [""],
                        horizontal_spacing=0.04)
    arrays = [np.asarray(v, dtype=float) for _, stages in panels for _, v in stages]
    nonempty = [a for a in arrays if a.size]
    if nonempty:
        edges = log_edges(nonempty, bins)
        for k, (scheme, stages) in enumerate(panels, start=1):
            for stage, v in stages:
                a = np.asarray(v, dtype=float)
                if a.size:
                    _add_histogram(fig, f"{scheme} · {STAGE_LABEL.get(stage, stage)}", a, edges, color(scheme),
                                   STAGE_DASH.get(stage, "solid"), _floor(nonempty), 1, k, legend=False)
            _isometry_line(fig, row=1, col=k)
        for stage in dict.fromkeys(st for _, stages in panels for st, _ in stages):  # the legend: line styles
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=STAGE_LABEL.get(stage, stage),
                                     line={"color": "#555", "dash": STAGE_DASH.get(stage, "solid")}), row=1, col=1)
    fig.update_xaxes(type="log", dtick=1, title_text="σ")
    fig.update_yaxes(type="log", dtick=1, range=[math.log10(_floor(nonempty)), 0.05])
    fig.update_yaxes(title_text="fraction of singular values", row=1, col=1)
    fig.update_layout(height=320, **_LAYOUT)
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
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
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
            text.append([f"{v:.2g}" if v is not None else "–" for v in vals])
        fig.add_trace(go.Heatmap(z=z, x=labels, y=names, text=text, texttemplate="%{text}" if len(names) <= 20 else None,
                                 textfont={"size": 10}, colorscale="RdBu_r", zmid=0, zmin=-2, zmax=2, showscale=k == n,
                                 colorbar={"title": "log10 σ"},
                                 hovertemplate="%{y}, %{x}: σ = %{text}<extra>" + scheme + "</extra>"), row=1, col=k)
        fig.update_yaxes(autorange="reversed", row=1, col=k)
        fig.update_xaxes(type="category", row=1, col=k)  # "5%" would otherwise be read as the number 5
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
    top = max((v for _, kept in bars for v in kept.values()), default=1.0)
    top = max(top, 1 - requested if requested is not None else 0.0)
    fig.update_layout(barmode="group", height=340, yaxis={"title": "fraction of weights kept", "range": [0, 1.12 * top]},
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
