"""A finished playground run as one standalone HTML animation: the exact regions at every frame,
with a slider over the steps and a play button (plotly.js in-line: it opens offline).

Each plotly frame replaces the traces of `regions_plot.region_traces`, which come in a fixed
order, so the animation is just the list of frames; long runs are thinned to `max_frames`
evenly spaced frames (the first and last kept).

    >>> from explorer.regions.encoding import RegionView, encode
    >>> from explorer.regions.polygon import Polygons
    >>> v = RegionView(True, (0.0, 1.0, 0.0, 1.0), 1, (1,), Polygons.box(0, 1, 0, 1), np.array([0]), np.array([1]),
    ...                np.array([0.9]), np.zeros((0, 2, 2)), np.zeros(0, int), (), np.zeros((0, 2, 2)))
    >>> fr = [{"step": s, "count": 1, "regions": encode(v), "test_acc": 0.5} for s in (0, 10, 20)]
    >>> fig = animation_figure(fr)
    >>> len(fig.frames), fig.layout.sliders[0].steps[-1].label
    (3, '20')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from explorer.figures.regions_plot import cells_png, region_traces, regions_figure
from explorer.regions.encoding import decode

MAX_FRAMES = 40


def thin(frames: Sequence[dict[str, Any]], n: int = MAX_FRAMES) -> list[dict[str, Any]]:
    """At most n frames, evenly spaced, first and last kept."""
    if len(frames) <= n:
        return list(frames)
    idx = np.unique(np.round(np.linspace(0, len(frames) - 1, n)).astype(int))
    return [frames[i] for i in idx]


def _title(f: dict[str, Any]) -> str:
    acc = f.get("test_acc")
    what = "linear regions" if f.get("exact", True) else "grid sign patterns (approximation)"
    return f"step {f['step']}: {f.get('count')} {what}" + (f", test accuracy {acc:.0%}" if acc is not None else "")


def _frame_layout(v, n_classes: int, raster: bool, text: str) -> go.Layout:
    if not raster:
        return go.Layout(title_text=text)
    a, b, c, d = v.box
    return go.Layout(title_text=text, images=[dict(source=cells_png(v, n_classes), xref="x", yref="y", x=a, y=d,
                                                   sizex=b - a, sizey=d - c, xanchor="left", yanchor="top",
                                                   sizing="stretch", layer="below")])


def animation_figure(frames: Sequence[dict[str, Any]], n_classes: int = 2, *, data: dict | None = None,
                     show_test: bool = False, max_frames: int = MAX_FRAMES, title: str = "") -> go.Figure:
    """The animation (see the module doc) of frame payloads as the playground job writes them."""
    if not frames:
        raise ValueError("no frames to animate: train the run first (or pick a run that has frames)")
    frames = thin(frames, max_frames)
    views = [decode(f["regions"]) for f in frames]
    raster = not all(v.exact for v in views)  # a smooth net's grid approximation is an image per frame
    fig = regions_figure(views[0], n_classes, data=data, show_test=show_test, title=_title(frames[0]), raster=raster)
    fig.frames = [go.Frame(data=region_traces(v, n_classes, data=data, show_test=show_test, raster=raster),
                           name=str(f["step"]), layout=_frame_layout(v, n_classes, raster,
                                                                     (title + " — " if title else "") + _title(f)))
                  for f, v in zip(frames, views)]
    play = dict(frame=dict(duration=350, redraw=True), fromcurrent=True, transition=dict(duration=0))
    fig.update_layout(
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=-0.06, xanchor="left", yanchor="top",
                          buttons=[dict(label="▶ play", method="animate", args=[None, play]),
                                   dict(label="❚❚ pause", method="animate",
                                        args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])])],
        sliders=[dict(active=0, x=0.16, len=0.84, y=-0.04, currentvalue=dict(prefix="step "),
                      steps=[dict(label=str(f["step"]), method="animate",
                                  args=[[str(f["step"])], dict(mode="immediate", frame=dict(duration=0, redraw=True))])
                             for f in frames])],
        height=640, margin=dict(b=90))
    return fig


def animation_html(frames: Sequence[dict[str, Any]], n_classes: int = 2, **kw: Any) -> str:
    """The standalone HTML page of `animation_figure`."""
    return animation_figure(frames, n_classes, **kw).to_html(include_plotlyjs=True, full_html=True,
                                                             auto_play=False)
