"""Prune: select part of the DAG, see what it removes, prune, compare, export (SCIENCE.md §3)."""

from ui.nav import through_navigation

through_navigation(__file__)

import hashlib
import json
import os
from pathlib import Path

import streamlit as st

from ui import cache, state
from ui.errors import guard, show_error
from ui.picker import graph_picker

SEL = "selection"  # the current Selection (the Architecture page may prefill it)
MODES = ("add to the selection", "replace the selection", "remove from the selection")


def _current(dag):
    from explorer.pruning.selection import Selection, fingerprint

    sel = st.session_state.get(SEL)
    if sel is None or sel.granularity != dag.granularity or (sel.fingerprint and sel.fingerprint != fingerprint(dag)) \
            or (sel.model and sel.model != dag.name):
        sel = Selection.empty(dag)
    return sel


def _set(sel) -> None:
    st.session_state[SEL] = sel
    st.session_state[state.SELECTION] = sel
    st.session_state.pop("prune.result", None)


def _merge(cur, new, mode: str):
    if mode.startswith("replace"):
        return new
    if mode.startswith("remove"):
        return cur - new
    return cur | new


def _graph_event(dag, cur):
    """Fold a new plotly box/lasso/click event into the selection (each event once)."""
    from explorer.pruning.selection import Selection

    ev = st.session_state.get("prune.dag")
    sig = json.dumps(ev, sort_keys=True, default=str) if ev else ""
    if not ev or sig == st.session_state.get("prune.last_event"):
        return cur
    st.session_state["prune.last_event"] = sig
    picked = Selection.from_plotly(dag, ev)
    if picked.is_empty():
        return cur
    new = _merge(cur, picked, st.session_state.get("prune.mode", MODES[0]))
    _set(new)
    return new


def _fmt(n: int) -> str:
    for unit, k in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= k:
            return f"{n / k:.2f}{unit}"
    return str(n)


def tools(dag, lm, cur):
    """The other ways to select: ids, filters, structural shortcuts, criteria, a saved file."""
    from explorer.pruning import operations as ops
    from explorer.pruning.selection import Selection

    t_ids, t_filter, t_short, t_crit, t_file = st.tabs(
        ["Ids", "Filters", "Branches / skips / levels", "Criteria", "Saved selection"])
    with t_ids:
        options = [n.id for n in dag.nodes] + ([a.id for a in dag.arcs] if len(dag.arcs) <= 3000 else list(cur.arcs))
        if st.session_state.get("prune.ids") != list(cur.ids):
            st.session_state["prune.ids"] = list(cur.ids)  # the widget follows the selection made elsewhere

        def ids_changed():
            _set(Selection.from_ids(dag, st.session_state["prune.ids"], note="ids"))

        st.multiselect("Nodes and arcs (type to search; arcs are src->dst)", options, key="prune.ids",
                       on_change=ids_changed)
    with t_filter:
        with st.form("prune.filter_form"):
            c1, c2 = st.columns(2)
            module = c1.text_input("Module glob", placeholder="e.g. block1.*", key="prune.f_module")
            regex = c2.text_input("Regex on id/module", placeholder="e.g. conv", key="prune.f_regex")
            ops_all = sorted({n.op for n in dag.nodes})
            op = c1.multiselect("Op types", ops_all, key="prune.f_op")
            lv = c2.slider("Level range", 0, max(1, dag.depth), (1, max(1, dag.depth)), key="prune.f_levels")
            what = st.radio("Select", ["nodes", "arcs into matches"], horizontal=True, key="prune.f_what")
            if st.form_submit_button("Add the matches"):
                with guard("filtering"):
                    f = Selection.from_filter(dag, module=module or None, regex=regex or None, op=op or None,
                                              levels=lv, what="nodes" if what == "nodes" else "arcs")
                    _set(cur | f)
                    st.rerun()
    with t_short:
        heads = ops.merge_heads(dag)
        c1, c2, c3 = st.columns(3)
        if heads:
            head = c1.selectbox("Merge node (add/cat/sum)", heads, key="prune.head")
            branches = ops.branches_of(dag, head)
            labels = [f"{b.note}: {len(b.nodes)} nodes" if b.nodes else f"{b.note} (the arc)" for b in branches]
            k = c1.selectbox("Branch or skip into it", range(len(branches)), format_func=labels.__getitem__,
                             key="prune.branch")
            if c1.button("Remove this branch / skip", key="prune.btn_branch"):
                _set(cur | branches[k])
                st.rerun()
        else:
            c1.caption("No merge nodes (add/cat) in this graph.")
        skips = ops.skip_arcs(dag)
        c2.caption(f"{len(skips)} skip arcs (spanning ≥ 2 levels)")
        if skips and c2.button("Remove all skip arcs", key="prune.btn_skips"):
            _set(cur | ops.skip_selection(dag))
            st.rerun()
        ranges = ops.bypassable_ranges(dag) if len(dag.nodes) <= 400 else []
        if ranges:
            r = c3.selectbox("Bypassable level range", ranges, format_func=lambda t: f"levels {t[0]}..{t[1]}",
                             key="prune.range")
            if c3.button("Remove these levels", key="prune.btn_levels"):
                _set(cur | ops.level_range(dag, *r))
                st.rerun()
        else:
            c3.caption("No level range is bypassed by a skip arc.")
    with t_crit:
        criteria_tab(dag, lm)
    with t_file:
        up = st.file_uploader("Re-apply a saved selection.json", type=["json"], key="prune.upload")
        if up is not None and st.button("Load this selection", key="prune.btn_upload"):
            with guard("loading the selection"):
                s = Selection.from_json(up.getvalue())
                s.check_against(dag)
                _set(s)
                st.rerun()


def criteria_tab(dag, lm):
    from explorer.pruning.criteria import CRITERIA, ProposeConfig, propose

    help_ = ProposeConfig.help()
    c1, c2, c3, c4 = st.columns(4)
    crit = c1.selectbox("Criterion", list(CRITERIA), key="prune.crit", help=help_["criterion"])
    target = c2.selectbox("Target", [t for t in ("units", "arcs", "weights") if t in CRITERIA[crit].targets],
                          key="prune.target", help=help_["target"])
    scope = c3.selectbox("Scope", ["layer", "global"], key="prune.scope", help=help_["scope"])
    sparsity = c4.slider("Sparsity", 0.0, 0.95, 0.5, 0.05, key="prune.sparsity", help=help_["sparsity"])
    st.caption(f"{CRITERIA[crit].explanation} — {CRITERIA[crit].reference}")
    if st.button("Propose", key="prune.btn_propose"):
        with guard("proposing"):
            p = propose(lm, crit, sparsity, target=target, scope=scope, dag=dag)
            st.session_state["prune.proposal"] = p
            if p.selection is not None and not p.selection.is_empty() and p.selection.granularity == dag.granularity:
                _set(p.selection)
                st.session_state["prune.proposal"] = None
                st.rerun()
    p = st.session_state.get("prune.proposal")
    if p is not None:
        st.info(f"{p!r}: a weight mask (no node/arc ids at this granularity). \"Prune\" applies it as it is.")


def matrix_view(key, dag, verdict):
    from explorer.figures.matrix_plot import matrix_figure
    from ui.lifting_view import node_matrix

    L = cache.lifting(key)
    levels = [l for l in range(1, dag.depth + 1)]
    hit = sorted({dag.level[a.split("->")[1]] for a in verdict.removed_arcs}) or levels
    sig = "|".join(verdict.removed_arcs)
    if st.session_state.get("prune.level_for") != sig or st.session_state.get("prune.level") not in levels:
        st.session_state["prune.level_for"] = sig  # a new selection: show the first level it touches
        st.session_state["prune.level"] = hit[0]
    l = st.select_slider("Level l of T_l", levels, key="prune.level")
    ids, M, labels = node_matrix(L, l)
    zeroed = [(a.split("->")[1], a.split("->")[0]) for a in verdict.removed_arcs
              if dag.level[a.split("->")[1]] == l]
    band = [i for i in ids if dag.level.get(i) == l]
    fig = matrix_figure(ids, M, labels=labels, band=band, zeroed=zeroed,
                        title=f"T_{l}: {len(zeroed)} entries zeroed by the selection (red)")
    st.plotly_chart(fig, key="prune.matrix")


def prune_result(key, dag, lm):
    import pandas as pd

    res = st.session_state.get("prune.result")
    if res is None:
        return
    st.subheader("Dense, masked and compacted")
    st.dataframe(pd.DataFrame(res["rows"]), hide_index=True, key="prune.table")
    st.caption("Masks alone do not speed anything up: a dense kernel multiplies the zeros too. Only the "
               f"compacted form removes work. Compacted vs masked max |Δ| = {res['diff']:.2e}. "
               "Latencies are medians on this machine's CPU, timed interleaved.")
    d = Path(res["dir"])
    c1, c2, c3, c4 = st.columns(4)
    from explorer.pruning.export import zip_dir

    c1.download_button("Export (zip)", data=zip_dir(d), file_name=f"{d.name}.zip", mime="application/zip",
                       key="prune.dl_zip", on_click="ignore")
    if (d / "model.onnx").is_file():
        c2.download_button("Compacted ONNX", data=(d / "model.onnx").read_bytes(), file_name="model.onnx",
                           key="prune.dl_onnx", on_click="ignore")
    c3.download_button("Selection JSON", data=(d / "selection.json").read_text(), file_name="selection.json",
                       mime="application/json", key="prune.dl_sel", on_click="ignore")
    if c4.button("Retrain: ticket vs dense vs controls", key="prune.btn_retrain", type="primary"):
        st.session_state["retrain_request"] = {"model": key.spec, "pruned_dir": str(d),
                                               "granularity": dag.granularity}
        st.switch_page("pages/4_Train.py")


def do_prune(key, dag, lm, sel):
    import torch

    from explorer.pruning.apply import apply, compacted, from_mask
    from explorer.pruning.export import export
    from explorer.pruning.latency import compare

    x = lm.example_input
    prop = st.session_state.get("prune.proposal")
    if sel.is_empty() and prop is not None:
        pruned = from_mask(lm.model, dag, prop.mask, x)
    else:
        pruned = apply(lm.model, dag, sel, x)
    comp = compacted(pruned, x)
    with torch.no_grad():
        diff = float((comp.eval()(x) - pruned.model.eval()(x)).abs().max())
    rows = compare(lm.model, pruned.model, comp, x, repeats=10)
    digest = hashlib.sha256(f"{key.spec}|{key.seed}|{dag.granularity}|{sel.dumps()}|{pruned.mask!r}".encode())
    root = Path(os.environ.get("EXPLORER_DATA_DIR") or "./data") / "pruned" / digest.hexdigest()[:12]
    out = export(pruned, root, spec=key.spec, seed=key.seed, x=x, dense=lm.model)
    keep = ("form", "params", "nonzero_params", "macs", "latency_ms", "speedup")
    st.session_state["prune.result"] = {"rows": [{k: r[k] for k in keep} for r in rows], "diff": diff,
                                        "dir": str(out)}
    st.session_state["prune.pruned_dag"] = pruned.dag


def main() -> None:
    from explorer.figures.dag_plot import dag_figure
    from explorer.pruning.apply import removal_counts
    from explorer.pruning.validity import check

    st.title("Prune")
    st.caption("Select nodes and arcs on the graph (box or lasso: the modebar's select tools; click a node or an "
               "arc's diamond), by id, filter, shortcut or criterion. Pruning zeroes their entries of the "
               "lifting matrices; a selection that would break the network is refused with the reason.")
    key = graph_picker("prune", granularities=("unit", "op"), allow_onnx=False, prefer_unit=False)
    if key is None:
        st.info("Choose a model in the sidebar.")
        return
    dag = cache.dag(key)
    lm = cache.model(key.spec, key.seed)
    cur = _graph_event(dag, _current(dag))
    st.session_state[SEL] = cur
    st.session_state[state.SELECTION] = cur

    verdict = check(dag, cur)
    c1, c2 = st.columns([3, 1])
    mode = c2.radio("Graph selection", MODES, key="prune.mode")
    if c2.button("Clear selection", key="prune.clear"):
        from explorer.pruning.selection import Selection

        _set(Selection.empty(dag))
        st.rerun()
    with c1:
        fig = dag_figure(dag, selected_nodes=cur.nodes, selected_arcs=cur.arcs,
                         dimmed=verdict.disconnected, dragmode="select", layout=cache.layout(key))
        st.plotly_chart(fig, key="prune.dag", on_select="rerun", selection_mode=("points", "box", "lasso"),
                        config={"displaylogo": False})
    del mode

    tools(dag, lm, cur)

    st.subheader(f"Selection: {len(cur.nodes)} nodes, {len(cur.arcs)} arcs")
    if not verdict.ok:
        st.error("**Refused** — nothing would change:\n\n" + "\n".join(f"- {r}" for r in verdict.reasons[:12]))
        if verdict.suggestion is not None:
            st.caption(f"Suggested: {verdict.suggestion!r}")
            if st.button("Use suggested selection", key="prune.btn_suggest"):
                _set(verdict.suggestion)
                st.rerun()
    counts = {"nodes": 0, "arcs": 0, "params": 0, "macs": 0}
    if verdict.ok:
        with guard("counting what the selection removes"):
            counts = removal_counts(lm.model, dag, verdict, lm.example_input)
    m = st.columns(5)
    m[0].metric("nodes removed", counts["nodes"])
    m[1].metric("arcs removed", counts["arcs"])
    m[2].metric("params removed", _fmt(counts["params"]))
    m[3].metric("MACs removed", _fmt(counts["macs"]))
    m[4].metric("disconnected", len(verdict.disconnected))
    if verdict.disconnected:
        st.caption("Disconnected with it (dimmed on the graph): " + ", ".join(verdict.disconnected[:30])
                   + (" ..." if len(verdict.disconnected) > 30 else ""))

    with guard("drawing the decomposition"):
        matrix_view(key, dag, verdict)

    can = verdict.ok and (not cur.is_empty() or st.session_state.get("prune.proposal") is not None)
    if st.button("Prune", key="prune.btn_prune", type="primary", disabled=not can):
        try:
            with st.spinner("pruning, compacting, timing, exporting…"):
                do_prune(key, dag, lm, cur)
        except Exception as e:  # noqa: BLE001 - shown, never a traceback
            show_error(e, "pruning")
    with guard("showing the pruned model"):
        prune_result(key, dag, lm)


with guard():
    main()
