"""Learning curves: downsampled, overlaid, one colour per role (the role registry's colours).

    >>> downsample([(i, float(i)) for i in range(10)], 4)
    [(0, 0.0), (3, 3.0), (6, 6.0), (9, 9.0)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from explorer.lottery.roles import ROLES

MAX_POINTS = 400  # per curve: long runs are downsampled before drawing


def downsample(points: Sequence[tuple[int, float]], n: int = MAX_POINTS) -> list[tuple[int, float]]:
    """At most `n` points, evenly spaced by index, always keeping the first and last."""
    if len(points) <= n:
        return list(points)
    idx = sorted({round(i * (len(points) - 1) / (n - 1)) for i in range(n)})
    return [points[i] for i in idx]


def curves_figure(runs: Sequence[Any], metrics: Mapping[str, Sequence[Mapping[str, Any]]], *,
                  y: str = "acc", target: float | None = None, max_points: int = MAX_POINTS) -> Any:
    """Overlaid learning curves: train (solid) and test (dotted) `y` against step, one colour per
    role (dense, ticket, controls), one trace per run; `target` as a dashed horizontal line."""
    import plotly.graph_objects as go

    fig = go.Figure()
    dash = {"train": "solid", "test": "dot"}
    for r in runs:
        role = r.config.init
        for split in ("train", "test"):
            pts = [(m["step"], m[y]) for m in metrics.get(r.id, ()) if m["split"] == split and m[y] is not None]
            pts = downsample(pts, max_points)
            if not pts:
                continue
            fig.add_trace(go.Scatter(
                x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines", name=f"{r.label} · {split}",
                legendgroup=role, line={"color": ROLES[role].color if role in ROLES else "#2ca02c", "dash": dash[split], "width": 2},
                hovertemplate=f"{r.label} ({split})<br>step %{{x}}<br>{y} %{{y:.4f}}<extra>{r.id}</extra>"))
    if not runs:
        fig.add_annotation(text="learning curves of the selected group appear here", showarrow=False,
                           x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 14, "color": "#888"})
    if target is not None:
        fig.add_hline(y=target, line={"dash": "dash", "color": "#2ca02c"},
                      annotation_text=f"target {target:.3f}", annotation_position="bottom right")
    fig.update_layout(xaxis_title="iteration (optimiser step)", yaxis_title={"acc": "accuracy", "loss": "loss"}[y],
                      height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"font": {"size": 10}},
                      uirevision="curves")  # keep zoom across live refreshes
    return fig
