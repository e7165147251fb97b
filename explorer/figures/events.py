"""Plotly selection events, read back into the graph: which nodes and arcs a box, lasso or
click picked (`st.plotly_chart(..., on_select="rerun")` hands the event over as a dict).

Every selectable point of `dag_figure` carries its id in `customdata`: a node id (the
node trace) or `"src->dst"` (the arc-midpoint trace).

    >>> from explorer.graph.dag import Arc, Dag, Node
    >>> dag = Dag.build([Node("x", "input"), Node("h", "linear"), Node("y", "linear")],
    ...                 [Arc("x", "h"), Arc("h", "y")], "op", name="toy")
    >>> selection_from_event(dag, {"selection": {"points": [{"customdata": "h"}, {"customdata": "h->y"}]}})
    Selection(op on toy: 1 node [h], 1 arc [h->y])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from explorer.graph.dag import Dag
from explorer.pruning.selection import Selection, fingerprint


def event_points(event: Any) -> list[Any]:
    """The points of a selection event: the event, its `"selection"` part, or its list of points."""
    if event is None:
        return []
    if isinstance(event, Mapping) or hasattr(event, "get"):
        sel = event.get("selection", event)
        if sel is None:
            return []
        pts = sel.get("points", []) if (isinstance(sel, Mapping) or hasattr(sel, "get")) else sel
        return list(pts or [])
    if isinstance(event, Sequence):
        return list(event)
    sel = getattr(event, "selection", None)
    return list(getattr(sel, "points", []) or [])


def selection_from_event(dag: Dag, event: Any, note: str = "plotly selection") -> Selection:
    """The `Selection` of the nodes and arcs an event's points name. A list customdata uses its
    first item; points naming nothing in `dag` (legend, level labels) are ignored."""
    known_nodes = {n.id for n in dag.nodes}
    known_arcs = {a.id for a in dag.arcs}
    nodes, arcs = [], []
    for p in event_points(event):
        cd = p.get("customdata") if isinstance(p, Mapping) else None
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if not isinstance(cd, str):
            continue
        if cd in known_arcs:
            arcs.append(cd)
        elif cd in known_nodes:
            nodes.append(cd)
    return Selection(dag.granularity, tuple(nodes), tuple(arcs), dag.name, fingerprint(dag), note)
