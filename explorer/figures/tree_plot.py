"""The module tree on show (`explorer.graph.hierarchy.View`) as a plotly figure.

Open modules are shaded boxes holding their items; a closed module is a square labelled with its path's
last part, a rolled-up run ("LlamaDecoderLayer × 32") a diamond, an op a dot; colour = lowest op level.
Labels are placed so that none overlaps another at the default zoom (`explorer.figures.tree_labels`).
Arcs join the visible nodes; those bundling an op arc that skips levels (a residual shortcut across closed blocks) or spanning more
than one column are drawn as orange curves. Each node's hover says its ops, parameters, output shape and
op-level range; `customdata` holds its id, so a click names the block to open or close.

    >>> from explorer.graph import build_dag
    >>> from explorer.graph.hierarchy import ModuleTree
    >>> fig = tree_figure(ModuleTree(build_dag("resnet_tiny")).view(set()))
    >>> [t.name for t in fig.data]
    ['arcs', 'skip arcs', 'ops', 'modules', 'runs']
"""

from __future__ import annotations

import plotly.graph_objects as go

from explorer.figures.palette import ARC_COLOR, SEARCH_COLOR, SKIP_ARC_COLOR, level_colors
from explorer.figures.tree_labels import BOX_FONT, FIG_PX, KIND_SIZE, MARGIN, NODE_FONT, Frame, place
from explorer.graph.hierarchy import View, VisibleNode

X_STEP, Y_STEP = 1.0, 1.0
KIND_SYMBOL = {"op": "circle", "module": "square", "run": "diamond"}
KIND_TRACE = {"op": "ops", "module": "modules", "run": "runs"}
BOX_FILL = "rgba(31,119,180,{a})"


def _window(view: View, width: int, focus: str | None) -> list[float]:
    if width <= WINDOW:
        return [-0.8, max(width, 6) - 0.2]
    x = focus_x(view, focus)
    lo = 0 if x is None else min(max(0, x - WINDOW // 3), width - WINDOW)
    return [lo - 0.8, lo + WINDOW - 0.2]


def _short(n: VisibleNode) -> str:
    """A block's label on the plot: its path's last part (`self_attn`, `17`; the class is in the hover); a
    run's "LlamaDecoderLayer × 32"."""
    return n.label if n.kind == "run" else n.id.rpartition(".")[2]


def _fmt(n: int) -> str:
    for unit, k in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= k:
            return f"{n / k:.1f}{unit}"
    return str(n)


def node_hover(n: VisibleNode) -> str:
    lo, hi = n.levels
    lv = f"level {lo}" if lo == hi else f"levels {lo}–{hi}"
    what = {"op": f"op <b>{n.id}</b> ({n.label})", "module": f"<b>{n.label}</b> {n.id}",
            "run": f"<b>{n.label}</b> {n.id} (identical blocks, rolled up)"}[n.kind]
    tail = "" if n.kind == "op" else f"<br>{n.ops:,} ops — click to {'expand' if n.kind == 'run' else 'open'}"
    return (f"{what}<br>{lv} (op graph, longest path)<br>shape {n.shape}, params {_fmt(n.params)}"
            + (f"<br>module {n.path}" if n.kind == "op" and n.path else "") + tail)


WINDOW = 40  # columns on show at once in a wide view; the rest is a pan away


def focus_x(view: View, focus: str | None) -> int | None:
    """The column of `focus`: a visible node, or the left edge of an open module's box."""
    for n in view.nodes:
        if n.id == focus:
            return n.x
    for name, x0, _, _, _ in view.boxes:
        if name == focus:
            return x0
    return None


def tree_figure(view: View, highlight: str | None = None, height: int | None = None,
                focus: str | None = None) -> go.Figure:
    """The figure of `view`; `highlight` (a visible node id, the search's target) gets a dark ring. A view
    wider than `WINDOW` columns opens on the `WINDOW` columns around `focus` (or `highlight`), panning for the
    rest."""
    pos = {n.id: (n.x * X_STEP, -n.y * Y_STEP) for n in view.nodes}
    width = max((n.x for n in view.nodes), default=0) + 1
    rows = max((n.y for n in view.nodes), default=0) + 1
    height = height or max(320, min(900, 140 + 70 * rows))
    xr, yr = _window(view, width, focus or highlight), [-(rows + 0.2), 1.2]
    labels = {(lb.owner, lb.where == "box"): lb for lb in place(view, Frame(FIG_PX, height, tuple(xr), tuple(yr)),
                                                                   {n.id: _short(n) for n in view.nodes})}
    top = max((n.levels[1] for n in view.nodes), default=0)
    colors = level_colors(top + 1)
    fig = go.Figure()
    shapes, notes = [], []  # handed to the layout at once: one add_shape per box copies the layout each time (minutes)
    for name, x0, y0, w, h in view.boxes:
        depth = name.count(".") + 1
        shapes.append(dict(type="rect", x0=x0 - 0.45, x1=x0 + w - 0.55, y0=-(y0 - 0.45), y1=-(y0 + h - 0.55),
                           line=dict(color="rgba(31,119,180,0.5)", width=1),
                           fillcolor=BOX_FILL.format(a=0.05 + 0.02 * (depth % 3)), layer="below"))
        lb = labels.get((name, True))
        if lb is not None:
            notes.append(dict(x=x0 - 0.45, y=-(y0 - 0.45), text=lb.text, showarrow=False, xanchor="left",
                              yanchor="bottom", yshift=lb.shift, font=dict(size=BOX_FONT, color="rgba(31,119,180,0.9)")))
    plain_x: list = []
    plain_y: list = []
    skip_x: list = []
    skip_y: list = []
    for a in view.arcs:
        (x0, y0), (x1, y1) = pos[a.src], pos[a.dst]
        if a.skips or x1 - x0 > X_STEP * 1.5:
            mid = (x0 + x1) / 2
            bend = 0.35 + 0.05 * min(10, abs(x1 - x0))
            skip_x += [x0, mid, x1, None]
            skip_y += [y0, max(y0, y1) + bend, y1, None]
        else:
            plain_x += [x0, x1, None]
            plain_y += [y0, y1, None]
    fig.add_trace(go.Scatter(x=plain_x, y=plain_y, mode="lines", name="arcs", hoverinfo="skip",
                             line=dict(color=ARC_COLOR, width=1)))
    fig.add_trace(go.Scatter(x=skip_x, y=skip_y, mode="lines", name="skip arcs", hoverinfo="skip",
                             line=dict(color=SKIP_ARC_COLOR, width=1.5, shape="spline")))
    for kind in ("op", "module", "run"):
        ns = [n for n in view.nodes if n.kind == kind]
        shown = [labels.get((n.id, False)) for n in ns]
        fig.add_trace(go.Scatter(
            x=[pos[n.id][0] for n in ns], y=[pos[n.id][1] for n in ns], name=KIND_TRACE[kind],
            mode="markers+text" if kind != "op" else "markers",
            text=[lb.text if lb else "" for lb in shown] if kind != "op" else None,
            textposition=[lb.where if lb else "top center" for lb in shown],
            textfont=dict(size=NODE_FONT),
            marker=dict(symbol=KIND_SYMBOL[kind], size=KIND_SIZE[kind],
                        color=[colors[n.levels[0]] for n in ns],
                        line=dict(color=[SEARCH_COLOR if n.id == highlight else "white" for n in ns],
                                  width=[4 if n.id == highlight else 1 for n in ns])),
            customdata=[n.id for n in ns], hovertext=[node_hover(n) for n in ns], hoverinfo="text"))
    fig.update_layout(height=height, showlegend=False, margin=MARGIN, plot_bgcolor="white", clickmode="event+select",
                      xaxis=dict(visible=False, range=xr), yaxis=dict(visible=False, range=yr), dragmode="pan",
                      shapes=shapes, annotations=notes)
    return fig
