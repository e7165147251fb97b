"""Decomposition: the lifting matrices T_l of a network, their products, sub-architectures,
and the check that composing them reproduces PyTorch's forward pass (docs/science.md §2)."""

from ui.nav import through_navigation

through_navigation(__file__)

import streamlit as st

from explorer.lifting import views
from ui import cache, lifting_view as lv
from ui.errors import graph_warnings, guard
from explorer.links.pages import DEC_VIEWS as VIEWS, PAGES
from ui.classroom import look
from ui.links import Setting, clamp, linked
from ui.picker import graph_picker

FULL_MATRIX_MAX = 250  # nodes; above this the page offers a window of levels or level blocks
P = PAGES["Decomposition"]  # the link schema (explorer.links.pages)
LINK = (Setting(P["l"], "dec.level"), Setting(P["view"], "dec.view"), Setting(P["w"], "dec.window"),
        Setting(P["masked"], "dec.masked"), Setting(P["x"], "dec.input_seed"), Setting(P["sample"], "dec.sample"))


def badge(key) -> None:
    v = cache.verification(key, *lv.input_choice())
    fe, je, tol = v["forward_error"], v["jacobian_error"], v["tol"]
    je_s = "n/a at op level" if je is None else f"{je:.2e}"
    text = f"forward error {fe:.2e} · Jacobian error {je_s} · tolerance {tol:.0e}"
    if v["ok"]:
        st.success(f"✓ verified: Φ_L T_L ⋯ Φ_1 T_1 z₀ equals the model's forward — {text}")
    else:
        st.error(f"✗ the composition does not match the model — {text}")


def main() -> None:
    st.title("Decomposition")
    st.caption("Nodes ordered by (level, index); T_l is the identity except the level-l rows (boxed), which hold "
               "the arcs from lower levels: unit lower-triangular. Blank cells are exact zeros.")
    look("the boxed rows of T_l (left): the only rows that differ from the identity; nothing above the diagonal.")
    key = graph_picker("dec", granularities=("unit", "op"), allow_onnx=False, prefer_unit=True)
    if key is None:
        st.info("Choose a model in the sidebar.")
        return
    lv.input_controls(key)
    dag = cache.dag(key)
    graph_warnings(dag)
    if dag.depth < 1:
        st.warning("This graph has a single level: there is no lifting step to show.")
        return
    L = cache.lifting(key, *lv.input_choice())
    with guard("verifying"):
        badge(key)

    clamp("dec.level", 1, dag.depth, "level")
    l = st.slider("level l", 1, dag.depth, 1, key="dec.level",
                  help="T_l computes the level-l nodes from the lower levels")
    ids_all = dag.order()
    big = len(ids_all) > FULL_MATRIX_MAX
    view, lo = "full", 0
    if big:
        view = st.radio("View", list(VIEWS), horizontal=True, key="dec.view",
                        help=f"{len(ids_all):,} nodes: too many cells to draw at once")
        if view == "window of levels":
            clamp("dec.window", 1, min(12, dag.depth + 1), "levels in the window")
            w = st.slider("levels in the window (ending at l)", 1, min(12, dag.depth + 1), min(3, dag.depth + 1),
                          key="dec.window")
            lo = max(0, l - w + 1)

    c1, c2 = st.columns(2)
    with c1:
        ids, M, labels = views.node_matrix(L, l)
        st.plotly_chart(lv.draw(dag, ids, M, labels, view, lo, l, title=f"T_{l}", band_level=l),
                        key=f"dec.T.{view}")
        st.caption(views.entry_caption(dag))
    with c2:
        masked = dag.granularity == "unit" and st.toggle("apply the activation masks D_k(x)", key="dec.masked",
                                                         help="M_l ⋯ M_1 with M_k = D_k(x) T_k: the local affine map")
        x = cache.input_tensor(key, *lv.input_choice()) if masked else None
        ids, P, how = views.product_view(L, l, x)
        st.plotly_chart(lv.draw(dag, ids, P, None, view, lo, l, title=f"T_{l} ⋯ T_1", band_level=None),
                        key=f"dec.P.{view}")
        st.caption(how)

    st.subheader("Function of a node on a sub-architecture")
    st.caption("Zero the entries of the removed arcs (and the rows/columns of removed nodes) in every T_l; the "
               "same product then gives what the sub-architecture computes at the chosen node.")
    with guard("evaluating the sub-architecture"):
        lv.sub_architecture(key, dag, L)


with guard(), linked("dec", LINK, presets="Decomposition"):
    main()
