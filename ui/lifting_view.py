"""Decomposition-page helpers: input choice, the T_l / product matrices as node-by-node
arrays (adapting `explorer.lifting.base` results for `matrix_figure`), big-matrix views, and the
sub-architecture panel."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures.matrix_plot import level_blocks, matrix_figure

INPUT_KIND = "dec.input_kind"


def input_controls(key) -> None:
    """Sidebar: which input x the numeric views use (seeded noise or a dataset sample)."""
    sb = st.sidebar
    sb.markdown("**Input x** (numeric entries, activation masks D_l(x))")
    ds = None if key.is_onnx else cache_model_dataset(key)
    kinds = ["seeded random"] + ([f"{ds} sample"] if ds else [])
    kind = sb.radio("input", kinds, key=INPUT_KIND, horizontal=True, label_visibility="collapsed")
    if kind == "seeded random":
        sb.number_input("input seed", 0, 10_000, 0, key="dec.input_seed")
    else:
        sb.number_input("sample index (test split)", 0, 999, 0, key="dec.sample")


def cache_model_dataset(key) -> str | None:
    from ui import cache

    return cache.model(key.spec, key.seed).info.dataset


def input_choice() -> tuple[int, int | None]:
    """(input_seed, sample) as `ui.cache.lifting/verification` take them."""
    if str(st.session_state.get(INPUT_KIND, "seeded random")).endswith("sample"):
        return 0, int(st.session_state.get("dec.sample", 0))
    return int(st.session_state.get("dec.input_seed", 0)), None


def draw(dag, ids, M, labels, view: str, lo: int, l: int, *, title: str, band_level: int | None):
    """The heatmap in the chosen view: full, a window of levels lo..l, or level blocks."""
    band = [i for i in ids if dag.level.get(i) == band_level] if band_level is not None else None
    level = {"1": 0, **dag.level}  # the bias slot "1" sits with the inputs
    if view == "level blocks":
        names, B = level_blocks(ids, M, level)
        bl = [f"L{band_level}"] if band_level is not None else None
        return matrix_figure(names, B, band=bl, title=f"{title} — level blocks (Frobenius norm)",
                             colorbar_title="norm")
    if view == "window of levels":
        keep = [k for k, i in enumerate(ids) if lo <= level[i] <= l]
        sub = M[np.ix_(keep, keep)]
        sl = labels[np.ix_(keep, keep)] if labels is not None else None
        return matrix_figure([ids[k] for k in keep], sub, labels=sl, band=band,
                             title=f"{title} — levels {lo}..{l} ({len(keep)} nodes)")
    return matrix_figure(ids, M, labels=labels, band=band, title=title)


def sub_architecture(key, dag, L) -> None:
    from ui import cache

    ids = dag.order()
    default = dag.outputs[0] if dag.outputs else ids[-1]
    c1, c2, c3 = st.columns(3)
    node = c1.selectbox("value at node", ids, index=ids.index(default), key="dec.fnode")
    upstream = _ancestors(dag, node)
    removed_nodes = c2.multiselect("remove nodes", [i for i in ids if i in upstream and i not in dag.inputs],
                                   key="dec.rm_nodes", help="nodes upstream of the chosen node")
    arc_ids = [a.id for a in dag.arcs if a.dst in upstream or a.dst == node]
    removed_arcs = c3.multiselect("remove arcs", arc_ids, key="dec.rm_arcs", help="arcs upstream of the chosen node")
    seed, sample = input_choice()
    intact = cache.function_value(key, seed, sample, node)
    sub = cache.function_value(key, seed, sample, node, tuple(sorted(removed_nodes)), tuple(sorted(removed_arcs)))
    m1, m2, m3 = st.columns(3)
    m1.metric("‖value‖ intact", f"{np.linalg.norm(intact):.4g}")
    m2.metric("‖value‖ sub-architecture", f"{np.linalg.norm(sub):.4g}")
    m3.metric("max |difference|", f"{np.abs(intact - sub).max() if intact.size else 0:.4g}")
    n = min(intact.size, 16)
    st.dataframe({"entry": list(range(n)), "intact": intact[:n].round(6), "sub-architecture": sub[:n].round(6)},
                 hide_index=True, key="dec.fvals")
    if intact.size > n:
        st.caption(f"first {n} of {intact.size} entries")


def _ancestors(dag, node: str) -> set[str]:
    seen, stack = set(), [node]
    while stack:
        for p in dag.predecessors(stack.pop()):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen
