"""The Prune page's panels: the current selection and its graph events, the other ways to
select (ids, filters, structural shortcuts, criteria, a saved file), the T_l view of what a
selection zeroes, and the result of a prune with its downloads and the Retrain hand-off.

The selection lives under `ui.state.SELECTION`; a criterion's proposal under PROPOSAL (its
ids become the shown selection; editing them turns the proposal into a plain selection).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from explorer.figures.wording import id_text, plural
from ui import cache, state
from ui.errors import guard

PROPOSAL = "prune.proposal"  # the criterion's Proposal while its ids are the selection
JOB = "prune.job"  # the id of a prune running in the worker
RESULT = "prune.result"  # the last PruneResult of this page
MODES = ("add to the selection", "replace the selection", "remove from the selection")


def current(dag) -> Any:
    """The session's selection if it belongs to this graph, else an empty one."""
    from explorer.pruning.selection import Selection, fingerprint

    sel = state.SELECTION.get()
    if sel is None or sel.granularity != dag.granularity or (sel.fingerprint and sel.fingerprint != fingerprint(dag)) \
            or (sel.model and sel.model != dag.name):
        sel = Selection.empty(dag)
    return sel


def set_selection(sel, proposal=None) -> None:
    """A new selection (from any tool); a proposal only stays while its own ids are the selection."""
    state.SELECTION.put(sel)
    st.session_state[PROPOSAL] = proposal
    st.session_state.pop(RESULT, None)


def active_proposal(cur) -> Any:
    """The proposal to prune with, if the selection is still the one it proposed (or it has no ids)."""
    p = st.session_state.get(PROPOSAL)
    if p is None:
        return None
    return p if p.selection is None or p.selection.granularity != cur.granularity or p.selection == cur \
        or cur.is_empty() else None


def graph_event(dag, cur):
    """Fold a new plotly box/lasso/click event into the selection (each event once)."""
    from explorer.figures.events import selection_from_event

    ev = st.session_state.get("prune.dag")
    sig = json.dumps(ev, sort_keys=True, default=str) if ev else ""
    if not ev or sig == st.session_state.get("prune.last_event"):
        return cur
    st.session_state["prune.last_event"] = sig
    picked = selection_from_event(dag, ev)
    if picked.is_empty():
        return cur
    mode = st.session_state.get("prune.mode", MODES[0])
    new = picked if mode.startswith("replace") else cur - picked if mode.startswith("remove") else cur | picked
    set_selection(new)
    return new


def tools(key, dag, lm, cur) -> None:
    """The other ways to select: ids, filters, structural shortcuts, criteria, a saved file."""
    t_ids, t_filter, t_short, t_crit, t_file = st.tabs(
        ["Ids", "Filters", "Branches / skips / levels", "Criteria", "Saved selection"])
    with t_ids:
        _ids_tab(dag, cur)
    with t_filter:
        _filter_tab(dag, cur)
    with t_short:
        _shortcuts_tab(key, dag, cur)
    with t_crit:
        _criteria_tab(dag, lm)
    with t_file:
        _file_tab(dag)


IDS_MAX = 3000  # arcs listed in the Ids tab at most (a unit-level MLP has 280,000; each costs the page bytes)


def _ids_tab(dag, cur) -> None:
    from explorer.pruning.selection import Selection

    if len(cur.arcs) > IDS_MAX:  # e.g. a magnitude ticket's arcs: listing them would weigh megabytes
        st.caption(f"The selection holds {plural(len(cur.arcs), 'arc')}, too many to list here: the graph draws them "
                   "in red, the matrix below outlines their entries, and *Prune*'s export lists them all "
                   "(selection.json). Clear the selection to pick ids one by one.")
        return
    options = [n.id for n in dag.nodes] + ([a.id for a in dag.arcs] if len(dag.arcs) <= IDS_MAX else list(cur.arcs))
    if st.session_state.get("prune.ids") != list(cur.ids):
        st.session_state["prune.ids"] = list(cur.ids)  # the widget follows the selection made elsewhere

    def changed() -> None:
        set_selection(Selection.from_ids(dag, st.session_state["prune.ids"], note="ids"))

    st.multiselect("Nodes and arcs (type to search; arcs are src → dst)", options, key="prune.ids",
                   on_change=changed, format_func=id_text)


def _filter_tab(dag, cur) -> None:
    from explorer.pruning.selection import Selection

    with st.form("prune.filter_form"):
        c1, c2 = st.columns(2)
        module = c1.text_input("Module glob", placeholder="e.g. block1.*", key="prune.f_module")
        regex = c2.text_input("Regex on id/module", placeholder="e.g. conv", key="prune.f_regex")
        op = c1.multiselect("Op types", sorted({n.op for n in dag.nodes}), key="prune.f_op")
        lv = c2.slider("Level range", 0, max(1, dag.depth), (1, max(1, dag.depth)), key="prune.f_levels")
        what = st.radio("Select", ["nodes", "arcs into matches"], horizontal=True, key="prune.f_what")
        if st.form_submit_button("Add the matches"):
            with guard("filtering"):
                f = Selection.from_filter(dag, module=module or None, regex=regex or None, op=op or None,
                                          levels=lv, what="nodes" if what == "nodes" else "arcs")
                set_selection(cur | f)
                st.rerun()


def _shortcuts_tab(key, dag, cur) -> None:
    from explorer.pruning import operations as ops

    heads = ops.merge_heads(dag)
    c1, c2, c3 = st.columns(3)
    if heads:
        head = c1.selectbox("Merge node (add/cat/sum)", heads, key="prune.head")
        branches = cache.branches(key, head)
        notes = [" ".join(id_text(w) for w in b.note.split()) for b in branches]
        labels = [f"{t}: {plural(len(b.nodes), 'node')}" if b.nodes else f"{t} (the arc)"
                  for t, b in zip(notes, branches)]
        k = c1.selectbox("Branch or skip into it", range(len(branches)), format_func=labels.__getitem__,
                         key="prune.branch")
        if c1.button("Remove this branch / skip", key="prune.btn_branch"):
            set_selection(cur | branches[k])
            st.rerun()
    else:
        c1.caption("No merge nodes (add/cat) in this graph.")
    skips = ops.skip_arcs(dag)
    c2.caption(f"{plural(len(skips), 'skip arc')} (spanning ≥ 2 levels)")
    if skips and c2.button("Remove all skip arcs", key="prune.btn_skips"):
        set_selection(cur | ops.skip_selection(dag))
        st.rerun()
    ranges = cache.bypassable_ranges(key) if len(dag.nodes) <= 400 else []
    if ranges:
        r = c3.selectbox("Bypassable level range", ranges, format_func=lambda t: f"levels {t[0]}..{t[1]}",
                         key="prune.range")
        if c3.button("Remove these levels", key="prune.btn_levels"):
            set_selection(cur | ops.level_range(dag, *r))
            st.rerun()
    else:
        c3.caption("No level range is bypassed by a skip arc.")


def _criteria_tab(dag, lm) -> None:
    from explorer.pruning.criteria import CRITERIA, ProposeConfig, propose
    from explorer.pruning.selection import Selection

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
            shown = p.selection if p.selection is not None and p.selection.granularity == dag.granularity \
                else Selection.empty(dag)
            set_selection(shown, proposal=p)
            st.rerun()
    p = st.session_state.get(PROPOSAL)
    if p is not None:
        c = p.config
        st.info(f"Proposed: {c.criterion} on {c.target} ({c.scope}), {100 * p.achieved:.0f}% of {p.total} "
                f"{c.target} pruned, weight sparsity {100 * p.weight_sparsity:.1f}%. *Prune* applies its mask "
                "as proposed; editing the selection turns it into a plain selection.")


def _file_tab(dag) -> None:
    from explorer.pruning.selection import Selection

    up = st.file_uploader("Re-apply a saved selection.json", type=["json"], key="prune.upload")
    if up is not None and st.button("Load this selection", key="prune.btn_upload"):
        with guard("loading the selection"):
            s = Selection.from_json(up.getvalue())
            s.check_against(dag)
            set_selection(s)
            st.rerun()


def matrix_view(key, dag, verdict) -> None:
    """T_l with the entries the selection zeroes outlined; the level follows the selection. A refused
    selection zeroes nothing, so nothing is outlined and the title says why."""
    from explorer.figures.matrix_plot import matrix_figure
    from explorer.lifting.views import level_window, node_matrix
    from ui import lifting_view as lv

    L = cache.lifting(key)
    levels = list(range(1, dag.depth + 1))
    removed = verdict.removed_arcs if verdict.ok else ()
    hit = sorted({dag.level[a.split("->")[1]] for a in removed}) or levels
    sig = "|".join(removed)
    if st.session_state.get("prune.level_for") != sig or st.session_state.get("prune.level") not in levels:
        st.session_state["prune.level_for"] = sig  # a new selection: show the first level it touches
        st.session_state["prune.level"] = hit[0]
    l = st.select_slider("Level l of T_l", levels, key="prune.level")
    ids, M, labels = node_matrix(L, l)
    zeroed = [(a.split("->")[1], a.split("->")[0]) for a in removed if dag.level[a.split("->")[1]] == l]
    band = [i for i in ids if dag.level.get(i) == l]
    note = ""
    if len(ids) > lv.LABELLED_MAX.get(dag.granularity, 40):  # a labelled window: the level-l rows and their sources
        keep = level_window(ids, M, {"1": 0, **dag.level}, l, 8)
        ids, M = [ids[k] for k in keep], M[np.ix_(keep, keep)]
        labels = labels[np.ix_(keep, keep)] if labels is not None else None
        note = f" — window of {len(ids)} nodes around level {l}"
    what = (f"{plural(len(zeroed), 'entry', 'entries')} zeroed by the selection (red)" if verdict.ok
            else "the selection is refused, so nothing is zeroed")
    st.plotly_chart(matrix_figure(ids, M, labels=labels, band=band, zeroed=zeroed, width=lv.WIDE,
                                  title=f"T_{l}: {what}{note}"), width="content", key="prune.matrix")


FORMS = {"dense": "dense", "masked": "masked (zeros inside dense kernels)",
         "rewritten": "rewritten (removed ops gone)", "compacted": "compacted (units removed)"}


def _n(v: float) -> str:
    for unit, k in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= k:
            return f"{v / k:.2f}{unit}"
    return f"{v:.0f}"


def table_row(r: dict) -> dict:
    """One form of the latency table in words a reader takes in at a glance (a form that was not timed,
    because the cut removes nothing, says so instead of showing noise as a speed-up or a slowdown)."""
    timed = r.get("latency_ms") is not None
    speed = "1 (reference)" if r["form"] == "dense" else "none possible: same size" if not timed else (
        f"×{r['speedup']:.2f} ± {r.get('speedup_iqr', 0) / 2:.2f}" + ("  ⚠ noisy" if r.get("noisy") else ""))
    return {"form": FORMS.get(r["form"], r["form"]), "parameters": _n(r["params"]),
            "non-zero parameters": _n(r["nonzero_params"]), "MACs per example": _n(r["macs"]),
            "latency (ms)": f"{r['latency_ms']:.3g} ± {(r.get('iqr_ms') or 0) / 2:.2g}" if timed else "not timed",
            "speed-up vs dense": speed}


def result_panel(key, dag) -> None:
    """The dense / masked / compacted table of the last prune, its downloads and the Retrain hand-off."""
    import pandas as pd

    from explorer.pruning.export import read_spec, zip_dir

    res = st.session_state.get(RESULT)
    if res is None:
        return
    st.subheader("Dense, pruned and compacted")
    if res.nothing:  # said first: the table below then has sizes only, and no timing to misread
        st.info(res.nothing[0].upper() + res.nothing[1:] + ". The three forms were not timed.", icon=":material/info:")
    st.dataframe(pd.DataFrame([table_row(r) for r in res.table]), hide_index=True, key="prune.table")
    noisy = [r for r in res.table if r.get("noisy")]
    for r in noisy:
        st.warning(f"{FORMS.get(r['form'], r['form'])}: {r['note']}. The machine was busy while timing; the "
                   "speed-up shown is not to be trusted.", icon=":material/timer:")
    masked = next((r for r in res.table if r["form"] == "masked"), None)
    timing = ("" if res.nothing else f" Latencies: medians of {res.table[0].get('rounds', '?')} interleaved rounds "
              "on one CPU thread after warm-up, speed-ups paired round by round.")
    st.caption("Masks alone do not speed anything up: a dense kernel multiplies the zeros too"
               + (" (the masked row)" if masked else "") + ". Only the compacted form — and at op level the "
               "rewritten graph, which no longer runs the removed ops — does less work. "
               f"Compacted vs pruned max |Δ| = {res.diff:.2e} on 4 probe inputs." + timing)
    d = res.out
    c1, c2, c3, c4 = st.columns([1, 1, 1, 2])  # the Retrain label is long: room for it on one line
    # zipped and read when clicked, not on every run of the page (on a class server, every student's)
    c1.download_button("Export (zip)", data=lambda: zip_dir(d), file_name=f"{d.name}.zip", mime="application/zip",
                       key="prune.dl_zip", on_click="ignore")
    if (d / "model.onnx").is_file():
        c2.download_button("Compacted ONNX", data=(d / "model.onnx").read_bytes, file_name="model.onnx",
                           key="prune.dl_onnx", on_click="ignore")
    elif (onnx := read_spec(d).get("onnx")) is not None:  # a failed export is said, not just a button missing
        c2.caption(f"No ONNX file: the export failed ({str(onnx.get('error', ''))[:160]}).")
    c3.download_button("Selection JSON", data=(d / "selection.json").read_text(), file_name="selection.json",
                       mime="application/json", key="prune.dl_sel", on_click="ignore")
    if c4.button("Retrain: ticket vs dense vs controls", key="prune.btn_retrain", type="primary",
                 help="one click: the quick comparison (2 seeds, a few hundred steps) starts on the Train page — the "
                      "dense network, the ticket, and controls of the ticket's size"):
        state.RETRAIN.put(state.RetrainRequest(key.replace(granularity=dag.granularity), str(d)))
        st.switch_page("pages/4_Train.py")


@dataclass(frozen=True)
class ResultView:
    """What the result panel shows, from a prune that ran in the worker (its summary document)."""

    table: list
    diff: float
    out: Path
    nothing: str = ""  # why the cut cannot be smaller or faster (`apply.removes_nothing`), or ""


def submit_prune_job(key, dag, sel, prop, out: Path) -> None:
    """Hand the prune to the backend the user chose (`explorer.pruning.job`); the panel below follows it."""
    from explorer.pruning.job import KIND
    from ui.jobs import submit

    config = {"spec": key.spec, "seed": key.seed, "granularity": dag.granularity, "out": str(out), "repeats": 10}
    if prop is not None:
        c = prop.config
        config["proposal"] = {"criterion": c.criterion, "sparsity": c.sparsity, "target": c.target, "scope": c.scope}
    else:
        config["selection"] = sel.dumps()
    st.session_state[JOB] = submit(KIND, config, retry=True)
    st.session_state.pop(RESULT, None)


def job_panel() -> None:
    """A prune running as a job: its stage and progress, live; the result panel once it is done."""
    from ui.jobs import backend, follow

    jid = st.session_state.get(JOB)
    if not jid:
        return
    job = backend().store.get_job(jid)
    if job.status == "done":
        res = job.result or {}
        st.session_state[RESULT] = ResultView(res.get("table", []), float(res.get("compacted_vs_masked_max_abs_diff",
                                                                                  0.0)), Path(res.get("out", "")),
                                              res.get("removes_nothing", ""))
        st.session_state.pop(JOB, None)
    elif job.done:
        st.error(f"The prune in the worker {job.status}: {(job.error or '').splitlines()[0][:400]}")
        st.session_state.pop(JOB, None)
    else:
        follow([jid], label="in the worker")
