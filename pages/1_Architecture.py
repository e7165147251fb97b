"""Architecture: any network as a DAG-DNN laid out by level (docs/science.md §1)."""

from ui.nav import through_navigation

through_navigation(__file__)

import time

import streamlit as st

from ui import cache, module_tree, node_inspector, state
from ui.errors import graph_warnings, guard
from explorer.links.pages import PAGES
from ui.classroom import classroom, look, scaled
from ui.links import Setting, linked
from ui.picker import graph_picker
from ui.overlay_choice import overlay_choice

PYVIS_AUTO = 300  # the free-form view is on by default up to this many nodes
PYVIS_AUTO_ARCS = 1000  # and arcs
P = PAGES["Architecture"]  # the link schema (explorer.links.pages)
LINK = (Setting(P["q"], "arch.search"), Setting(P["free"], "arch.pyvis"), Setting(P["metric"], "arch.metric"),
        Setting(P["tree"], "arch.tree"),
        Setting(P["open"], put=module_tree.put_link, get=module_tree.link_value, clear=module_tree.clear))


def _fmt(n: int) -> str:
    for unit, k in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= k:
            return f"{n / k:.2f}{unit}"
    return str(n)


def main() -> None:
    from explorer.figures.dag_plot import arcs_note, figure_html, search_nodes
    from explorer.figures.pyvis_view import fits as pyvis_fits
    from explorer.graph.block import shortcut_arcs

    st.title("Architecture")
    st.caption("The network as a DAG-DNN: x = level (longest path from the input), one colour per level, "
               "orange curves = skip arcs spanning several levels. Hover nodes and arc diamonds for details.")
    look("each column is one level; orange curves are skip arcs — they jump over levels.")
    t0 = time.perf_counter()  # the picker may build the graph (to choose its granularity): time from here
    key = graph_picker("arch")
    if key is None:
        st.info("Choose a model in the sidebar.")
        return
    dag, how = cache.timed_graph(key, since=t0)
    offered = dag.granularity in ("op", "block") and module_tree.offered(key, dag)
    # the module tree goes above the facts and widgets: the browser draws the page's elements in order, and
    # each widget kind's JavaScript loads first (0.5 s on a first visit), so the graph comes before them
    graph_slot = st.container() if offered and st.session_state.get("arch.tree", module_tree.by_default(dag)) else None

    drawn_as_tree = graph_slot is not None
    s = module_tree.facts(key) if drawn_as_tree else dag.summary()  # the counts of the graph on show
    shortcuts = 0 if drawn_as_tree else len(shortcut_arcs(dag))  # block arcs drawn orange: an op-level shortcut
    skip_help = "arcs spanning two or more levels (orange)" + (
        f"; {shortcuts} of them join adjacent blocks but carry an op-level shortcut (also orange)" if shortcuts else "")
    cols = st.columns(6)
    for c, (label, value) in zip(cols, [("nodes", f"{s['nodes']:,}"), ("arcs", f"{s['arcs']:,}"),
                                         ("levels", f"{s['levels']:,}"),
                                         ("skip arcs", f"{s['skip_arcs'] + shortcuts:,}"),
                                         ("params", _fmt(s["params"])), ("MACs", _fmt(s["macs"]))]):
        c.metric(label, value, help=skip_help if label == "skip arcs" else None)
    st.caption(f"{key.label()} — {how}" + (" · the counts are the op graph's, which the module tree draws"
                                              if drawn_as_tree else ""))
    graph_warnings(dag)
    if dag.granularity == "op" and len(dag.nodes) > 1500:
        st.warning(f"{len(dag.nodes):,} op nodes: the plot uses WebGL and stays usable, but the *block* "
                   "granularity (sidebar) is easier to read for a model this big.")

    tree = offered
    if tree:
        tree = st.toggle("Module tree: open blocks in place, repeats rolled up", key="arch.tree",
                         value=module_tree.by_default(dag))
    q = st.text_input("Search nodes (id, op or module)", key="arch.search",
                      placeholder="e.g. conv, layer2, add, fc" + (", model.layers.17.self_attn" if tree else ""),
                      help="the module tree opens what it names; the flat view highlights matches and their neighbours")
    if tree:
        module_tree.show(key, q, graph_slot)
        return
    hits, nbrs = search_nodes(dag, q)
    if q.strip():
        if hits:
            st.caption(f"{len(hits)} match(es), {len(nbrs)} neighbour(s) highlighted; other nodes dimmed.")
        else:
            st.warning(f"No node id, op or module contains {q.strip()!r}.")

    fig = overlay_choice(key, dag, "arch", search=q)
    selectable = dag.granularity in ("unit", "op") and not key.is_onnx
    if selectable:
        st.plotly_chart(scaled(fig), key="arch.dag", config={"scrollZoom": True, "displaylogo": False},
                        on_select="rerun", selection_mode=("points", "box", "lasso"))
        if arcs_note(fig):
            st.caption(arcs_note(fig) + " Search a node (e.g. its id) to see its own arcs.")
        selection_panel(dag)
    else:  # block view, ONNX: a click opens the node inspector
        st.plotly_chart(scaled(fig), key="arch.dag", config={"scrollZoom": True, "displaylogo": False},
                        on_select="rerun", selection_mode=("points",))
        if arcs_note(fig):
            st.caption(arcs_note(fig) + " Search a node (e.g. its id) to see its own arcs.")
        if not node_inspector.show(dag, st.session_state.get("arch.dag")):
            st.caption("Click a node for its details.")

    if hits:
        st.dataframe([{"id": i, "op": dag.node(i).op, "module": dag.node(i).module, "level": dag.level[i],
                       "shape": str(dag.node(i).shape), "in": ", ".join(dag.predecessors(i))[:80],
                       "out": ", ".join(dag.successors(i))[:80]} for i in hits[:200]],
                     hide_index=True, key="arch.hits")

    if classroom():  # the projector view stops at the graph: histograms, downloads and tables are for desks
        return
    c1, c2 = st.columns([2, 3])
    with c1:
        st.plotly_chart(cache.level_widths(key), key="arch.hist")
    with c2:
        st.markdown("**Downloads**")
        name = (dag.name or "graph").replace("/", "_").replace(":", "_")
        st.download_button("Graph as JSON", data=dag.dumps, file_name=f"{name}_{dag.granularity}.json",
                           mime="application/json", key="arch.dl_json", on_click="ignore")
        st.download_button("Plot as standalone HTML", data=lambda: figure_html(fig),
                           file_name=f"{name}_{dag.granularity}.html", mime="text/html", key="arch.dl_html",
                           on_click="ignore")
        st.caption("The JSON is the CLI's `python -m explorer levels MODEL --json` document; the HTML "
                   "carries plotly.js in-line and opens offline.")

    too_big = pyvis_fits(dag)
    show = st.toggle("Free-form view (pyvis, force-directed)", value=not too_big and len(dag.nodes) <= PYVIS_AUTO
                     and len(dag.arcs) <= PYVIS_AUTO_ARCS, key="arch.pyvis", disabled=bool(too_big), help=too_big or None)
    if too_big:
        st.caption(f"Free-form view: {too_big}.")
    elif show:

        with guard("drawing the free-form view"):
            st.iframe(_pyvis(key), height=640)
            st.caption("Drag nodes, scroll to zoom. Resources are in-lined: the view works offline.")

    with st.expander(f"All {len(dag.nodes):,} nodes"):
        st.dataframe([{"id": n.id, "level": dag.level[n.id], "op": n.op, "module": n.module,
                       "shape": str(n.shape), "params": n.params, "MACs": n.macs} for n in dag.nodes],
                     hide_index=True, key="arch.nodes")


def selection_panel(dag) -> None:
    """Box, lasso or click on the graph selects nodes and arcs; one button takes them to Prune."""
    from explorer.pruning.apply import removal_counts
    from explorer.figures.events import selection_from_event
    from explorer.pruning.validity import check
    from explorer.figures.wording import plural

    ev = st.session_state.get("arch.dag")
    node_inspector.show(dag, ev)
    sel = selection_from_event(dag, ev) if ev else None
    if sel is None or sel.is_empty():
        st.caption("Click a node for its details; select with the modebar's box or lasso tool (or click an "
                   "arc's diamond) to send part of the graph to the Prune page.")
        return
    verdict = check(dag, sel)
    counts = removal_counts(None, dag, verdict)  # no model or input: counts from the traced nodes
    with st.container(border=True):
        c1, c2 = st.columns([3, 1])
        c1.markdown(f"**Selected:** {plural(len(sel.nodes), 'node')}, {plural(len(sel.arcs), 'arc')} — pruning them "
                    f"would remove {plural(counts['nodes'], 'node')}, {plural(counts['arcs'], 'arc')}, "
                    f"{_fmt(counts['params'])} parameters. "
                    + ("Valid." if verdict.ok else "Not valid as it stands: the Prune page shows why and a "
                                                 "suggestion."))
        if c2.button("Prune this selection →", type="primary", key="arch.to_prune"):
            state.SELECTION.put(sel)
            st.switch_page("pages/3_Prune.py")


@st.cache_data(show_spinner="drawing the free-form view…", max_entries=8)
def _pyvis(key) -> str:
    from explorer.figures.pyvis_view import pyvis_html

    return pyvis_html(cache.dag(key))


with guard(), linked("arch", LINK, presets="Architecture"):
    main()
