"""The DAG drawn by level: x = level, nodes coloured by level, skip arcs curved.

`dag_figure` returns a plotly figure whose traces always come in the same order, so a
page can map a selection event (`st.plotly_chart(..., on_select="rerun")`) back to
nodes and arcs. Each point's `customdata` is a plain string:

| index | name (constant)                              | what it draws                         | customdata |
|-------|----------------------------------------------|---------------------------------------|------------|
| 0     | `TRACE_BUNDLES` "arc bundles"                | bands of bundled arcs (adjacent levels)| none      |
| 1     | `TRACE_SKIP_BUNDLES` "skip arc bundles"      | bands of bundled skip arcs, curved    | none       |
| 2     | `TRACE_ARCS` "arcs"                          | arcs joining adjacent levels          | none       |
| 3     | `TRACE_SKIP_ARCS` "skip arcs"                | arcs spanning >= 2 levels, curved     | none       |
| 4     | `TRACE_HIGHLIGHT_ARCS` "highlighted arcs"    | arcs at a search hit                  | none       |
| 5     | `TRACE_SELECTED_ARCS` "selected arcs"        | arcs in `selected_arcs`               | none       |
| 6     | `TRACE_BUNDLE_LABELS` "bundle labels"        | one marker per bundle: count, hover   | none       |
| 7     | `TRACE_ARC_MIDPOINTS` "arc midpoints"        | one marker per drawn arc (select arcs)| arc id "src->dst" |
| 8     | `TRACE_NODES` "nodes"                        | one marker per node                   | node id    |

So a selection's points on the trace named "nodes" are nodes, those on "arc midpoints" arcs;
`point["customdata"]` is the id either way (`explorer.figures.events`). Past `arcs.ARC_BUDGET`
arcs (a unit-level MLP), the arcs between two big layers are drawn as one band (a bundle, traces
0, 1 and 6: `explorer.figures.arcs`); the arcs of searched, highlighted and selected nodes are
still drawn one by one, and selected arcs are red either way. `arcs_note(fig)` is the caption
that says so. Graphs with more than `GL_THRESHOLD` nodes use `go.Scattergl` (WebGL) for speed; the
arcs of one kind are always ONE trace, segments separated by NaN (the numeric form of plotly's
`None` separator: the pen lifts there).

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> dag = Dag.build([Node("x", "input"), Node("h", "linear"), Node("y", "linear")],
    ...                 [Arc("x", "h"), Arc("h", "y"), Arc("x", "y")], "op")
    >>> fig = dag_figure(dag)
    >>> [t.name for t in fig.data][2:]
    ['arcs', 'skip arcs', 'highlighted arcs', 'selected arcs', 'bundle labels', 'arc midpoints', 'nodes']
    >>> list(fig.data[-1].customdata), list(fig.data[-2].customdata)
    (['x', 'h', 'y'], ['x->h', 'h->y', 'x->y'])
    >>> arcs_note(fig)  # three arcs: all drawn one by one
    ''
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import numpy as np
import plotly.graph_objects as go

from explorer.graph.block import shortcut_arcs
from explorer.graph.dag import Dag
from explorer.figures.arcs import ARC_BUDGET, ArcPlan, arc_plan, arc_points, band, centre_line, count_text, extents
from explorer.figures.layout import level_layout
from explorer.figures.overlay_plot import with_overlay
from explorer.overlays.base import Overlay
from explorer.figures.node_labels import LABEL_ANGLE, label_plan, node_facts, node_label
from explorer.figures.palette import (ARC_COLOR, ARC_FAINT, BUNDLE_FILL, SEARCH_COLOR, SELECT_COLOR,
                                      SKIP_ARC_COLOR, SKIP_ARC_FAINT, SKIP_BUNDLE_FILL, level_colors,
                                      stepped_colorscale)

TRACE_BUNDLES = "arc bundles"
TRACE_SKIP_BUNDLES = "skip arc bundles"
TRACE_ARCS = "arcs"
TRACE_SKIP_ARCS = "skip arcs"
TRACE_HIGHLIGHT_ARCS = "highlighted arcs"
TRACE_SELECTED_ARCS = "selected arcs"
TRACE_BUNDLE_LABELS = "bundle labels"
TRACE_ARC_MIDPOINTS = "arc midpoints"
TRACE_NODES = "nodes"
TRACE_ORDER = (TRACE_BUNDLES, TRACE_SKIP_BUNDLES, TRACE_ARCS, TRACE_SKIP_ARCS, TRACE_HIGHLIGHT_ARCS,
               TRACE_SELECTED_ARCS, TRACE_BUNDLE_LABELS, TRACE_ARC_MIDPOINTS, TRACE_NODES)

GL_THRESHOLD = 800  # nodes; above this, WebGL traces

COMPACT_HOVER_ARCS = 2000  # above this many arcs an arc's hover is one line (the figure stays a few MB smaller)
LABEL_LINE_PX = 13  # px between two tilted labels of one level
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
    overlay: Overlay | None = None,
    overlay_by: str = "color",
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
      overlay: an `explorer.overlays.Overlay`: nodes coloured (or, `overlay_by="size"`, sized) by its metric
        instead of the level (`explorer.figures.overlay_plot`).
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
    traces, plan = _arc_traces(dag, pos, Scatter, hit_set | hi | sel_nodes, hit_set, sel_arcs,
                               faint=bool(search and hits))

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
    max_width = max((len(v) for v in dag.levels()), default=1)
    height = height or int(min(900, max(380, 160 + 22 * max_width)))
    if mode == "angled" and labels is None:  # a tall level (500 units) holds a label every line height only
        lab_ids = _spaced(dag, lab_ids, pos, LABEL_LINE_PX * (max_width + 2) / max(height - 80, 1))
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

    # the layout as one dict, validated once with the traces (update_layout and update_*axes one by one cost
    # as much again: a selection on the Prune page draws the figure anew)
    annotations = []
    if mode == "angled":  # tilted labels need only a line height between levels (explorer.figures.node_labels);
        # they hang below their nodes, away from the skip arcs that bow upwards, except on nodes above the
        # middle rank (a parallel branch), whose labels rise so they do not cross the main line
        y_mid = (max(p[1] for p in pos.values()) + min(p[1] for p in pos.values())) / 2
        up = {i for i in lab_ids if pos[i][1] > y_mid + 1e-9}
        annotations = [
            dict(x=pos[i][0], y=pos[i][1], text=node_label(dag, i), showarrow=False,
                 textangle=-LABEL_ANGLE if i in up else LABEL_ANGLE, xanchor="left",
                 yanchor="bottom" if i in up else "top", xshift=2, yshift=4 if i in up else -4,
                 font=dict(size=10, color="#333"), captureevents=False) for i in lab_ids]
    n_shortcuts = sum(1 for a in dag.arcs if a.meta.get("op_skips"))
    bundled = f" ({n_shortcuts} carry an op-level shortcut, orange)" if n_shortcuts else ""
    if plan.bundles:  # short: the modebar sits over the title's end on a narrow column
        bundled += (f" (drawn as {len(plan.bundles)} bundles)" if plan.bundled == plan.total
                    else f" ({plan.bundled:,} as {len(plan.bundles)} bundles)")
    ys = [p[1] for p in pos.values()]
    half = max(1.2, (max(ys) - min(ys)) / 2 + 0.8) if ys else 1.2  # a chain still gets room for its skip curves
    mid = (max(ys) + min(ys)) / 2 if ys else 0.0
    below = 1.2 if mode == "angled" else 0.0  # room for the hanging labels under the lowest nodes
    layout = dict(
        height=height,
        margin=dict(l=10, r=10, t=40, b=40),
        dragmode=dragmode,
        hovermode="closest",
        clickmode="event+select",
        uirevision=f"{dag.name}-{dag.granularity}-{len(ids)}",
        legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0),
        plot_bgcolor="white",
        title=dict(text=f"{dag.name or 'graph'} — {dag.granularity} level: {len(ids)} nodes, "
                        f"{len(dag.arcs):,} arcs{bundled}, levels 0..{dag.depth}", font=dict(size=13), x=0.01, y=0.99),
        xaxis=dict(title=dict(text="level"), dtick=tick_step, zeroline=False, showgrid=True, gridcolor="#eee"),
        yaxis=dict(visible=False, range=[mid - half - below, mid + half]),
    )
    if annotations:
        layout["annotations"] = annotations
    if plan.bundles:
        layout["meta"] = {"arcs_note": plan.note()}
    fig = go.Figure(traces, layout=layout)
    return with_overlay(fig, dag, overlay, overlay_by) if overlay is not None else fig


def _spaced(dag: Dag, ids: list[str], pos: dict, gap: float) -> list[str]:
    """`ids` thinned so that two kept nodes of one level are at least `gap` apart in y (their tilted
    labels would overlap otherwise)."""
    keep, last = [], {}
    for i in sorted(ids, key=lambda i: (dag.level[i], -pos[i][1])):
        lv, y = dag.level[i], pos[i][1]
        if lv not in last or last[lv] - y >= gap:
            keep.append(i)
            last[lv] = y
    chosen = set(keep)
    return [i for i in ids if i in chosen]


def _arc_traces(dag: Dag, pos: dict, Scatter, focus: set[str], hit_set: set[str], sel_arcs: set[str],
                faint: bool) -> tuple[list, ArcPlan]:
    """Traces 0..7 of the module table (bundles, arcs, highlighted and selected arcs, bundle labels,
    midpoints), and the `arcs.ArcPlan` they were drawn by."""
    plan = arc_plan(dag, focus)
    shortcuts = {a.id for a in shortcut_arcs(dag)}
    sel_idx = [k for k, a in enumerate(dag.arcs) if a.id in sel_arcs] if sel_arcs else []
    drawn = set(plan.individual)
    if len(sel_idx) <= ARC_BUDGET:  # a selection is drawn arc by arc while it fits the budget
        drawn.update(sel_idx)
    plain, skip, highlighted, selected = [], [], [], []
    mid_x, mid_y, mid_id, mid_hover = [], [], [], []
    many_arcs = len(drawn) > COMPACT_HOVER_ARCS
    for k in sorted(drawn):
        a = dag.arcs[k]
        (x0, y0), (x1, y1) = pos[a.src], pos[a.dst]
        curved = x1 - x0 > 1
        seg = arc_points(x0, y0, x1, y1, curved)
        (skip if curved else plain).append(seg)
        if a.id in shortcuts:  # a block arc bundling a shortcut: keep it visible
            skip.append(arc_points(x0, y0, x1, y1, True))
        if a.src in hit_set or a.dst in hit_set:
            highlighted.append(seg)
        if a.id in sel_arcs:
            selected.append(seg)
        m = len(seg[0]) // 2
        mx, my = ((seg[0][0] + seg[0][1]) / 2, (seg[1][0] + seg[1][1]) / 2) if not curved else (seg[0][m], seg[1][m])
        mid_x.append(mx)
        mid_y.append(my)
        mid_id.append(a.id)
        if many_arcs:  # the hover is the id (customdata); weights are on the Decomposition page
            continue
        w = f"<br>weight: {a.weight:.4g}" if a.weight is not None else ""
        mid_hover.append(f"<b>{a.id}</b><br>{a.label or '(no label)'}<br>kind: {a.kind}<br>"
                         f"levels {dag.level[a.src]}→{dag.level[a.dst]}{w}")

    # bundles: a band each, a label marker at its middle, and a red middle line where its selected arcs
    # are too many to draw one by one
    ext = extents(dag, pos) if plan.bundles else {}
    sel_set = set(sel_idx) - drawn
    bands: dict[bool, list] = {False: [], True: []}
    lab_x, lab_y, lab_text, lab_hover, lab_skip = [], [], [], [], []
    for b in plan.bundles:
        x0, x1 = float(b.src_level), float(b.dst_level)
        bx, by, (mx, my) = band(b, ext, x0, x1)
        bands[b.skip].append((bx, by))
        n_sel = sum(1 for k in b.arcs if k in sel_set) if sel_set else 0
        if n_sel:
            selected.append(centre_line(b, ext, x0, x1))
        lab_x.append(mx)
        lab_y.append(my)
        lab_text.append(count_text(len(b.arcs), n_sel))
        lab_hover.append(b.hover(dag, n_sel))
        lab_skip.append(b.skip)

    traces: list = []
    for is_skip, name, fill in ((False, TRACE_BUNDLES, BUNDLE_FILL), (True, TRACE_SKIP_BUNDLES, SKIP_BUNDLE_FILL)):
        x, y = _lines(bands[is_skip])
        traces.append(go.Scatter(x=x, y=y, mode="lines", fill="toself", fillcolor=fill, name=name, hoverinfo="skip",
                                 line=dict(width=0.5, color=fill), showlegend=bool(bands[is_skip])))
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
    traces.append(go.Scatter(
        x=np.asarray(lab_x, dtype=np.float32), y=np.asarray(lab_y, dtype=np.float32), mode="markers+text",
        name=TRACE_BUNDLE_LABELS, text=lab_text, textposition="top center", textfont=dict(size=10, color="#444"),
        hovertext=lab_hover, hoverinfo="text", showlegend=False,
        marker=dict(symbol="square", size=9, line=dict(width=1, color="white"),
                    color=[SKIP_ARC_COLOR if s else ARC_COLOR for s in lab_skip])))
    traces.append(Scatter(
        x=np.asarray(mid_x, dtype=np.float32), y=np.asarray(mid_y, dtype=np.float32), mode="markers",
        name=TRACE_ARC_MIDPOINTS, customdata=np.asarray(mid_id, dtype=object),
        **(dict(hovertemplate="<b>%{customdata}</b><extra></extra>") if many_arcs
           else dict(hovertext=np.asarray(mid_hover, dtype=object), hoverinfo="text")),
        marker=dict(size=np.array([9 if i in sel_arcs else 6 for i in mid_id], dtype=np.uint8), symbol="diamond",
                    color=np.array([1 if i in sel_arcs else 0 for i in mid_id], dtype=np.uint8), cmin=0, cmax=1,
                    colorscale=[[0, "rgba(120,120,120,0.45)"], [1, SELECT_COLOR]], showscale=False),
        showlegend=False,
    ))
    return traces, plan


def arcs_note(fig: go.Figure) -> str:
    """The caption of a `dag_figure` whose arcs are partly bundled: how they are drawn ("" when every arc
    is drawn one by one). A page adds how its user gets a node's own arcs drawn (a search, a click)."""
    return str((fig.layout.meta or {}).get("arcs_note", "")) if isinstance(fig.layout.meta, dict) else ""


def figure_html(fig: go.Figure) -> str:
    """A standalone HTML page of `fig` with plotly.js in-line (opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True)
