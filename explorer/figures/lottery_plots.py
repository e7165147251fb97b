"""The Lottery lab's charts (docs/science.md §4, §6, §7), drawn from the lab's documents.

- `accuracy_figure`: test accuracy vs remaining weights (log x, as in the LTH paper), ticket
  and controls as mean ± std over seeds, the dense network as a band;
- `iterations_figure`: iterations to the target vs remaining weights, the dense run as a band;
- `flow_figure`: the IMP flow, per-layer density × round (heatmap), with its convergence;
- `stability_figure`: test error along the line between two copies, the barrier marked;
- `earlybird_figure`: the pairwise mask-distance heatmap, the draw marked.

    >>> doc = {"dense": {"test_acc": [0.6, 0.7]}, "rounds": [{"round": 1, "sparsity": 0.5, "remaining": 0.5,
    ...        "runs": {"ticket": {"test_acc": [0.7, 0.8]}, "random": {"test_acc": [0.5, 0.5]}}}]}
    >>> [t.name for t in accuracy_figure(doc).data]
    ['ticket', 'random-mask control']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.lottery.flow import Flow
from explorer.lottery.report import TITLES, mean_std, roles, series
from explorer.training.roles import ROLES

COLORS = {"ticket": ROLES["ticket"].color, "reinit": ROLES["reinit"].color, "random": ROLES["random"].color,
          "dense": ROLES["dense"].color, "earlybird": "#2ca02c", "end": ROLES["ticket"].color}
LAYOUT = {"height": 400, "margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend": {"font": {"size": 11}}}


def _empty(fig: go.Figure, text: str, y_range: tuple[float, float] | None = None,
           x_range: tuple[float, float] | None = None) -> go.Figure:
    """A placeholder: the note, and axes that show what will be drawn (`y_range`) or no numbers at all,
    never plotly's default -1..4."""
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": "#888"})
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    else:
        fig.update_yaxes(showticklabels=False, zeroline=False)
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    elif fig.layout.xaxis.type != "log":
        fig.update_xaxes(showticklabels=False, zeroline=False)
    return fig


def _dense_band(fig: go.Figure, xs: Sequence[Any], scale: float, label: str) -> None:
    m, s, n = mean_std(xs)
    if not n:
        return
    fig.add_hrect(y0=scale * (m - s), y1=scale * (m + s), fillcolor=COLORS["dense"], opacity=0.12, line_width=0)
    fig.add_hline(y=scale * m, line={"color": COLORS["dense"], "dash": "dash"}, annotation_text=label,
                  annotation_position="bottom left")


def _role_lines(fig: go.Figure, doc: Mapping[str, Any], key: str, scale: float, unit: str) -> None:
    for role in roles(doc):
        pts = series(doc, role, key)
        if not pts:
            continue
        fig.add_trace(go.Scatter(
            x=[100 * p[0] for p in pts], y=[scale * p[1] for p in pts], name=TITLES.get(role, role),
            mode="lines+markers", line={"color": COLORS.get(role, "#2ca02c"), "width": 2},
            error_y={"type": "data", "array": [scale * p[2] for p in pts], "visible": True},
            customdata=[p[3] for p in pts],
            hovertemplate=f"{TITLES.get(role, role)}<br>%{{x:.2f}}% of weights left<br>%{{y:.1f}}{unit} "
                          "(mean ± std over %{customdata} seeds)<extra></extra>"))


def _remaining_axis(fig: go.Figure, doc: Mapping[str, Any]) -> None:
    """Log x from 100% down, ticked at the rounds' own remaining fractions (thinned to ~10)."""
    xs = sorted({100.0} | {100 * float(e.get("remaining", 1 - e["sparsity"])) for e in doc.get("rounds", [])},
                reverse=True)
    step = max(1, len(xs) // 10)
    ticks = xs[::step]
    fig.update_xaxes(type="log", autorange="reversed", title="weights remaining (%, log scale)", tickvals=ticks,
                     ticktext=[f"{x:.3g}" for x in ticks], minor={"showgrid": False})
    if len(xs) == 1:  # nothing pruned yet: 100% down to 1% (a log axis's range is in decades)
        fig.update_xaxes(autorange=False, range=[2, 0], tickvals=[100, 10, 1], ticktext=["100", "10", "1"])


def accuracy_figure(doc: Mapping[str, Any], key: str = "test_acc") -> go.Figure:
    """Test accuracy (or `key`) of each role vs the remaining weights; dense as a dashed band."""
    fig = go.Figure()
    if not doc.get("rounds"):
        _empty(fig, "accuracy vs sparsity grows here round by round", (0, 100))
    _role_lines(fig, doc, key, 100, "%")
    if doc.get("dense"):
        _dense_band(fig, doc["dense"].get(key, []), 100, "dense")
    _remaining_axis(fig, doc)
    fig.update_layout(yaxis_title={"test_acc": "final test accuracy (%)", "best_train_acc": "best train accuracy (%)",
                                   "best_test_acc": "best test accuracy (%)"}.get(key, key),
                      title="Accuracy vs sparsity", uirevision="accuracy", **LAYOUT)
    return fig


def iterations_figure(doc: Mapping[str, Any]) -> go.Figure:
    """Iterations to reach the target (a fraction of the dense best train accuracy) vs remaining weights."""
    fig = go.Figure()
    if not doc.get("rounds"):
        _empty(fig, "iterations to target vs sparsity grows here")
        fig.update_yaxes(rangemode="nonnegative")
    _role_lines(fig, doc, "iters_to_target", 1, " iterations")
    if doc.get("dense"):
        _dense_band(fig, doc["dense"].get("iters_to_target", []), 1, "dense")
    _remaining_axis(fig, doc)
    fig.update_layout(yaxis_title="iterations to target", title="Iterations to target (runs that reached it)",
                      uirevision="iterations", **LAYOUT)
    return fig


def flow_figure(f: Flow) -> go.Figure:
    """Per-layer density × round as a heatmap, and the flow's convergence below it."""
    fig = make_subplots(rows=2, cols=1, row_heights=[0.68, 0.32], vertical_spacing=0.12,
                        subplot_titles=("density of each layer (kept fraction)", "distance between successive rounds"))
    if not f.layers:
        return _empty(fig, "the IMP flow appears after the first round")
    fig.add_trace(go.Heatmap(z=f.density, x=f.rounds, y=f.layers, colorscale="Viridis", zmin=0, zmax=1,
                             colorbar={"title": "density", "len": 0.65, "y": 0.68},
                             hovertemplate="%{y}<br>round %{x}: %{z:.4f} kept<extra></extra>"), row=1, col=1)
    xs = f.rounds[1:]
    fig.add_trace(go.Scatter(x=xs, y=f.step, name="density vectors ‖d_r − d_(r−1)‖", mode="lines+markers"),
                  row=2, col=1)
    fig.add_trace(go.Scatter(x=xs, y=f.shape, name="relative profile ‖d_r/D_r − d_(r−1)/D_(r−1)‖",
                             mode="lines+markers"), row=2, col=1)
    fig.update_xaxes(title="IMP round", dtick=1, row=2, col=1)
    fig.update_xaxes(dtick=1, row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=1)  # the first layer on top
    fig.update_layout(height=520, margin={"l": 10, "r": 10, "t": 40, "b": 10}, uirevision="flow",
                      legend={"orientation": "h", "y": -0.25, "font": {"size": 11}})
    return fig


def stability_figure(doc: Mapping[str, Any]) -> go.Figure:
    """Test error along the straight line between the two copies (per seed thin, mean thick)."""
    fig = go.Figure()
    if not doc.get("curve"):
        return _empty(fig, "the error along the line between the two copies appears here", (0, 100), (0, 1))
    for p in doc.get("per_seed", []):
        fig.add_trace(go.Scatter(x=[c[0] for c in p["curve"]], y=[100 * c[1] for c in p["curve"]],
                                 name=f"seed {p['seed']} (barrier {100 * p['barrier']:.2f} pts)", mode="lines",
                                 line={"width": 1, "color": "#aaa"}))
    xs, ys = [c[0] for c in doc["curve"]], [100 * c[1] for c in doc["curve"]]
    fig.add_trace(go.Scatter(x=xs, y=ys, name="mean", mode="lines+markers", line={"width": 3, "color": COLORS["ticket"]}))
    top = max(range(len(ys)), key=ys.__getitem__)
    b = 100 * (doc.get("barrier") or 0.0)
    fig.add_annotation(x=xs[top], y=ys[top], text=f"barrier {b:.2f} pts", showarrow=True, arrowhead=2)
    fig.update_layout(xaxis_title="α  (θ = (1−α) θ_A + α θ_B)", yaxis_title="test error (%)",
                      title="Linear interpolation between the two copies", uirevision="stability", **LAYOUT)
    return fig


def earlybird_figure(matrix: Sequence[Sequence[float | None]], steps: Sequence[int], draw_step: int | None,
                     spline: Sequence[float | None] = (), spline_draw: int | None = None,
                     window: int = 5) -> go.Figure:
    """The pairwise distances of the masks of every evaluation (heatmap; at the draw, the `window` masks
    that agreed are boxed), and the activation-code distance between successive evaluations (spline)."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.58, 0.42], horizontal_spacing=0.12,
                        subplot_titles=("mask distance between evaluations", "activation-code distance (spline)"))
    if not matrix:
        return _empty(fig, "the mask-distance heatmap grows here as the dense network trains")
    n = len(matrix)
    idx, labels = list(range(n)), [int(v) for v in steps[:n]]
    top = max(0.3, max((v for row in matrix for v in row if v is not None), default=0))
    fig.add_trace(go.Heatmap(z=matrix, x=idx, y=idx, colorscale="Blues_r", zmin=0, zmax=top, customdata=[
        [[labels[j], labels[i]] for j in idx] for i in idx], colorbar={"title": "distance", "x": 0.5},
        hovertemplate="steps %{customdata[0]} vs %{customdata[1]}: %{z:.3f}<extra></extra>"), row=1, col=1)
    if draw_step is not None and draw_step in labels:
        k = labels.index(draw_step)
        fig.add_shape(type="rect", x0=max(-0.5, k - window + 0.5), x1=k + 0.5, y0=k - 0.5, y1=k + 0.5, line={"color": "#d62728", "width": 3},
                      row=1, col=1)
        fig.add_annotation(x=k, y=k, text=f"drawn at step {draw_step}", showarrow=True, arrowhead=2, ax=40, ay=-30, bgcolor="white",
                           font={"color": "#d62728"}, row=1, col=1)
    every = max(1, n // 8)
    ticks = {"tickvals": idx[::every], "ticktext": [str(v) for v in labels[::every]]}
    sx = [steps[i + 1] for i in range(len(spline)) if i + 1 < len(steps)]
    fig.add_trace(go.Scatter(x=sx, y=list(spline)[:len(sx)], mode="lines+markers", name="code distance",
                             showlegend=False), row=1, col=2)
    if spline_draw is not None:
        fig.add_vline(x=spline_draw, line={"color": "#d62728", "dash": "dash"}, row=1, col=2)
    fig.update_xaxes(title="step", row=1, col=1, **ticks)
    fig.update_yaxes(autorange="reversed", row=1, col=1, **ticks)
    fig.update_xaxes(title="step", row=1, col=2)
    fig.update_layout(height=440, margin={"l": 10, "r": 10, "t": 40, "b": 10}, uirevision="earlybird")
    return fig
