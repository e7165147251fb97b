"""The free-form (force-directed) view of a DAG as one self-contained HTML page (pyvis).

Fully offline: vis-network's JS/CSS are in-lined (`cdn_resources="in_line"`) and the
Bootstrap `<link>`/`<script>` tags pyvis's template always adds from a CDN are stripped,
so the page makes no network request. `external_resources(html)` lists any http(s)
`src`/`href` left in a script or link tag (the tests assert it is empty).

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> dag = Dag.build([Node("x", "input"), Node("h", "linear"), Node("y", "linear")],
    ...                 [Arc("x", "h"), Arc("h", "y"), Arc("x", "y")], "op")
    >>> html = pyvis_html(dag)
    >>> external_resources(html), "vis.Network" in html
    ([], True)
"""

from __future__ import annotations

import re

from explorer.graph.dag import Dag

MAX_NODES = 2500  # above this, force-directed layout in the browser gets sluggish
MAX_ARCS = 2500  # above this, too: and each arc costs ~200 bytes of the page (a unit-level MLP has 15,000+)

_EXTERNAL_TAG = re.compile(
    r"<(script|link)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?(https?:)?//[^>]*>(?:\s*</script>)?",
    re.IGNORECASE | re.DOTALL,
)
_EXTERNAL_URL = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)",
                           re.IGNORECASE | re.DOTALL)


class PyvisViewError(ValueError):
    """The graph is too big for the free-form view."""


def external_resources(html: str) -> list[str]:
    """URLs of scripts/stylesheets the page would fetch from the network (should be none)."""
    return _EXTERNAL_URL.findall(html)


def fits(dag: Dag, max_nodes: int = MAX_NODES, max_arcs: int = MAX_ARCS) -> str:
    """"" when the free-form view can draw `dag`, else why not (and what to choose instead)."""
    if len(dag.nodes) > max_nodes:
        return (f"{dag.name or 'the graph'} has {len(dag.nodes):,} nodes; the free-form view draws at most "
                f"{max_nodes:,}. Choose the block granularity (or a smaller depth) to browse it")
    if len(dag.arcs) > max_arcs:
        return (f"{dag.name or 'the graph'} has {len(dag.arcs):,} arcs; the free-form view draws at most "
                f"{max_arcs:,}. Choose the op granularity to browse it")
    return ""


def pyvis_html(dag: Dag, *, height: str = "620px", max_nodes: int = MAX_NODES, max_arcs: int = MAX_ARCS) -> str:
    """A standalone HTML page drawing `dag` with pyvis: nodes coloured by level, arcs as arrows.

    Skip arcs (spanning >= 2 levels) are orange and dashed. Hover a node for its metadata.
    Raises `PyvisViewError` above `max_nodes` nodes or `max_arcs` arcs (`fits` says why).
    """
    from pyvis.network import Network

    from explorer.figures.palette import SKIP_ARC_SOLID, level_colors

    why = fits(dag, max_nodes, max_arcs)
    if why:
        raise PyvisViewError(why)
    colors = level_colors(dag.depth + 1)
    net = Network(height=height, width="100%", directed=True, cdn_resources="in_line", notebook=False)
    for n in dag.nodes:
        lv = dag.level[n.id]
        shape = "×".join(map(str, n.shape)) if n.shape else "?"
        title = (f"{n.id}\nop: {n.op}\n" + (f"module: {n.module}\n" if n.module else "")
                 + f"shape: {shape}\nparams: {n.params:,}\nMACs: {n.macs:,}\nlevel: {lv}")
        net.add_node(n.id, label=n.id if len(dag.nodes) <= 300 else " ", title=title, color=colors[lv],
                     level=lv, size=12 if len(dag.nodes) <= 300 else 6)
    for a in dag.arcs:
        skip = dag.level[a.dst] - dag.level[a.src] > 1
        net.add_edge(a.src, a.dst, title=f"{a.id}: {a.label or a.kind}",
                     color=SKIP_ARC_SOLID if skip else "#888888", dashes=skip, width=1.5 if skip else 1)
    big = len(dag.nodes) > 400
    net.set_options(
        '{"physics": {"solver": "forceAtlas2Based", "stabilization": {"iterations": %d}},'
        ' "edges": {"arrows": {"to": {"enabled": true, "scaleFactor": 0.4}}, "smooth": false},'
        ' "interaction": {"hover": true, "navigationButtons": false}}' % (60 if big else 200)
    )
    html = net.generate_html(notebook=False)
    html = _EXTERNAL_TAG.sub("", html)
    # pyvis's template writes an empty <h1> heading twice; drop them to save space
    html = re.sub(r"<center>\s*<h1>\s*</h1>\s*</center>", "", html)
    leftover = external_resources(html)
    if leftover:  # a pyvis upgrade added a CDN tag we do not know how to strip
        raise PyvisViewError(f"the pyvis page still references {leftover[:2]}; it would not work offline")
    return html
