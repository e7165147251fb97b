"""Two DAGs side by side in one figure: the same level axis and zoom in both panes (plotly's matched
axes: a zoom or pan in one moves the other), nodes outlined by their match status (`explorer.graph.match`):
same (no outline), changed (orange), only on this side (magenta); "changes only" dims the same ones.

The figure holds `dag_plot.dag_figure`'s traces for A (pane 1), then for B (pane 2), then two legend
entries; `fig.layout.meta["nodes"]` gives the indices of the two node traces, so a page maps a selection
point (`curve_number`, `customdata`) back to its side and node.

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> from explorer.graph.match import match_nodes
    >>> a = Dag.build([Node("x", "input"), Node("h", "relu"), Node("y", "linear", "fc")],
    ...               [Arc("x", "h"), Arc("h", "y")], "op")
    >>> b = Dag.build([Node("x", "input"), Node("y", "linear", "fc")], [Arc("x", "y")], "op")
    >>> fig = side_by_side(a, b, match_nodes(a, b))
    >>> fig.layout.meta["nodes"], fig.layout.xaxis2.matches
    ([8, 17], 'x')
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures.dag_plot import TRACE_NODES, dag_figure
from explorer.graph.dag import Dag
from explorer.graph.match import Match
from explorer.overlays.base import Overlay

STATUS_COLOR = {"same": "white", "changed": "#ff8c00", "only here": "#d6197f"}
STATUS_WIDTH = {"same": 0.5, "changed": 3.0, "only here": 3.0}


def _pane(dag: Dag, status: dict[str, str], *, changes_only: bool, selected: Collection[str],
          dimmed: Collection[str], overlay: Overlay | None, search: str | None) -> go.Figure:
    dim = set(dimmed) | ({i for i, s in status.items() if s == "same"} if changes_only else set())
    fig = dag_figure(dag, selected_nodes=selected, dimmed=dim, overlay=overlay, search=search)
    nodes = fig.data[-1]
    ids = list(nodes.customdata)
    sel = set(selected)
    colors = ["#e00000" if i in sel else STATUS_COLOR[status.get(i, "same")] for i in ids]
    widths = [3.5 if i in sel else STATUS_WIDTH[status.get(i, "same")] for i in ids]
    nodes.marker.line = dict(color=colors, width=np.array(widths))
    return fig


def side_by_side(a: Dag, b: Dag, match: Match, *, title_a: str = "A", title_b: str = "B",
                 changes_only: bool = False, selected_a: Collection[str] = (), selected_b: Collection[str] = (),
                 dimmed_a: Collection[str] = (), dimmed_b: Collection[str] = (), overlay_a: Overlay | None = None,
                 overlay_b: Overlay | None = None, search: str | None = None, height: int | None = None) -> go.Figure:
    """Panes A and B (see the module doc). `selected_*` are outlined red (a page passes the selection of one
    side and its matches on the other), `dimmed_*` drawn faint (e.g. what a pruning removed)."""
    fa = _pane(a, match.status_a(), changes_only=changes_only, selected=selected_a, dimmed=dimmed_a,
               overlay=overlay_a, search=search)
    fb = _pane(b, match.status_b(), changes_only=changes_only, selected=selected_b, dimmed=dimmed_b,
               overlay=overlay_b, search=search)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.03, subplot_titles=(title_a, title_b))
    for col, part in ((1, fa), (2, fb)):
        for t in part.data:
            if t.name == TRACE_NODES and getattr(t.marker, "colorbar", None) is not None:
                t.marker.showscale = col == 2 and overlay_b is not None
            if col == 2:
                t.showlegend = False  # one legend entry per kind of trace
            fig.add_trace(t, row=1, col=col)
    n = len(fa.data)
    if overlay_a is not None and overlay_b is not None:  # one colour scale for both panes
        ca, cb = fig.data[n - 1].marker, fig.data[2 * n - 1].marker
        lo, hi = min(ca.cmin, cb.cmin), max(ca.cmax, cb.cmax)
        ca.cmin = cb.cmin = lo
        ca.cmax = cb.cmax = hi
        cb.colorbar.x = 1.02
    for name, key in (("changed (shape or params)", "changed"), ("only on this side", "only here")):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, showlegend=True,
                                 marker=dict(size=10, color="white", line=dict(width=3, color=STATUS_COLOR[key]))))
    ys = [fa.layout.yaxis.range, fb.layout.yaxis.range]
    y_range = [min(r[0] for r in ys), max(r[1] for r in ys)]
    fig.update_xaxes(matches="x", title_text="level", showgrid=True, gridcolor="#eee", zeroline=False)
    fig.update_yaxes(matches="y", visible=False, range=y_range)
    fig.update_layout(height=height or max(fa.layout.height or 400, fb.layout.height or 400), plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=40, b=90), dragmode="zoom", hovermode="closest",
                      clickmode="event+select", legend=dict(orientation="h", yanchor="top", y=-0.2, x=0),
                      uirevision=f"{a.name}-{b.name}-{a.granularity}", meta={"nodes": [n - 1, 2 * n - 1]})
    return fig
