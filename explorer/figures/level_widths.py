"""How many nodes each level holds, drawn so that every shape of graph says something.

`level_width_figure(dag)` picks its form from the widths (docs/science.md §1, levels):

- a **chain** (every level one node, an MLP) is a strip of level-coloured cells naming each
  level's op, titled "chain: one node per level";
- a **mostly chain** (≥ 80 % of the levels one node, a ResNet-50 at op level) is a step line
  of the widths with the wider levels marked and named on hover, titled with how many
  levels are single nodes and where the branches are;
- anything else is a bar per level in its level's colour, hover listing the level's nodes.

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> chain = Dag.build([Node("x", "input"), Node("h", "linear"), Node("y", "relu")],
    ...                   [Arc("x", "h"), Arc("h", "y")], "op")
    >>> fig = level_width_figure(chain)
    >>> fig.layout.title.text
    'chain: one node per level (3 levels)'
    >>> fig.data[0].type
    'heatmap'
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.palette import level_colors, stepped_colorscale
from explorer.graph.dag import Dag

MOSTLY_CHAIN = 0.8  # fraction of single-node levels above which the widths are drawn as a line
STRIP_TEXT_MAX = 12  # levels; up to this many, a chain's strip names each level's op in its cell (else hover)
HOVER_NODES = 6  # node ids listed per level on hover


def _nodes_text(dag: Dag, ids: list[str]) -> str:
    shown = "<br>".join(f"{i} ({dag.node(i).op})" for i in ids[:HOVER_NODES])
    return shown + (f"<br>… {len(ids) - HOVER_NODES} more" if len(ids) > HOVER_NODES else "")


def level_summary(dag: Dag) -> str:
    """One line describing the level widths.

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> d = Dag.build([Node("x", "input"), Node("a", "relu"), Node("b", "relu"), Node("y", "add")],
    ...               [Arc("x", "a"), Arc("x", "b"), Arc("a", "y"), Arc("b", "y")], "op")
    >>> level_summary(d)
    'widest level: 2 nodes at level 1; 2 of 3 levels hold a single node'
    """
    widths = [len(v) for v in dag.levels()]
    n = len(widths)
    if max(widths, default=1) == 1:
        return f"chain: one node per level ({n} levels)"
    k = int(np.argmax(widths))
    single = sum(w == 1 for w in widths)
    if single >= MOSTLY_CHAIN * n:
        return f"mostly a chain: {single} of {n} levels hold one node; widest: {widths[k]} at level {k}"
    return f"widest level: {widths[k]} nodes at level {k}; {single} of {n} levels hold a single node"


def level_width_figure(dag: Dag, height: int = 230) -> go.Figure:
    """Nodes per level in the form that suits the graph (see the module doc)."""
    levels = dag.levels()
    widths = [len(v) for v in levels]
    n = len(widths)
    colors = level_colors(n)
    hover = [f"level {k}: {w} node{'s' if w != 1 else ''}<br>{_nodes_text(dag, list(v))}"
             for k, (w, v) in enumerate(zip(widths, levels))]
    summary = level_summary(dag)
    if max(widths, default=1) == 1:  # a chain: name the op of each level
        ops = [dag.node(v[0]).op for v in levels]
        strip = go.Heatmap(z=[list(range(n))], x=list(range(n)), y=["op"], colorscale=stepped_colorscale(colors),
                           zmin=-0.5, zmax=n - 0.5, showscale=False, xgap=2, name="levels",
                           customdata=[hover], hovertemplate="%{customdata}<extra></extra>",
                           text=[ops] if n <= STRIP_TEXT_MAX else None,
                           texttemplate="%{text}" if n <= STRIP_TEXT_MAX else None, textfont=dict(size=10))
        fig = go.Figure(strip)
        fig.update_layout(height=min(height, 150))
        fig.update_yaxes(visible=False)
    elif sum(w == 1 for w in widths) >= MOSTLY_CHAIN * n:  # mostly a chain: a step line, branches marked
        wide = [k for k, w in enumerate(widths) if w > 1]
        line = go.Scatter(x=list(range(n)), y=widths, mode="lines", line=dict(shape="hvh", color="#888", width=1.5),
                          name="nodes per level", customdata=hover, hovertemplate="%{customdata}<extra></extra>")
        marks = go.Scatter(x=wide, y=[widths[k] for k in wide], mode="markers", name="branch levels",
                           marker=dict(color=[colors[k] for k in wide], size=9, line=dict(width=1, color="white")),
                           customdata=[hover[k] for k in wide], hovertemplate="%{customdata}<extra></extra>")
        fig = go.Figure([line, marks])
        fig.update_layout(height=height, showlegend=False)
        fig.update_yaxes(title_text="nodes", rangemode="tozero", dtick=1 if max(widths) <= 6 else None)
        summary = summary.replace("; widest", "<br>widest") + f"; markers: the {len(wide)} branch levels (hover)"
    else:
        fig = go.Figure(go.Bar(x=list(range(n)), y=widths, marker_color=colors, name="nodes per level",
                               customdata=hover, hovertemplate="%{customdata}<extra></extra>"))
        fig.update_layout(height=height, bargap=0.1)
        fig.update_yaxes(title_text="nodes")
    fig.update_layout(margin=dict(l=10, r=10, t=50 if "<br>" in summary else 34, b=30), plot_bgcolor="white",
                      title=dict(text=summary, font=dict(size=12), x=0.01))
    fig.update_xaxes(title_text="level")
    return fig
