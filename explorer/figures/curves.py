"""Learning curves: downsampled, overlaid, one colour per role (the role registry's colours).

    >>> downsample([(i, float(i)) for i in range(10)], 4)
    [(0, 0.0), (3, 3.0), (6, 6.0), (9, 9.0)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from explorer.training.roles import ROLES

MAX_POINTS = 400  # per curve: long runs are downsampled before drawing


def downsample(points: Sequence[tuple[int, float]], n: int = MAX_POINTS) -> list[tuple[int, float]]:
    """At most `n` points, evenly spaced by index, always keeping the first and last."""
    if len(points) <= n:
        return list(points)
    idx = sorted({round(i * (len(points) - 1) / (n - 1)) for i in range(n)})
    return [points[i] for i in idx]


def role_bands(runs: Sequence[Any], metrics: Mapping[str, Sequence[Mapping[str, Any]]], y: str, split: str
               ) -> dict[str, tuple[list[int], list[float], list[float], int]]:
    """Per role: (steps, mean, std over its runs, number of runs) of `y` on `split`, at the steps every
    run of the role has reached (a run still going shortens its role's band to where it is)."""
    import numpy as np

    out = {}
    by_role: dict[str, list[dict[int, float]]] = {}
    for r in runs:
        pts = {m["step"]: m[y] for m in metrics.get(r.id, ()) if m["split"] == split and m[y] is not None}
        if pts:
            by_role.setdefault(r.config.init, []).append(pts)
    for role, curves in by_role.items():
        steps = sorted(set.intersection(*(set(c) for c in curves)))
        vals = np.array([[c[s] for c in curves] for s in steps], dtype=np.float64).reshape(len(steps), len(curves))
        std = vals.std(axis=1, ddof=1) if len(curves) > 1 else np.zeros(len(steps))  # the sample std, as stdev
        out[role] = (steps, vals.mean(axis=1).tolist(), std.tolist(), len(curves))
    return out


def curves_figure(runs: Sequence[Any], metrics: Mapping[str, Sequence[Mapping[str, Any]]], *,
                  y: str = "acc", target: float | None = None, max_points: int = MAX_POINTS,
                  per_seed: bool = False) -> Any:
    """Learning curves per role (dense, ticket, controls): the mean over seeds as a line and ± one
    standard deviation as a band, train solid and test dotted; with `per_seed`, every run's own thin
    line as well. `target` is drawn as a dashed horizontal line. Axes never go below 0; with nothing to draw
    yet they span the runs' steps and accuracy 0..1 (loss 0..2.5).

    >>> fig = curves_figure([], {})
    >>> fig.layout.yaxis.range, fig.layout.xaxis.range
    ((0, 1), (0, 100))
    """
    import numpy as np
    import plotly.graph_objects as go

    # traces and layout as plain dicts, validated once by one Figure (add_trace and update_* one by one cost
    # twice as much: a live Train page draws this on every refresh of every student's page)
    data: list[dict[str, Any]] = []
    dash = {"train": "solid", "test": "dot"}
    order = [r for r in ROLES if any(x.config.init == r for x in runs)]
    order += sorted({x.config.init for x in runs} - set(order))
    for split in ("train", "test"):
        bands = role_bands(runs, metrics, y, split)
        for role in order:
            if role not in bands:
                continue
            steps, mean, std, n = bands[role]
            keep = downsample(list(range(len(steps))), max_points)
            # numpy arrays: plotly checks them whole rather than element by element and sends them as binary
            xs, mu, sd = (np.asarray(v)[keep] for v in (steps, mean, std))
            color = ROLES[role].color if role in ROLES else "#2ca02c"
            title = ROLES[role].title if role in ROLES else role
            if n > 1:
                data.append({"type": "scatter", "x": np.concatenate([xs, xs[::-1]]),
                             "y": np.concatenate([mu + sd, (mu - sd)[::-1]]), "fill": "toself",
                             "fillcolor": _alpha(color, 0.15 if split == "train" else 0.08), "line": {"width": 0},
                             "hoverinfo": "skip", "showlegend": False, "legendgroup": f"{role}-{split}",
                             "name": f"{title} · {split} ± std"})
            data.append({"type": "scatter", "x": xs, "y": mu, "mode": "lines",
                         "name": f"{title} · {split}" + (f" (mean of {n})" if n > 1 else ""),
                         "legendgroup": f"{role}-{split}", "line": {"color": color, "dash": dash[split], "width": 2.5},
                         "hovertemplate": f"{title} ({split})<br>step %{{x}}<br>{y} %{{y:.4f}}"
                                          + (" ± %{customdata:.4f}" if n > 1 else "") + "<extra></extra>",
                         "customdata": sd})
    if per_seed:
        for r in runs:
            role = r.config.init
            for split in ("train", "test"):
                pts = downsample([(m["step"], m[y]) for m in metrics.get(r.id, ())
                                  if m["split"] == split and m[y] is not None], max_points)
                if pts:
                    data.append({"type": "scatter", "x": np.array([p[0] for p in pts]),
                                 "y": np.array([p[1] for p in pts], dtype=np.float64), "mode": "lines",
                                 "showlegend": False, "name": f"{r.label} · {split}",
                                 "line": {"color": ROLES[role].color if role in ROLES else "#2ca02c",
                                          "dash": dash[split], "width": 0.8}, "opacity": 0.5,
                                 "hovertemplate": f"{r.label} ({split})<br>step %{{x}}<br>{y} %{{y:.4f}}"
                                                  f"<extra>{r.id}</extra>"})
    xaxis: dict[str, Any] = {"rangemode": "nonnegative", "title": {"text": "iteration (optimiser step)"}}
    yaxis: dict[str, Any] = {"rangemode": "nonnegative",  # accuracy (a fraction) and loss are never negative
                             "title": {"text": {"acc": "accuracy", "loss": "loss"}[y]}}
    notes: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    if not any(len(t["x"]) for t in data):  # axes of what will be drawn, not plotly's default -1..4
        notes.append({"text": "learning curves of the selected group appear here" if not runs else
                      "no metrics yet: the curves appear as the runs log them", "showarrow": False,
                      "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper", "font": {"size": 14, "color": "#888"}})
        xaxis["range"] = [0, max((r.config.steps for r in runs), default=100)]
        yaxis["range"] = [0, 1] if y == "acc" else [0, 2.5]
    if target is not None:  # what add_hline(annotation_position="bottom right") draws, at a tenth of its cost
        shapes.append({"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": target, "y1": target,
                       "line": {"dash": "dash", "color": "#2ca02c"}})
        notes.append({"text": f"target {target:.3f}", "showarrow": False, "xref": "x domain", "x": 1,
                      "xanchor": "right", "yref": "y", "y": target, "yanchor": "top"})
    return go.Figure(data=data, layout={
        "xaxis": xaxis, "yaxis": yaxis, "annotations": notes, "shapes": shapes, "height": 420,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10}, "legend": {"font": {"size": 11}},
        "uirevision": "curves"})  # keep zoom across live refreshes


def _alpha(hex_color: str, a: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{a})"
