"""Prune: select part of the DAG, see what it removes, prune, compare, export (docs/science.md §3)."""

from ui.nav import through_navigation

through_navigation(__file__)

import hashlib

import streamlit as st

from ui import cache, prune_tools as pt, state
from ui.errors import graph_warnings, guard, show_error
from explorer.links.pages import PAGES
from ui.classroom import look
from ui.links import Setting, linked, selection_fits, selection_setting
from ui.picker import graph_picker


def _fmt(n: int) -> str:
    for unit, k in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= k:
            return f"{n / k:.2f}{unit}"
    return str(n)


INLINE_PARAMS = 1_000_000  # above this, compaction and timing run in the worker with progress


def do_prune(key, dag, lm, sel) -> None:
    """One prune through the library's pipeline: here for a small model (about a second), as a job in
    the worker for a bigger one (the page stays live and shows its progress)."""
    from explorer import paths
    from explorer.pruning.pipeline import run

    prop = pt.active_proposal(sel)
    what = f"{key.spec}|{key.seed}|{dag.granularity}|{sel.dumps()}|{prop.summary() if prop else ''}"
    out = paths.exports() / hashlib.sha256(what.encode()).hexdigest()[:12]
    if sum(p.numel() for p in lm.model.parameters()) > INLINE_PARAMS:
        pt.submit_prune_job(key, dag, sel, prop, out)
        return
    with st.spinner("pruning, compacting, timing, exporting…"):
        st.session_state[pt.RESULT] = run(lm, dag, out=out, spec=key.spec, seed=key.seed, repeats=10,
                                          selection=None if prop is not None else sel, proposal=prop)


def summary(key, cur, verdict) -> None:
    """What the selection removes, or why it is refused (with a suggestion)."""
    from explorer.figures.wording import plural, selection_text

    st.subheader(f"Selection: {plural(len(cur.nodes), 'node')}, {plural(len(cur.arcs), 'arc')}")
    if not cur.is_empty():
        st.caption("Selected: " + selection_text(cur).removeprefix("remove "))
    if not verdict.ok:
        st.error("**Refused** — nothing would change:\n\n" + "\n".join(f"- {r}" for r in verdict.reasons[:12]))
        if verdict.suggestion is not None:
            st.caption(f"Suggested: {selection_text(verdict.suggestion)}")
            if st.button("Use suggested selection", key="prune.btn_suggest"):
                pt.set_selection(verdict.suggestion)
                st.rerun()
    counts = {"nodes": 0, "arcs": 0, "params": 0, "macs": 0}
    if verdict.ok:
        with guard("counting what the selection removes"):
            counts = cache.removal(key, cur, verdict)
    m = st.columns(5)
    m[0].metric("nodes removed", f"{counts['nodes']:,}")
    m[1].metric("arcs removed", f"{counts['arcs']:,}")
    m[2].metric("params removed", _fmt(counts["params"]))
    m[3].metric("MACs removed", _fmt(counts["macs"]))
    m[4].metric("disconnected", f"{len(verdict.disconnected) if verdict.ok else 0:,}")
    if verdict.ok and not cur.is_empty() and counts["params"] == 0 and counts["macs"] == 0:
        from explorer.pruning.apply import no_gain_note

        note = no_gain_note(cur)
        st.info(note[0].upper() + note[1:] + ".", icon=":material/info:")  # said before anyone prunes and times
    if verdict.ok and verdict.disconnected:
        st.caption("Disconnected with it (dimmed on the graph): " + ", ".join(verdict.disconnected[:30])
                   + (" ..." if len(verdict.disconnected) > 30 else ""))


def main() -> None:
    from explorer.figures.dag_plot import arcs_note

    st.title("Prune")
    st.caption("Select nodes and arcs on the graph (click a node or an arc's diamond; box or lasso: the modebar's "
               "select tools; drag to zoom, double-click to zoom out), by id, filter, shortcut or criterion. Pruning "
               "zeroes their entries of the lifting matrices; a selection that would break the network is refused "
               "with the reason.")
    look("the red outlines: what the selection removes; dimmed nodes go with it. The verdict says if it is valid.")
    key = graph_picker("prune", granularities=("unit", "op"), allow_onnx=False, prefer_unit=False)
    if key is None:
        st.info("Choose a model in the sidebar.")
        return
    dag = cache.dag(key)
    graph_warnings(dag)
    lm = cache.model(key.spec, key.seed)
    held = state.SELECTION.get()
    cur = pt.graph_event(dag, pt.current(dag))
    selection_fits(held is None or held.is_empty() or not cur.is_empty())
    state.SELECTION.put(cur)

    verdict = cache.verdict(key, cur)
    c1, c2 = st.columns([3, 1])
    c2.radio("Graph selection", pt.MODES, key="prune.mode")
    if c2.button("Clear selection", key="prune.clear"):
        from explorer.pruning.selection import Selection

        pt.set_selection(Selection.empty(dag))
        st.rerun()
    with c1:  # zoom drags: Streamlit lets a click select only outside the box and lasso modes
        fig = cache.dag_figure(key, selected_nodes=cur.nodes, selected_arcs=cur.arcs,
                               dimmed=verdict.disconnected if verdict.ok else (), dragmode="zoom")
        st.plotly_chart(fig, key="prune.dag", on_select="rerun", selection_mode=("points", "box", "lasso"),
                        config={"displaylogo": False, "scrollZoom": True})
        if arcs_note(fig):
            st.caption(arcs_note(fig) + " Click a node (zoom in first on a tall layer) to see its own arcs.")
    pt.tools(key, dag, lm, cur)
    summary(key, cur, verdict)
    with guard("drawing the decomposition"):
        pt.matrix_view(key, dag, verdict)

    can = verdict.ok and (not cur.is_empty() or pt.active_proposal(cur) is not None)
    if st.button("Prune", key="prune.btn_prune", type="primary", disabled=not can):
        try:
            do_prune(key, dag, lm, cur)
        except Exception as e:  # noqa: BLE001 - shown, never a traceback
            show_error(e, "pruning")
    pt.job_panel()
    with guard("showing the pruned model"):
        pt.result_panel(key, dag)


P = PAGES["Prune"]  # the link schema (explorer.links.pages)
LINK = (selection_setting(P["sel"]), Setting(P["crit"], "prune.crit"), Setting(P["target"], "prune.target"),
        Setting(P["scope"], "prune.scope"), Setting(P["sp"], "prune.sparsity"))

with guard(), linked("prune", LINK, presets="Prune"):
    main()
