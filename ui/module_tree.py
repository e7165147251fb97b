"""The Architecture page's module-tree view: blocks open and close in place, repeats roll up, the search
jumps (`explorer.graph.hierarchy`, drawn by `explorer.figures.tree_plot`).

The open blocks live in `arch.open` (comma-separated ids, in the page's link as `open`); the search
(`arch.search`, the link's `q`) opens the ancestors of what it names once, when it changes, so a block
can be closed again afterwards.
"""

from __future__ import annotations

import streamlit as st

PAGE = "arch"
OPEN = f"{PAGE}.open"  # comma-separated open modules and un-rolled runs
JUMPED = f"{PAGE}.tree_jumped"  # the search last applied
FIG = f"{PAGE}.tree_fig"  # the figure's key prefix (its click events), with the generation appended
FOCUS = f"{PAGE}.tree_focus"  # the block last opened or closed: a wide view opens around it
GEN = f"{PAGE}.tree_gen"  # bumped at each open/close: a fresh figure widget holds no stale click
PAINTED = f"{PAGE}.tree_painted"  # the session's browser has drawn the tree with plotly once: no SVG preview
# The SVG preview (a markdown image: drawn with the page's first elements, where inline HTML would wait for
# the browser to load an HTML parser) stands in for the plotly figure until plotly.js has loaded and drawn
# it: its element is hidden once an element after it holds a drawn plot.
PREVIEW_ALT = "module tree (the interactive figure is loading)"
PREVIEW_CSS = (f'<style>div[data-testid="stElementContainer"]:has(img[alt="{PREVIEW_ALT}"]):has(~ div[data-testid='
               '"stElementContainer"] .js-plotly-plot .main-svg){display:none}</style>')
MAX_LINK = 300  # characters of `open` a link carries (codec.MAX_VALUE_CHARS)


@st.cache_resource(show_spinner="building the module tree…", max_entries=8)
def module_tree(key):  # noqa: ANN001 - a DagKey
    """The `ModuleTree` of the op graph behind `key` (the block level's `meta["op_dag"]`)."""
    from explorer.graph.hierarchy import ModuleTree
    from ui import cache

    dag = cache.dag(key)
    return ModuleTree(dag.meta["op_dag"] if dag.granularity == "block" else dag)


@st.cache_resource(show_spinner=False, max_entries=8)
def facts(key):  # noqa: ANN001, ANN201 - a DagKey; a dict
    """`Dag.summary()` of the op graph the module tree draws (the page's counts while the tree is shown: the
    block graph's would say "skip arcs 0" under the residual arcs the tree draws inside an opened block)."""
    return module_tree(key).dag.summary()


@st.cache_resource(show_spinner=False, max_entries=64)
def drawn(key, opened: tuple[str, ...], highlight: str | None, focus: str | None):  # noqa: ANN001, ANN201
    """`(view, figure, svg)` of `key`'s module tree with the blocks `opened` (sorted) open: `ModuleTree.view`,
    `explorer.figures.tree_plot.tree_figure` and its static SVG (`explorer.figures.preview`), kept per (graph,
    open blocks, highlight, focus) for every session, so a second visit, a reload or a rerun that changes
    nothing in the tree only sends the figure. Shared: treat them as read-only."""
    from explorer.figures.preview import figure_svg
    from explorer.figures.tree_plot import tree_figure

    view = module_tree(key).view(set(opened))
    fig = tree_figure(view, highlight=highlight, focus=focus)
    return view, fig, figure_svg(fig)


def offered(key, dag) -> bool:  # noqa: ANN001
    """The module-tree view is offered for traced models (an uploaded ONNX file has no module tree to trust)."""
    return not key.is_onnx


def by_default(dag) -> bool:  # noqa: ANN001
    """On by default at block level for graphs the block level exists for (over `BLOCK_THRESHOLD` ops)."""
    from explorer.graph.build import BLOCK_THRESHOLD

    return dag.granularity == "block" and len(dag.meta["op_dag"].nodes) > BLOCK_THRESHOLD


def put_link(value: str | None) -> None:
    """Apply a link's `open`."""
    st.session_state[OPEN] = value or ""
    _bump()


def clear() -> None:
    st.session_state.pop(OPEN, None)


def _opened(tree) -> set[str]:  # noqa: ANN001
    ss = st.session_state
    if ss.get(OPEN) is None:
        ss[OPEN] = ",".join(sorted(tree.default_open()))
    return {o for o in str(ss[OPEN]).split(",") if o and (o in tree.ops or o in tree.runs)}


def _put(opened: set[str], focus: str | None = None) -> None:
    st.session_state[OPEN] = ",".join(sorted(opened, key=lambda o: (o.count("."), o)))
    st.session_state[FOCUS] = focus
    _bump()


def _bump() -> None:
    """A new figure widget: plotly keeps a click selected across redraws, which would toggle again."""
    st.session_state[GEN] = st.session_state.get(GEN, 0) + 1


def link_value() -> str | None:
    """`arch.open` as the link carries it: at most `MAX_LINK` characters, the shallowest opens first."""
    text = st.session_state.get(OPEN)
    if text is None:
        return None
    while len(text) > MAX_LINK and "," in text:
        text = text.rpartition(",")[0]
    return text[:MAX_LINK]


def _toggle(tree, opened: set[str], what: str) -> set[str]:  # noqa: ANN001
    if what in opened:  # close it and everything under it
        return {o for o in opened if not (o == what or o.startswith(what + "."))}
    return opened | tree.reveal(what) | {what}


def show(key, q: str, slot=None) -> None:  # noqa: ANN001
    """Draw the module tree of `key`'s graph with search `q` (see the module doc); the figure goes into
    `slot` (a container higher on the page) when given, the captions and controls here."""
    from explorer.figures.events import event_points
    from explorer.graph.hierarchy import HierarchyError

    ss = st.session_state
    tree = module_tree(key)
    opened = _opened(tree)
    target = tree.find(q) if q.strip() else None
    if q.strip() and ss.get(JUMPED) != q:
        ss[JUMPED] = q
        if target is not None:
            opened |= tree.reveal(target)
            _put(opened, focus=target)
    ev = ss.get(f"{FIG}{ss.get(GEN, 0)}")
    picked = [p.get("customdata") for p in event_points(ev)] if ev else []
    picked = [p[0] if isinstance(p, (list, tuple)) else p for p in picked]
    picked = [p for p in picked if p in tree.ops or p in tree.runs]  # blocks and runs open; ops do not
    if picked:
        opened = _toggle(tree, opened, picked[-1])
        _put(opened, focus=picked[-1])
    focus = ss.get(FOCUS)
    focus = tree.runs[focus].members[0] if focus in tree.runs else focus
    try:
        view, fig, svg = drawn(key, tuple(sorted(opened)), target, focus)
    except HierarchyError as e:
        st.error(str(e))
        return
    if q.strip():
        if target is None:
            st.warning(f"No module path or op matches {q.strip()!r} (try `model.layers.17.self_attn` or "
                       "`layers_17_self_attn`).")
        else:
            s = tree.summary(target) if target in tree.ops or target in tree.runs else None
            st.caption(f"Search: **{target}**" + (f" — {s['class']}, {s['ops']:,} ops, levels {s['levels'][0]}–"
                                                  f"{s['levels'][1]}" if s else " (an op)") + ", opened in place.")
    runs = sum(1 for n in view.nodes if n.kind == "run")
    st.caption(f"Module tree: {len(view.nodes):,} nodes on show for {len(tree.dag.nodes):,} ops"
               + (f", {runs} rolled-up run(s) of identical blocks" if runs else "")
               + ". Click a block (square) or a run (diamond) to open it in place; the rest keeps its layout.")
    with slot if slot is not None else st.container():
        preview, style = st.empty(), None  # kept on every run: the figure after it keeps its place (no remount)
        if not ss.get(PAINTED):  # this browser may not have plotly.js yet: paint the tree as SVG meanwhile
            from explorer.figures.preview import data_url

            preview.markdown(f"![{PREVIEW_ALT}]({data_url(svg)})")
            style = PREVIEW_CSS
            ss[PAINTED] = True
        st.plotly_chart(fig, key=f"{FIG}{ss.get(GEN, 0)}", on_select="rerun",
                        selection_mode=("points",), config={"scrollZoom": True, "displaylogo": False})
        if style:
            st.markdown(style, unsafe_allow_html=True)
    _controls(tree, view, opened, key)


def _controls(tree, view, opened: set[str], key) -> None:  # noqa: ANN001
    closed = [n.id for n in view.nodes if n.kind in ("module", "run")]
    open_now = sorted(o for o in view.opened if o in opened)
    options = closed + open_now
    labels = {i: f"{tree.summary(i)['class']} — {i}" for i in options}
    c1, c2, c3 = st.columns([4, 1, 1])
    pick = c1.selectbox("Block", options, format_func=lambda i: ("▾ close " if i in opened else "▸ open ") + labels[i],
                        key=f"{PAGE}.tree_pick", index=None, placeholder="a block or run to open or close")
    if c2.button("Open / close", key=f"{PAGE}.tree_toggle", disabled=pick is None):
        _put(_toggle(tree, opened, pick), focus=pick)
        st.rerun()
    if c3.button("Close all", key=f"{PAGE}.tree_close_all"):
        _put(set())
        st.rerun()
    lifting = [o for o in open_now if o in tree.ops]
    if lifting:
        _decomposition_link(tree, lifting, key)


def _decomposition_link(tree, lifting: list[str], key) -> None:  # noqa: ANN001
    """The lifting link of an open block: Decomposition at op level on the block's level window."""
    from explorer.links.pages import DEC_WINDOW_LEVELS, PAGES
    from ui.links import current_query, follow

    c1, c2 = st.columns([4, 1])
    which = c1.selectbox("Open block's lifting matrices", lifting, key=f"{PAGE}.tree_lift",
                         format_func=lambda i: f"{tree.summary(i)['class']} — {i}")
    lo, hi = tree.summary(which)["levels"]
    c1.caption(f"Decomposition at op level, levels {max(1, lo)}–{min(hi, max(1, lo) + DEC_WINDOW_LEVELS - 1)}"
               + (f" (the first {DEC_WINDOW_LEVELS} of {hi - lo + 1})" if hi - lo + 1 > DEC_WINDOW_LEVELS else ""))
    if c2.button("Decomposition →", key=f"{PAGE}.tree_to_dec"):
        base = {k: v for k, v in current_query(PAGE).items() if k in ("src", "model", "seed")}
        own = PAGES["Decomposition"].query(g="op", l=max(1, lo), view="window of levels",
                                           w=max(1, min(DEC_WINDOW_LEVELS, hi - max(1, lo) + 1)))
        follow("Decomposition", {**own, **base})
