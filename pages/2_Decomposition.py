"""Decomposition: the lifting matrices T_l of a network, their products, sub-architectures,
and the check that composing them reproduces PyTorch's forward pass (docs/science.md §2)."""

from ui.nav import through_navigation

through_navigation(__file__)

import streamlit as st

from explorer.lifting import views
from explorer.links.pages import DEC_VIEWS as VIEWS, DEC_WINDOW_DEFAULT as WINDOW_DEFAULT
from explorer.links.pages import DEC_WINDOW_LEVELS as WINDOW_LEVELS, PAGES
from ui import cache, lifting_view as lv
from ui.errors import graph_warnings, guard
from ui.classroom import look
from ui.links import Setting, clamp, linked
from ui.picker import graph_picker

P = PAGES["Decomposition"]  # the link schema (explorer.links.pages)
LINK = (Setting(P["l"], "dec.level"), Setting(P["view"], "dec.view"), Setting(P["w"], "dec.window", get=lv.window_in_link),
        Setting(P["masked"], "dec.masked"), Setting(P["x"], "dec.input_seed"), Setting(P["sample"], "dec.sample"))


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
        lv.verification_badge(cache.verification(key, *lv.input_choice()))

    clamp("dec.level", 1, dag.depth, "level")
    l = st.slider("level l", 1, dag.depth, 1, key="dec.level",
                  help="T_l computes the level-l nodes from the lower levels")
    view, w = lv.view_controls(dag, l, VIEWS, WINDOW_LEVELS, WINDOW_DEFAULT)
    wide = dag.granularity == "op"  # operator labels need the page's width
    c1, c2 = (st.container(), st.container()) if wide else st.columns(2)
    width = lv.WIDE if wide else lv.HALF
    ids, M, labels = views.node_matrix(L, l)
    keep = lv.window_ids(dag, ids, M, l, w) if view == "window of levels" else None
    with c1:
        st.plotly_chart(lv.draw(dag, ids, M, labels, view, keep, l, title=f"T_{l}", band_level=l, width=width),
                        key=f"dec.T.{view}", width="content")
        st.caption(views.entry_caption(dag))
    with c2:
        masked = dag.granularity == "unit" and st.toggle("apply the activation masks D_k(x)", key="dec.masked",
                                                         help="M_l ⋯ M_1 with M_k = D_k(x) T_k: the local affine map")
        x = cache.input_tensor(key, *lv.input_choice()) if masked else None
        pids, P, how = views.product_view(L, l, x)
        pkeep = (["1"] if pids[0] == "1" else []) + keep if keep is not None else None
        st.plotly_chart(lv.draw(dag, pids, P, None, view, pkeep, l, title=f"T_{l} ⋯ T_1", band_level=None,
                                width=width), key=f"dec.P.{view}", width="content")
        st.caption(how)

    st.subheader("Function of a node on a sub-architecture")
    st.caption("Zero the entries of the removed arcs (and the rows/columns of removed nodes) in every T_l; the "
               "same product then gives what the sub-architecture computes at the chosen node.")
    with guard("evaluating the sub-architecture"):
        lv.sub_architecture(key, dag, L)


with guard(), linked("dec", LINK, presets="Decomposition"):
    main()
