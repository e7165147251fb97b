"""The playground's curves over training steps: loss (train, test), the number of linear regions
(in all and after each level), and the partition distance with the early-bird draw marked
(docs/science.md §6); a dotted line where units were pruned.

    >>> frames = [{"step": s, "train_loss": 1 / (s + 1), "test_loss": 1.2 / (s + 1), "count": 10 + s,
    ...            "per_level": [5, 10 + s, 10 + s], "distance": None if s < 20 else 0.1, "early_bird": 60 if s >= 60 else None,
    ...            "pruned": [] if s < 40 else ["h1[0]"]} for s in range(0, 100, 20)]
    >>> fig = curves_figure(frames, 0.16)
    >>> [t.name for t in fig.data]
    ['train loss', 'test loss', 'regions', 'after level 1', 'partition distance']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots


def early_bird_step(frames: Sequence[dict[str, Any]]) -> int | None:
    return next((int(f["early_bird"]) for f in frames if f.get("early_bird") is not None), None)


def _line(frames: Sequence[dict[str, Any]], key: str, i: int | None = None) -> np.ndarray:
    vals = [(f.get(key) if i is None else (f.get(key) or [])[i] if len(f.get(key) or []) > i else None) for f in frames]
    return np.array([np.nan if v is None else float(v) for v in vals])


def curves_figure(frames: Sequence[dict[str, Any]], eb_threshold: float | None = None, height: int = 480) -> go.Figure:
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.09,
                        subplot_titles=("loss", "linear regions", "partition distance (one epoch back)"))
    steps = np.array([f["step"] for f in frames], dtype=float)
    fig.add_trace(go.Scatter(x=steps, y=_line(frames, "train_loss"), name="train loss",
                             line=dict(color="#333", width=2)), 1, 1)
    fig.add_trace(go.Scatter(x=steps, y=_line(frames, "test_loss"), name="test loss",
                             line=dict(color="#999", width=2, dash="dot")), 1, 1)
    fig.add_trace(go.Scatter(x=steps, y=_line(frames, "count"), name="regions", line=dict(color="#0877bd", width=2)),
                  2, 1)
    n_lv = max((len(f.get("per_level") or []) for f in frames), default=0)
    for l in range(n_lv - 2):  # the last hidden level's count is the total (the output adds no bend)
        fig.add_trace(go.Scatter(x=steps, y=_line(frames, "per_level", l), name=f"after level {l + 1}",
                                 line=dict(width=1, dash="dash"), opacity=0.6), 2, 1)
    fig.add_trace(go.Scatter(x=steps, y=_line(frames, "distance"), name="partition distance",
                             line=dict(color="#f59322", width=2), connectgaps=False), 3, 1)
    shapes, notes = [], []
    if eb_threshold is not None:
        shapes.append(dict(type="line", xref="x3 domain", yref="y3", x0=0, x1=1, y0=eb_threshold, y1=eb_threshold,
                           line=dict(color="#f59322", width=1, dash="dot")))
    eb = early_bird_step(frames)
    if eb is not None:
        shapes += [dict(type="line", xref="x", yref=f"y{r} domain" if r > 1 else "y domain", x0=eb, x1=eb, y0=0, y1=1,
                        line=dict(color="#2ca02c", width=2)) for r in (1, 2, 3)]
        notes.append(dict(x=eb, y=1, xref="x", yref="paper", text=f"early bird @ {eb}", showarrow=False,
                          yanchor="bottom", font=dict(color="#2ca02c", size=12)))
    prev: list = []
    for f in frames:
        now = list(f.get("pruned") or [])
        if len(now) > len(prev):
            shapes += [dict(type="line", xref="x", yref=f"y{r} domain" if r > 1 else "y domain", x0=f["step"],
                            x1=f["step"], y0=0, y1=1, line=dict(color="#d62728", width=1, dash="dot")) for r in (1, 2, 3)]
        prev = now
    # the legend hangs below the bottom axis's title ("step"), in a margin kept for it
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=70), plot_bgcolor="white",
                      legend=dict(orientation="h", yanchor="top", y=-0.13, x=0), uirevision="curves", shapes=shapes,
                      annotations=list(fig.layout.annotations) + notes)
    fig.update_xaxes(showgrid=True, gridcolor="#eee")
    fig.update_xaxes(title_text="step", row=3, col=1)
    fig.update_yaxes(showgrid=True, gridcolor="#eee", rangemode="tozero")
    if not frames:  # before the first step: axes from 0, not plotly's default -1..4
        fig.update_xaxes(range=[0, 100])
        fig.update_yaxes(range=[0, 1])
    return fig
