"""The Architecture page's node inspector: click a node of the DAG for its op, shapes, params,
MACs, module path, level and arcs (`explorer.figures.node_labels.node_facts`); a block can be
expanded into its ops, and an op collapsed back into its module's block."""

from __future__ import annotations

import streamlit as st

from explorer.figures.events import event_points
from explorer.figures.node_labels import node_facts, node_label

PAGE = "arch"


def clicked_node(dag, event) -> str | None:
    """The one node an event picked (a click), or None for none or several."""
    known = {n.id for n in dag.nodes}
    ids = []
    for p in event_points(event):
        cd = p.get("customdata") if hasattr(p, "get") else None
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if isinstance(cd, str) and cd in known:
            ids.append(cd)
    return ids[0] if len(set(ids)) == 1 else None


def _regranulate(granularity: str, search: str) -> None:
    st.session_state[f"{PAGE}.granularity"] = granularity
    st.session_state[f"{PAGE}.search"] = search


def show(dag, event) -> bool:
    """Draw the inspector for the clicked node, if exactly one was clicked; True when drawn."""
    node = clicked_node(dag, event)
    if node is None:
        return False
    n = dag.node(node)
    with st.container(border=True, key=f"{PAGE}.inspector"):
        label = node_label(dag, node)
        st.markdown(f"**{node}**" + (f" — {label}" if label != node else ""))
        facts = node_facts(dag, node)
        half = (len(facts) + 1) // 2
        c1, c2 = st.columns(2)
        for col, part in ((c1, facts[:half]), (c2, facts[half:])):
            col.markdown("\n".join(f"- **{k}**: {v}" for k, v in part))
        module = n.module
        if dag.granularity == "block" and len(n.meta.get("members", [])) > 1 and module:
            st.button(f"Expand {module} into its ops", key=f"{PAGE}.expand", on_click=_regranulate,
                      args=("op", module), help="the op-level graph with this block's ops highlighted")
        elif dag.granularity == "op" and module:
            st.button("Collapse into module blocks", key=f"{PAGE}.collapse", on_click=_regranulate,
                      args=("block", module.split(".")[0]),
                      help="the block view (sidebar depth), with this op's top-level module highlighted")
    return True
