"""The Home page: what a DAG-DNN, a level and a lifting step are, with a worked example.

The example (`explorer.lessons.worked`) is a 3-neuron-per-level ReLU network with small integer
weights and two skip arcs, so every number in its matrices can be checked by hand. Its graph and
its lifting matrices are the library's own (docs/science.md §2: identity, plus the level-l rows
holding the weights of the arcs into level l), and the page shows that composing them reproduces
the network's direct evaluation.
"""

from __future__ import annotations

import streamlit as st

from explorer.lessons import worked
from explorer.links.pages import PAGES
from ui.classroom import FONT_SCALE, classroom, look
from ui.links import Setting

LINK = (Setting(PAGES["Home"]["l"], "home.level"),)  # the worked example's level travels in the link

@st.cache_data(show_spinner=False, max_entries=16)
def figures(l: int, scale: float) -> tuple[str, str, str]:
    """The worked example's DAG, T_l and T_l ⋯ T_1 as SVG (`explorer.figures.static`): Home paints
    without waiting for plotly.js, about a second of a first visit (bench/bench_pages.py)."""
    from explorer.figures.static import dag_svg, matrix_svg

    dag = worked.dag()
    ids = dag.order()
    band = [i for i in ids if dag.level[i] == l]
    return (dag_svg(dag, title="worked example: 10 nodes, 16 arcs, levels 0..3", scale=scale),
            matrix_svg(ids, worked.transition(l), band=band, title=f"T_{l} (level-{l} rows boxed)", scale=scale),
            matrix_svg(ids, worked.product(l), title=f"T_{l} ⋯ T_1 (linear part: sums over paths)", scale=scale))


def render() -> None:
    st.title("DAG-DNN Explorer")
    st.markdown(
        "A deep network is a **DAG-DNN**: a directed acyclic graph whose arcs carry functions "
        "(a weight, a kernel, a convolution) and whose nodes add what arrives and apply their "
        "activation, $x_v = \\phi_v\\big(\\sum_{u\\to v} f_{uv}(x_u)\\big)$. "
        "The **level** of a node is the length of the *longest* path from the input to it, so every arc "
        "climbs to a strictly higher level and a skip arc can span several. "
        "Ordering nodes by level, the step that computes level $l$ is a matrix $T_l$ that is the identity "
        "except in the rows of level-$l$ nodes, which hold the arc functions from lower levels: a "
        "**unit lower-triangular lifting step**. The network is their product, "
        "$z_L = \\Phi_L T_L \\cdots \\Phi_1 T_1 z_0$, and pruning an arc is zeroing one entry."
    )
    dag = worked.dag()
    l = int(st.session_state.get("home.level", 1))
    graph, T, P = figures(l, FONT_SCALE if classroom() else 1.0)
    st.subheader("A worked example, drawn by the app")
    c1, c2 = st.columns([3, 2])
    with c1:
        st.image(graph, width="stretch")
        st.caption("x = level. Nodes are coloured by level; the orange curves are skip arcs (x2→g2 and h1→y "
                   "span two levels); each arc is labelled with its weight. The Architecture page draws any "
                   "model this way, interactively.")
    with c2:
        st.markdown(
            "**Levels**: x1..x3 at 0; h1..h3 at 1; g1..g3 at 2; y at 3 — y is at level 3 even though "
            "h1 reaches it in one hop, because its longest path has three.\n\n"
            "**Lifting step** $T_l$: identity, plus the weights of the arcs into level $l$ in the rows "
            "of level-$l$ nodes (boxed). Blank cells are zeros; everything above the diagonal is zero.\n\n"
            f"**Input** x = ({', '.join(f'{v:g}' for v in worked.INPUT.values())}), ReLU on levels 1 and 2."
        )
        ref = worked.direct(worked.INPUT)
        y_lift = worked.output(worked.INPUT)
        st.metric("y by the lifting product", f"{y_lift:g}", help="z_L = Φ_L T_L ⋯ Φ_1 T_1 z_0, slot y")
        st.metric("y by direct evaluation", f"{ref['y']:g}")
        if abs(y_lift - ref["y"]) < 1e-9:
            st.success("✓ the product of the lifting steps equals the network")
    look("the boxed rows of T_l: only level-l nodes change, and every cell above the diagonal is blank (zero).")
    st.select_slider("level l", options=list(range(1, dag.depth + 1)), value=1, key="home.level")
    c3, c4 = st.columns(2)
    c3.image(T, width="stretch")
    c4.image(P, width="stretch")
    st.caption("Without the activations, each entry of the product is a sum over paths of products of arc "
               "weights. The Decomposition page shows any model's T_l and checks the product against "
               "PyTorch's forward pass and Jacobian.")
