"""The Compare page's view: two graphs side by side (synced levels, zoom and selection) and their lifting
diff, for model A vs B, dense vs a Prune export, or IMP round i vs j (`explorer.sidebyside`)."""

from __future__ import annotations

import streamlit as st

from explorer.links.pages import PAGES
from ui.errors import guard
from ui.links import Setting

P = PAGES["Compare"]
LINK = tuple(Setting(P[k], f"cmp.{k}") for k in ("kind", "a", "b", "g", "export", "exp", "i", "j", "changes",
                                                  "metric", "x"))
KIND_LABELS = {"models": "model A vs model B", "pruned": "dense vs pruned (a Prune export)",
               "rounds": "IMP round i vs round j"}
METRICS = ("level", "params", "macs", "latency", "magnitude", "synflow", "kept")


@st.cache_resource(show_spinner="building the two graphs…", max_entries=8)
def comparison(kind: str, a: str, b: str, g: str, export: str, exp: str, i: int, j: int):
    """The `explorer.sidebyside.Comparison` of the page's settings (cached; treat as read-only)."""
    from pathlib import Path

    from explorer import paths
    from explorer import sidebyside as sbs
    from explorer.models.user_store import check_allowed

    if kind == "models":  # a file model runs only from the models folder (never on a class server)
        return sbs.of_models(check_allowed(a), check_allowed(b), g)
    if kind == "pruned":
        if not export:
            raise sbs.CompareError("choose a Prune export folder (export one from the Prune page first)")
        try:
            Path(export).resolve().relative_to(paths.exports().resolve())
        except ValueError:
            raise sbs.CompareError(f"{export} is outside the exports folder ({paths.exports()}); the page opens "
                                   "the Prune page's exports only") from None
        return sbs.of_export(export)
    return sbs.of_rounds(i, j, experiment=exp, granularity=g)


@st.cache_resource(show_spinner="computing the overlay…", max_entries=32)
def _overlay(_cmp, cmp_key: tuple, side: str, name: str):
    from explorer.sidebyside import side_overlay

    return side_overlay(_cmp.a if side == "a" else _cmp.b, name)


@st.cache_resource(show_spinner="diffing the liftings…", max_entries=8)
def _level_rows(_cmp, cmp_key: tuple):
    from explorer.sidebyside import level_rows

    return level_rows(_cmp)


@st.cache_resource(show_spinner=False, max_entries=16)
def _figure(_cmp, cmp_key: tuple, metric: str, changes: bool, sel_a: tuple, sel_b: tuple, search: str):
    """The side-by-side figure of one view (cached: a rerun that changes nothing in it does not draw it again)."""
    from explorer.figures.compare_plot import side_by_side

    ov = (_overlay(_cmp, cmp_key, "a", metric), _overlay(_cmp, cmp_key, "b", metric)) if metric != "level" \
        else (None, None)
    return side_by_side(_cmp.a.dag, _cmp.b.dag, _cmp.match, title_a=_cmp.a.label, title_b=_cmp.b.label,
                        changes_only=changes, selected_a=sel_a, selected_b=sel_b, dimmed_b=_cmp.b.removed_nodes,
                        overlay_a=ov[0], overlay_b=ov[1], search=search or None)


@st.cache_resource(show_spinner="output change by removed arc…", max_entries=8)
def _terms(_cmp, cmp_key: tuple, seed: int):
    from explorer.sidebyside import arc_terms

    return arc_terms(_cmp, seed)


def _exports() -> list[str]:
    from explorer import paths

    root = paths.exports()
    return sorted(str(p) for p in root.glob("*") if (p / "selection.json").is_file()) if root.is_dir() else []


def controls() -> tuple:
    from explorer.models.zoo import ZOO
    from explorer.sidebyside.sides import shipped_rounds

    ss = st.session_state
    for setting in LINK:  # the link's defaults are the widgets' first values
        if setting.param.default is not None:
            ss.setdefault(setting.key, setting.param.default)
    kind = st.segmented_control("Compare", list(KIND_LABELS), key="cmp.kind", format_func=KIND_LABELS.get) or "models"
    c = st.columns(4)
    a = b = export = ""
    exp, i, j = ss.get("cmp.exp", "lottery.imp"), 0, 0
    if kind == "models":
        names = sorted(ZOO)
        a = c[0].selectbox("Model A", names, key="cmp.a", accept_new_options=True,
                           help="a zoo name, a torchvision name or path/to/file.py:Class")
        b = c[1].selectbox("Model B", names, key="cmp.b", accept_new_options=True)
    elif kind == "pruned":
        found = _exports()
        if ss.get("cmp.export") and ss["cmp.export"] not in found:
            found.append(ss["cmp.export"])
        export = c[0].selectbox("Prune export", found, key="cmp.export", index=None,
                                placeholder="no export yet: export one from the Prune page") or ""
    else:
        exp = c[0].selectbox("Experiment", ["lottery.imp", "lottery.sweep"], key="cmp.exp",
                             help="the lessons' shipped lottery results keep every round's mask")
        with guard("reading the rounds"):
            n = len(shipped_rounds(exp)[1])
            for k, default in (("cmp.i", 0), ("cmp.j", n)):
                if not 0 <= ss.get(k, default) <= n:
                    ss[k] = default
            i = c[1].number_input("Round i (0 = dense)", 0, n, key="cmp.i")
            j = c[2].number_input("Round j", 0, n, key="cmp.j")
    g = c[3].radio("Granularity", ["unit", "op", "block"], key="cmp.g", horizontal=True,
                   disabled=kind == "pruned", help="a Prune export is shown at its own granularity")
    return kind, a, b, g, export, exp, int(i), int(j)


def _selection(cmp, fig_key: str) -> tuple[list[str], list[str]]:
    """The nodes selected in either pane (the last event) and their matches on the other side."""
    ev = st.session_state.get(fig_key)
    pts = (ev or {}).get("selection", {}).get("points", []) if isinstance(ev, dict) else \
        getattr(getattr(ev, "selection", None), "points", []) or []
    meta = st.session_state.get(fig_key + ".nodes") or (-1, -1)
    sel_a = [p["customdata"] for p in pts if p.get("curve_number") == meta[0] and p.get("customdata")]
    sel_b = [p["customdata"] for p in pts if p.get("curve_number") == meta[1] and p.get("customdata")]
    m = cmp.match
    a = list(dict.fromkeys(sel_a + [m.back[j] for j in sel_b if j in m.back]))
    b = list(dict.fromkeys(sel_b + [m.pairs[i] for i in sel_a if i in m.pairs]))
    return a, b


def panes(cmp, key: tuple) -> None:
    c1, c2, c3 = st.columns([4, 1, 2])
    metric = c1.segmented_control("Colour nodes by", METRICS, key="cmp.metric") or "level"
    changes = c2.toggle("changes only", key="cmp.changes", help="dim the nodes that are the same on both sides")
    search = c3.text_input("Search (id, op or module)", key="cmp.search")
    sel_a, sel_b = _selection(cmp, "cmp.fig")
    fig = None
    with guard(f"computing the {metric} overlay"):
        fig = _figure(cmp, key, metric, changes, tuple(sel_a), tuple(sel_b), search)
    if fig is None:  # the overlay failed (said above): the graphs by level
        fig = _figure(cmp, key, "level", changes, tuple(sel_a), tuple(sel_b), search)
    st.session_state["cmp.fig.nodes"] = tuple(fig.layout.meta["nodes"])
    st.plotly_chart(fig, key="cmp.fig", on_select="rerun", selection_mode=("points", "box", "lasso"),
                    config={"scrollZoom": True, "displaylogo": False})
    counts = cmp.match.counts()
    st.caption(f"{counts['matched']} nodes matched by module path and op ({counts['changed']} changed in shape or "
               f"params), {counts['only in A']} only in A, {counts['only in B']} only in B. Zoom, pan and the level "
               "axis are shared; a node selected on one side is selected on the other." + "".join(
                   f" {n}." for n in cmp.notes))
    if sel_a or sel_b:
        st.markdown(f"**Selected:** A: {', '.join(sel_a[:12]) or '–'} · B: {', '.join(sel_b[:12]) or '–'}")


def lifting_diff(cmp, key: tuple) -> None:
    st.subheader("Lifting diff")
    rows, how = _level_rows(cmp, key)
    st.caption(f"Per level: {how}.")
    if rows:
        st.dataframe(rows, hide_index=True, key="cmp.levels")
    else:
        st.success("The two liftings have the same entries at every level.")
    if cmp.a.dag.granularity != "unit" or not cmp.b.removed_arcs or cmp.a.mask is not None:
        st.caption("The output change split by removed arc needs the unit level and a pruning of A (dense vs "
                   "pruned, or round 0 vs round j at unit level).")
        return
    seed = st.number_input("Input (seed of the draw)", 0, 10_000, key="cmp.x")
    t = _terms(cmp, key, int(seed))
    change = t.pruned_out - t.dense_out
    if t.exact:
        st.success(f"Exact: the activation pattern holds at this input, so the {len(t.terms):,} removed arcs' path "
                   f"terms sum to the pruned network's output change (residual {t.residual:.1e}).")
    else:
        why = (f"{len(t.flipped)} units change their activation pattern ({', '.join(t.flipped[:6])}…)" if t.flipped
               else "the activations are not piecewise-linear")
        st.warning(f"Flagged: {why}; the terms are the change of the network linearised at this input and miss "
                   f"{t.residual:.3g} (largest output) of the actual change.")
    st.dataframe([{"output": k, "actual change": float(change[k]), "sum of arc terms": float(t.total()[k])}
                  for k in range(len(change))], hide_index=True, key="cmp.out")
    st.dataframe([{k: (v if k != "Δout" else ", ".join(f"{x:.3g}" for x in v)) for k, v in r.items()}
                  for r in t.table()[:50]], hide_index=True, key="cmp.arcs")
    st.caption("Per removed arc u→v: −(∂out/∂pre_v in the pruned network) · f_uv(x_u) — the sum over the paths whose "
               "last removed arc is u→v (explorer.lifting.diff). The 50 largest are listed.")


def render() -> None:
    st.title("Compare")
    st.caption("Two graphs side by side with their lifting diff: model A vs B (nodes matched by module path and "
               "op), dense vs pruned, or two rounds of iterative magnitude pruning.")
    settings = controls()
    with guard("building the comparison"):
        cmp = comparison(*settings)
        panes(cmp, settings)
        with guard("computing the lifting diff"):
            lifting_diff(cmp, settings)
