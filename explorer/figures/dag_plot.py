"""The DAG drawn by level: x = level, nodes coloured by level, skip arcs curved.

`dag_figure` returns a plotly figure whose traces always come in the same order, so a
page can map a selection event (`st.plotly_chart(..., on_select="rerun")`) back to
nodes and arcs. Each point's `customdata` is a plain string:

| index | name (constant)                         | what it draws                    | customdata |
|-------|-----------------------------------------|----------------------------------|------------|
| 0     | `TRACE_ARCS` "arcs"                     | arcs joining adjacent levels     | none       |
| 1     | `TRACE_SKIP_ARCS` "skip arcs"           | arcs spanning >= 2 levels, curved| none       |
| 2     | `TRACE_HIGHLIGHT_ARCS` "highlighted arcs"| arcs at a search hit            | none       |
| 3     | `TRACE_SELECTED_ARCS` "selected arcs"   | arcs in `selected_arcs`          | none       |
| 4     | `TRACE_ARC_MIDPOINTS` "arc midpoints"   | one marker per arc (select arcs) | arc id "src->dst" |
| 5     | `TRACE_NODES` "nodes"                   | one marker per node              | node id    |

So a selection's points with `curve_number == 5` (or whose trace name is "nodes") are
nodes, those with `curve_number == 4` are arcs; `point["customdata"]` is the id either way.
Graphs with more than `GL_THRESHOLD` nodes use `go.Scattergl` (WebGL) for speed; the
arcs of one kind are always ONE trace, segments separated by NaN (the numeric form of plotly's
`None` separator: the pen lifts there).

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> dag = Dag.build([Node("x", "input"), Node("h", "linear"), Node("y", "linear")],
    ...                 [Arc("x", "h"), Arc("h", "y"), Arc("x", "y")], "op")
    >>> fig = dag_figure(dag)
    >>> [t.name for t in fig.data]
    ['arcs', 'skip arcs', 'highlighted arcs', 'selected arcs', 'arc midpoints', 'nodes']
    >>> list(fig.data[5].customdata), list(fig.data[4].customdata)
    (['x', 'h', 'y'], ['x->h', 'h->y', 'x->y'])
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import numpy as np
import plotly.graph_objects as go

from explorer.graph.dag import Dag
from explorer.figures.layout import level_layout
from explorer.figures.node_labels import LABEL_ANGLE, label_plan, node_facts, node_label
from explorer.figures.palette import (ARC_COLOR, ARC_FAINT, SEARCH_COLOR, SELECT_COLOR, SKIP_ARC_COLOR,
                                      SKIP_ARC_FAINT, level_colors, stepped_colorscale)

TRACE_ARCS = "arcs"
TRACE_SKIP_ARCS = "skip arcs"
TRACE_HIGHLIGHT_ARCS = "highlighted arcs"
TRACE_SELECTED_ARCS = "selected arcs"
TRACE_ARC_MIDPOINTS = "arc midpoints"
TRACE_NODES = "nodes"
TRACE_ORDER = (TRACE_ARCS, TRACE_SKIP_ARCS, TRACE_HIGHLIGHT_ARCS, TRACE_SELECTED_ARCS,
               TRACE_ARC_MIDPOINTS, TRACE_NODES)

GL_THRESHOLD = 800  # nodes; above this, WebGL traces
_CURVE_SAMPLES = 9  # points per curved skip arc

COMPACT_HOVER_ARCS = 2000  # above this many arcs an arc's hover is one line (the figure stays a few MB smaller)
BRIEF_HOVER_NODES = 400  # above this many nodes a node's hover counts its arcs instead of naming them


def search_nodes(dag: Dag, query: str | None) -> tuple[list[str], set[str]]:
    """Nodes whose id, op or module contains `query` (case-insensitive), and their neighbours. A module
    path matches in both spellings: `layers.17.self_attn` (the module) and `layers_17_self_attn` (the
    node id torch.fx makes of it).

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> dag = Dag.build([Node("x", "input"), Node("fc", "linear", "layer.fc"), Node("y", "relu")],
    ...                 [Arc("x", "fc"), Arc("fc", "y")], "op")
    >>> hits, nbrs = search_nodes(dag, "LAYER")
    >>> hits, sorted(nbrs)
    (['fc'], ['x', 'y'])
    >>> search_nodes(dag, "layer_fc")[0]
    ['fc']
    """
    q = _spelling((query or "").strip())
    if not q:
        return [], set()
    hits = [n.id for n in dag.nodes if any(q in _spelling(f) for f in (n.id, n.op, n.module or ""))]
    hit_set = set(hits)
    nbrs = {j for i in hits for j in (*dag.predecessors(i), *dag.successors(i))} - hit_set
    return hits, nbrs


def _spelling(text: str) -> str:
    """Lower case, with module-path dots as underscores: the one spelling of ids and module paths."""
    return text.lower().replace(".", "_")


def _node_hover(dag: Dag, node_id: str) -> str:
    facts = node_facts(dag, node_id, brief=len(dag.nodes) > BRIEF_HOVER_NODES)
    return "<br>".join([f"<b>{node_id}</b>"] + [f"{k}: {v[:90]}" for k, v in facts])


def _arc_points(x0: float, y0: float, x1: float, y1: float, curved: bool) -> tuple[list[float], list[float]]:
    """Polyline of one arc; a skip arc bows out as a quadratic Bézier so it does not hide behind nodes."""
    if not curved:
        return [x0, x1], [y0, y1]
    span = x1 - x0
    bow = min(0.12 * span + 0.35, 1.2)  # control point offset in y, grows with the span (bounded)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + bow
    xs, ys = [], []
    for k in range(_CURVE_SAMPLES):
        t = k / (_CURVE_SAMPLES - 1)
        xs.append((1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1)
        ys.append((1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1)
    return xs, ys


def _lines(segments: Iterable[tuple[list[float], list[float]]]) -> tuple[np.ndarray, np.ndarray]:
    """All segments as one polyline; a NaN after each segment makes plotly lift the pen (the numeric
    form of a `None` separator: numpy arrays skip plotly's per-element validation, 10x faster)."""
    xs: list = []
    ys: list = []
    for sx, sy in segments:
        xs += sx + [np.nan]
        ys += sy + [np.nan]
    return np.asarray(xs, dtype=np.float32), np.asarray(ys, dtype=np.float32)  # float32: half the bytes on the wire


def dag_figure(
    dag: Dag,
    *,
    highlight: Collection[str] = (),
    selected_nodes: Collection[str] = (),
    selected_arcs: Collection[str] = (),
    dimmed: Collection[str] = (),
    search: str | None = None,
    dragmode: str = "zoom",
    labels: bool | None = None,
    height: int | None = None,
    layout: dict[str, tuple[float, float]] | None = None,
) -> go.Figure:
    """Plot `dag` laid out by level (x = level, barycentre-ordered y).

    Arguments:
      highlight: node ids drawn larger with a dark outline (e.g. what a selection disconnects).
      selected_nodes: node ids outlined in red (the current selection).
      selected_arcs: arc ids "src->dst" drawn in thick red.
      dimmed: node ids drawn faint (e.g. already pruned).
      search: text; matching nodes (id/op/module) and their neighbours are emphasised,
        all others dimmed.
      dragmode: plotly drag mode, e.g. "zoom", "pan", "select" (box) or "lasso".
      labels: True: label every node; False: none; None (default): `node_labels.label_plan`, every node
        where the labels fit, else tilted labels on landmark nodes every few levels.
      layout: precomputed `level_layout(dag)` (pass it to avoid recomputing on reruns).
    Trace order and `customdata` are documented in the module docstring.
    """
    pos = layout or level_layout(dag)
    n_levels = dag.depth + 1
    big = len(dag.nodes) > GL_THRESHOLD
    Scatter = go.Scattergl if big else go.Scatter
    ids = dag.order()
    sel_nodes, sel_arcs, dim = set(selected_nodes), set(selected_arcs), set(dimmed)
    hi = set(highlight)
    hits, nbrs = search_nodes(dag, search)
    hit_set = set(hits)
    if search and hits:
        dim |= set(ids) - hit_set - nbrs

    # ---- arcs -------------------------------------------------------------------------
    plain, skip, highlighted, selected = [], [], [], []
    mid_x, mid_y, mid_id, mid_hover = [], [], [], []
    many_arcs = len(dag.arcs) > COMPACT_HOVER_ARCS
    for a in dag.arcs:
        (x0, y0), (x1, y1) = pos[a.src], pos[a.dst]
        curved = x1 - x0 > 1
        seg = _arc_points(x0, y0, x1, y1, curved)
        (skip if curved else plain).append(seg)
        if not curved and a.meta.get("op_skips"):  # a block arc bundling a shortcut: keep it visible
            skip.append(_arc_points(x0, y0, x1, y1, True))
        if a.src in hit_set or a.dst in hit_set:
            highlighted.append(seg)
        if a.id in sel_arcs:
            selected.append(seg)
        k = len(seg[0]) // 2
        mx, my = ((seg[0][0] + seg[0][1]) / 2, (seg[1][0] + seg[1][1]) / 2) if not curved else (seg[0][k], seg[1][k])
        mid_x.append(mx)
        mid_y.append(my)
        mid_id.append(a.id)
        if many_arcs:  # the hover is the id (customdata); weights are on the Decomposition page
            continue
        w = f"<br>weight: {a.weight:.4g}" if a.weight is not None else ""
        mid_hover.append(f"<b>{a.id}</b><br>{a.label or '(no label)'}<br>kind: {a.kind}<br>"
                         f"levels {dag.level[a.src]}→{dag.level[a.dst]}{w}")
    faint = bool(search and hits)
    traces: list = []
    x, y = _lines(plain)
    traces.append(Scatter(x=x, y=y, mode="lines", name=TRACE_ARCS, hoverinfo="skip",
                          line=dict(color=ARC_FAINT if faint else ARC_COLOR, width=1),
                          showlegend=False))
    x, y = _lines(skip)
    traces.append(Scatter(x=x, y=y, mode="lines", name=TRACE_SKIP_ARCS, hoverinfo="skip",
                          line=dict(color=SKIP_ARC_FAINT if faint else SKIP_ARC_COLOR, width=1.6),
                          showlegend=bool(skip), legendgroup="arcs"))
    x, y = _lines(highlighted)
    traces.append(Scatter(x=x, y=y, mode="lines", name=TRACE_HIGHLIGHT_ARCS, hoverinfo="skip",
                          line=dict(color=SEARCH_COLOR, width=2.2), showlegend=bool(highlighted)))
    x, y = _lines(selected)
    traces.append(Scatter(x=x, y=y, mode="lines", name=TRACE_SELECTED_ARCS, hoverinfo="skip",
                          line=dict(color=SELECT_COLOR, width=3.5), showlegend=bool(selected)))
    traces.append(Scatter(
        x=np.asarray(mid_x, dtype=np.float32), y=np.asarray(mid_y, dtype=np.float32), mode="markers",
        name=TRACE_ARC_MIDPOINTS, customdata=np.asarray(mid_id, dtype=object),
        **(dict(hovertemplate="<b>%{customdata}</b><extra></extra>") if many_arcs
           else dict(hovertext=np.asarray(mid_hover, dtype=object), hoverinfo="text")),
        marker=dict(size=np.array([9 if i in sel_arcs else 5 for i in mid_id], dtype=np.uint8), symbol="diamond",
                    color=np.array([1 if i in sel_arcs else 0 for i in mid_id], dtype=np.uint8), cmin=0, cmax=1,
                    colorscale=[[0, "rgba(120,120,120,0.45)"], [1, SELECT_COLOR]], showscale=False),
        showlegend=False,
    ))

    # ---- nodes ------------------------------------------------------------------------
    colors = level_colors(n_levels)
    base = 9 if len(ids) <= 400 else 6
    sizes, line_w, line_c, opacity = [], [], [], []  # line_c: 0 white, 1 dark (search/highlight), 2 red (selected)
    for i in ids:
        emph = i in hit_set or i in hi or i in sel_nodes
        sizes.append(base * (1.7 if i in hit_set else 1.35 if emph or i in nbrs else 1.0))
        if i in sel_nodes:
            line_w.append(3), line_c.append(2)
        elif i in hit_set or i in hi:
            line_w.append(2.5), line_c.append(1)
        elif i in nbrs:
            line_w.append(1.5), line_c.append(1)
        else:
            line_w.append(0.5), line_c.append(0)
        opacity.append(0.18 if i in dim and not emph else 1.0)
    mode, lab_ids = label_plan(dag) if labels is not False else ("text", [])
    if labels is True:
        lab_ids = ids
    show_labels = mode == "text" and bool(lab_ids)
    tick_step = max(1, -(-n_levels // 10))  # at most ~10 level ticks on the axis and the colour bar
    traces.append(Scatter(
        x=np.array([pos[i][0] for i in ids]), y=np.array([pos[i][1] for i in ids]),
        mode="markers+text" if show_labels else "markers",
        text=[node_label(dag, i) for i in ids] if show_labels else None, textfont=dict(size=10),
        # alternate above/below by level so the labels of a chain do not run into each other
        textposition=["top center" if dag.level[i] % 2 == 0 else "bottom center" for i in ids] if show_labels else None,
        name=TRACE_NODES, customdata=np.asarray(ids, dtype=object),
        unselected=dict(marker=dict(opacity=0.6)),  # a click selects one node: the others keep their colours
        hovertext=np.asarray([_node_hover(dag, i) for i in ids], dtype=object), hoverinfo="text",
        marker=dict(
            size=np.array(sizes), opacity=np.array(opacity),
            line=dict(width=np.array(line_w, dtype=float), color=np.array(line_c, dtype=float), cmin=0, cmax=2,
                      colorscale=[[0, "white"], [0.5, SEARCH_COLOR], [1, SELECT_COLOR]]),
            color=np.array([dag.level[i] for i in ids]), cmin=-0.5, cmax=n_levels - 0.5,
            colorscale=stepped_colorscale(colors),
            colorbar=dict(title=dict(text="level"), tickvals=list(range(0, n_levels, tick_step)),
                          thickness=14, len=0.9),
        ),
        showlegend=False,
    ))

    fig = go.Figure(traces)
    if mode == "angled":  # tilted labels need only a line height between levels (explorer.figures.node_labels);
        # they hang below their nodes, away from the skip arcs that bow upwards, except on nodes above the
        # middle rank (a parallel branch), whose labels rise so they do not cross the main line
        y_mid = (max(p[1] for p in pos.values()) + min(p[1] for p in pos.values())) / 2
        up = {i for i in lab_ids if pos[i][1] > y_mid + 1e-9}
        fig.update_layout(annotations=[
            dict(x=pos[i][0], y=pos[i][1], text=node_label(dag, i), showarrow=False,
                 textangle=-LABEL_ANGLE if i in up else LABEL_ANGLE, xanchor="left",
                 yanchor="bottom" if i in up else "top", xshift=2, yshift=4 if i in up else -4,
                 font=dict(size=10, color="#333"), captureevents=False) for i in lab_ids])
    n_shortcuts = sum(1 for a in dag.arcs if a.meta.get("op_skips"))
    bundled = f" ({n_shortcuts} carry an op-level shortcut, orange)" if n_shortcuts else ""
    max_width = max((len(v) for v in dag.levels()), default=1)
    fig.update_layout(
        height=height or int(min(900, max(380, 160 + 22 * max_width))),
        margin=dict(l=10, r=10, t=40, b=40),
        dragmode=dragmode,
        hovermode="closest",
        clickmode="event+select",
        uirevision=f"{dag.name}-{dag.granularity}-{len(ids)}",
        legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0),
        plot_bgcolor="white",
        title=dict(text=f"{dag.name or 'graph'} — {dag.granularity} level: {len(ids)} nodes, "
                        f"{len(dag.arcs)} arcs{bundled}, levels 0..{dag.depth}", font=dict(size=13), x=0.01, y=0.99),
    )
    fig.update_xaxes(title_text="level", dtick=tick_step, zeroline=False, showgrid=True, gridcolor="#eee")
    ys = [p[1] for p in pos.values()]
    half = max(1.2, (max(ys) - min(ys)) / 2 + 0.8) if ys else 1.2  # a chain still gets room for its skip curves
    mid = (max(ys) + min(ys)) / 2 if ys else 0.0
    below = 1.2 if mode == "angled" else 0.0  # room for the hanging labels under the lowest nodes
    fig.update_yaxes(visible=False, range=[mid - half - below, mid + half])
    return fig


def figure_html(fig: go.Figure) -> str:
    """A standalone HTML page of `fig` with plotly.js in-line (opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True)
