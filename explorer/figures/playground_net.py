"""The playground's network as a DAG: x = level, one column per layer; every unit drawn as its own
small heatmap (what it computes over the input square, orange < 0 < blue) framed in its level's
colour; arcs blue for positive and orange for negative weights, width = |weight|; skip arcs bow
over the layers they jump (docs/science.md §1).

Traces (fixed order): the arcs by sign and width class, "frames" (one per level), "arc handles"
(customdata: arc id "src->dst"), "units" (customdata: node id) — clicking a unit or an arc's
handle selects it (the page prunes it).

    >>> from explorer.graph.dag import Arc, Dag, Node
    >>> dag = Dag.build([Node("x[0]", "input"), Node("h1[0]", "relu"), Node("out[0]", "output")],
    ...                 [Arc("x[0]", "h1[0]", weight=0.5), Arc("h1[0]", "out[0]", weight=-1.0)], "unit")
    >>> fig = network_figure(dag, {"h1[0]": np.ones((4, 4))})
    >>> [t.name for t in fig.data][-2:], list(fig.data[-1].customdata), len(fig.layout.images)
    (['arc handles', 'units'], ['x[0]', 'h1[0]', 'out[0]'], 1)
"""

from __future__ import annotations

import base64
import io
from collections.abc import Collection, Mapping

import numpy as np
import plotly.graph_objects as go

from explorer.figures.palette import SELECT_COLOR, level_colors
from explorer.graph.dag import Dag

BOX = 0.72  # a unit's heatmap, in data units (units of a level are 1 apart)
XS = 2.2  # horizontal distance between levels
WIDTHS = (0.6, 1.2, 2.0, 3.0, 4.2, 5.6)
POS, NEG = "#0877bd", "#f59322"


def heatmap_png(a: np.ndarray) -> str:
    """A data-URI PNG of a (res, res) field (rows from the bottom): orange < 0 < blue, scaled by max |a|."""
    from PIL import Image

    s = float(np.abs(a).max()) or 1.0
    t = np.clip(np.asarray(a, dtype=np.float64) / s, -1, 1)[::-1]  # image rows from the top
    pos, neg = np.array([8, 119, 189]), np.array([245, 147, 34])
    w = np.abs(t)[..., None]
    rgb = (255 * (1 - w) + w * np.where(t[..., None] >= 0, pos, neg)).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def positions(dag: Dag) -> dict[str, tuple[float, float]]:
    """x = level (XS apart); units of a level stacked in DAG order, centred on 0, 1 apart."""
    out = {}
    for l, ids in enumerate(dag.levels()):
        for k, i in enumerate(ids):
            out[i] = (XS * l, (len(ids) - 1) / 2 - k)
    return out


def _curve(x0: float, y0: float, x1: float, y1: float, bow: float) -> tuple[list[float], list[float]]:
    t = np.linspace(0, 1, 11)
    cx, cy = (x0 + x1) / 2, max(y0, y1) + bow
    xs = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x1
    ys = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y1
    return list(xs), list(ys)


def network_figure(dag: Dag, maps: Mapping[str, np.ndarray], *, pruned: Collection[str] = (),
                   labels: Mapping[str, str] | None = None, height: int | None = None) -> go.Figure:
    """The network panel (see the module doc). `maps`: node id -> heatmap; `pruned`: ids drawn crossed out."""
    pos = positions(dag)
    n_levels = dag.depth + 1
    colors = level_colors(n_levels)
    gone = set(pruned)
    wmax = max((abs(a.weight) for a in dag.arcs if a.weight is not None), default=1.0) or 1.0
    bins: dict[tuple[bool, int], tuple[list, list]] = {}
    hx, hy, hid, htext = [], [], [], []
    for a in dag.arcs:
        w = a.weight if a.weight is not None else 0.0
        if w == 0.0:
            continue  # a pruned arc is gone
        (x0, y0), (x1, y1) = pos[a.src], pos[a.dst]
        x0, x1 = x0 + BOX / 2, x1 - BOX / 2
        span = dag.level[a.dst] - dag.level[a.src]
        xs, ys = _curve(x0, y0, x1, y1, 0.45 + 0.25 * span) if span > 1 else ([x0, x1], [y0, y1])
        k = min(len(WIDTHS) - 1, int(abs(w) / wmax * len(WIDTHS)))
        bx, by = bins.setdefault((w >= 0, k), ([], []))
        bx += xs + [np.nan]
        by += ys + [np.nan]
        m = 3  # a skip arc's handle sits 30 % along it: its middle would lie on a unit of the level it jumps
        hx.append(xs[m] if span > 1 else (x0 + x1) / 2)
        hy.append(ys[m] if span > 1 else (y0 + y1) / 2)
        hid.append(a.id)
        htext.append(f"<b>{a.id}</b><br>w = {w:.3g}{' (skip arc)' if span > 1 else ''}<br>click to prune this arc")
    traces: list = []
    for (positive, k), (xs, ys) in sorted(bins.items()):
        traces.append(go.Scatter(x=np.asarray(xs, dtype=np.float32), y=np.asarray(ys, dtype=np.float32), mode="lines",
                                 hoverinfo="skip", showlegend=False, name=f"arcs {'+' if positive else '-'}{k}",
                                 line=dict(color=POS if positive else NEG, width=WIDTHS[k]), opacity=0.75))
    ids = dag.order()
    for l in range(n_levels):
        fx, fy = [], []
        for i in ids:
            if dag.level[i] != l:
                continue
            x, y = pos[i]
            h = BOX / 2
            fx += [x - h, x + h, x + h, x - h, x - h, np.nan]
            fy += [y - h, y - h, y + h, y + h, y - h, np.nan]
        traces.append(go.Scatter(x=np.asarray(fx, dtype=float), y=np.asarray(fy, dtype=float), mode="lines",
                                 hoverinfo="skip", showlegend=False, name=f"frames {l}",
                                 line=dict(color=colors[l], width=3)))
    cx, cy = [], []
    for i in gone & set(ids):
        x, y = pos[i]
        h = BOX / 2
        cx += [x - h, x + h, np.nan, x - h, x + h, np.nan]
        cy += [y - h, y + h, np.nan, y + h, y - h, np.nan]
    traces.append(go.Scatter(x=cx, y=cy, mode="lines", hoverinfo="skip", showlegend=False, name="pruned",
                             line=dict(color=SELECT_COLOR, width=3)))
    traces.append(go.Scatter(x=np.asarray(hx, dtype=float), y=np.asarray(hy, dtype=float), mode="markers",
                             name="arc handles", customdata=np.asarray(hid, dtype=object),
                             hovertext=np.asarray(htext, dtype=object), hoverinfo="text", showlegend=False,
                             marker=dict(size=5, symbol="diamond", color="rgba(90,90,90,0.3)")))
    lab = labels or {}
    traces.append(go.Scatter(
        x=np.array([pos[i][0] for i in ids]), y=np.array([pos[i][1] for i in ids]), mode="markers", name="units",
        customdata=np.asarray(ids, dtype=object), hoverinfo="text", showlegend=False,
        hovertext=np.asarray([f"<b>{lab.get(i, i)}</b><br>level {dag.level[i]}" + (
            "<br>pruned" if i in gone else "<br>click to prune" if dag.level[i] not in (0, dag.depth) else "")
            for i in ids], dtype=object),
        marker=dict(size=30, symbol="square", color="rgba(255,255,255,0.01)", line=dict(width=0))))
    images = [dict(source=heatmap_png(maps[i]), xref="x", yref="y", x=pos[i][0] - BOX / 2, y=pos[i][1] + BOX / 2,
                   sizex=BOX, sizey=BOX, xanchor="left", yanchor="top", sizing="stretch", layer="below",
                   opacity=0.35 if i in gone else 1.0) for i in ids if i in maps]
    notes = []
    for i in ids:
        if dag.level[i] in (0, dag.depth) and i in lab:
            x, y = pos[i]
            left = dag.level[i] == 0
            notes.append(dict(x=x - BOX / 2 - 0.06 if left else x + BOX / 2 + 0.06, y=y, text=lab[i], showarrow=False,
                              xanchor="right" if left else "left", font=dict(size=12)))
    fig = go.Figure(traces, layout=dict(images=images, annotations=notes))  # validated once, not per image
    ys = [p[1] for p in pos.values()] or [0.0]
    top = max(ys) + BOX + (0.45 + 0.25 * max((dag.level[a.dst] - dag.level[a.src] for a in dag.arcs), default=1)
                           if any(dag.level[a.dst] - dag.level[a.src] > 1 for a in dag.arcs) else 0.2)
    fig.update_layout(height=height or int(min(640, max(320, 90 + 52 * (max(ys) - min(ys) + 2)))),
                      margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white", hovermode="closest",
                      clickmode="event+select", dragmode=False,
                      title=dict(text=f"network: {len(ids) - len(gone & set(ids))} units, {len(hid)} arcs, levels "
                                      f"0..{dag.depth} (arc width = |weight|, blue +, orange −)", font=dict(size=13),
                                 x=0.01, y=0.985))
    fig.update_xaxes(visible=False, range=[-1.4, XS * dag.depth + 1.5])
    fig.update_yaxes(visible=False, range=[min(ys) - BOX, top], scaleanchor="x", scaleratio=1)
    return fig
