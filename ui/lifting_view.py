"""Decomposition-page helpers: input choice, the T_l / product matrices as node-by-node
arrays (adapting `explorer.lifting.base` results for `matrix_figure`), big-matrix views, and the
sub-architecture panel."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures.matrix_plot import level_blocks, matrix_figure
from explorer.figures.wording import arc_text

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


def verification_badge(v: dict) -> None:
    """The page's verdict on `ui.cache.verification`'s dict: verified, failed, or no real check (the
    model's output is identically zero at this input, so any composition would agree with it)."""
    fe, je, tol = v["forward_error"], v["jacobian_error"], v["tol"]
    je_s = "n/a at op level" if je is None else f"{je:.2e}"
    text = f"forward error {fe:.2e} · Jacobian error {je_s} · tolerance {tol:.0e} · {v.get('dtype', 'float64')}"
    if not v["ok"]:
        st.error(f"✗ the composition does not match the model — {text}")
    elif v.get("trivial"):
        st.warning("Not a real check: the model's output is identically zero at this input (e.g. a "
                   f"zero-initialised head), so composition and forward agree whatever T_l holds — {text}")
    else:
        st.success(f"✓ verified: Φ_L T_L ⋯ Φ_1 T_1 z₀ equals the model's forward — {text}")
    if v.get("notes"):  # how the inputs were drawn (token ids, a fixed batch) and the precision chosen
        st.caption("How this was checked: " + "; ".join(v["notes"]))


def cache_model_dataset(key) -> str | None:
    from ui import cache

    return cache.model(key.spec, key.seed).info.dataset


def input_choice() -> tuple[int, int | None]:
    """(input_seed, sample) as `ui.cache.lifting/verification` take them."""
    if str(st.session_state.get(INPUT_KIND, "seeded random")).endswith("sample"):
        return 0, int(st.session_state.get("dec.sample", 0))
    return int(st.session_state.get("dec.input_seed", 0)), None


FULL_MATRIX_MAX = 250  # nodes; above this the whole matrix is not offered (too many cells to draw)
LABELLED_MAX = {"op": 12, "unit": 40}  # nodes; above this the page opens on a labelled window of levels
# (op level: a whole T_l with two-line operator labels fits the page up to about 12 nodes)
WINDOW_SHOWN_DEFAULT = "dec.window_default"  # the window's first value on this graph (its depth may cap it)
WIDE, HALF = 1000, 520  # px: a matrix across the page, or in one of two columns


def view_controls(dag, l: int, views: tuple[str, ...], window_levels: int, window_default: int) -> tuple[str, int]:
    """Widgets choosing how a big T_l is shown: (view, levels in the window); `views` in the order
    offered ("whole matrix" is left out past `FULL_MATRIX_MAX` nodes), the window slider's range and
    first value (the page's link schema owns them). Up to
    `LABELLED_MAX` nodes (per granularity) the whole matrix is readable and shown; above, a window
    of levels ending at l (with the columns its rows read from) comes first, labelled cell by cell."""
    from ui.links import clamp

    n = len(dag.nodes)
    if n <= LABELLED_MAX.get(dag.granularity, 40):
        return "whole matrix", 0
    options = [v for v in views if v != "whole matrix" or n <= FULL_MATRIX_MAX]
    if st.session_state.get("dec.view") not in (None, *options):  # e.g. a link made on a smaller model
        st.session_state["dec.view"] = options[0]
    view = st.radio("View", options, horizontal=True, key="dec.view",
                    help=f"{n:,} nodes: a window keeps the labels legible; the whole matrix shows the shape")
    w = 0
    if view == "window of levels":
        top = min(window_levels, dag.depth + 1)
        clamp("dec.window", 1, top, "levels in the window")
        st.session_state[WINDOW_SHOWN_DEFAULT] = min(window_default, top)  # what "no w in the link" means here
        w = st.slider("levels in the window (ending at l)", 1, top, min(window_default, top), key="dec.window",
                      help="the window also keeps every column the level-l rows read from (skip-arc sources)")
    return view, w


def window_in_link() -> int | None:
    """The window for the page's link: None while it is this graph's first value (a link made on a
    deeper model then opens on that model's own first value, not on a cap that only fit this one)."""
    w = st.session_state.get("dec.window")
    return None if w == st.session_state.get(WINDOW_SHOWN_DEFAULT) else w


def draw(dag, ids, M, labels, view: str, keep: list[int] | None, l: int, *, title: str,
         band_level: int | None, width: int = WIDE):
    """The heatmap in the chosen view: the whole matrix, the window `keep` (positions into `ids`,
    from `window_positions`), or level blocks."""
    band = [i for i in ids if dag.level.get(i) == band_level] if band_level is not None else None
    level = {"1": 0, **dag.level}  # the bias slot "1" sits with the inputs
    if view == "level blocks":
        names, B = level_blocks(ids, M, level)
        bl = [f"L{band_level}"] if band_level is not None else None
        return matrix_figure(names, B, band=bl, title=f"{title} — level blocks (Frobenius norm)",
                             colorbar_title="norm", width=width)
    if view == "window of levels" and keep is not None:
        pos = {i: k for k, i in enumerate(ids)}
        sel = [pos[i] for i in keep if i in pos]
        sub = M[np.ix_(sel, sel)]
        sl = labels[np.ix_(sel, sel)] if labels is not None else None
        lv = sorted({level[ids[k]] for k in sel})
        span = f"levels {lv[0]}..{lv[-1]}" if lv else "empty"
        return matrix_figure([ids[k] for k in sel], sub, labels=sl, band=band, width=width,
                             title=f"{title} — window: {span}, {len(sel)} nodes")
    return matrix_figure(ids, M, labels=labels, band=band, title=title, width=width)


def window_ids(dag, ids, M, l: int, w: int) -> list[str]:
    """The node ids of a window of T_l (`explorer.lifting.views.level_window`), shared by T_l and the product."""
    from explorer.lifting.views import level_window

    level = {"1": 0, **dag.level}
    return [ids[k] for k in level_window(ids, M, level, l, w)]


def zero_output_note(dag, node: str, value) -> None:
    """Say why every difference is 0 when the chosen node's value is identically zero at this input."""
    if value.size and not np.any(value):
        why = (" torchvision zero-initialises the classification head of some models (vit_b_16's `heads.head`) "
               "when built with weights=None, so their output is 0 for every input." if dag.outputs
               and node in dag.outputs else "")
        st.info(f"The value at {node} is identically zero at this input, so every sub-architecture gives 0 "
                f"there too and each difference below is 0.{why} Choose an earlier node (e.g. the input of "
                "the last layer) to see what removing nodes or arcs changes.")


ARC_OPTIONS_MAX = 3000  # arcs offered by "remove arcs" at most


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
    help_ = "arcs upstream of the chosen node"
    if len(arc_ids) > ARC_OPTIONS_MAX:  # a unit-level MLP: 280,000 options would weigh megabytes on the page
        upstream_arcs = set(arc_ids)
        held = [a for a in st.session_state.get("dec.rm_arcs", []) if a in upstream_arcs]
        help_ = (f"{len(arc_ids):,} arcs lie upstream: listed are the arcs into {node}; choose an earlier node "
                 "to remove arcs further up")
        arc_ids = list(dict.fromkeys(held + [a.id for a in dag.in_arcs(node)]))
    removed_arcs = c3.multiselect("remove arcs", arc_ids, key="dec.rm_arcs", help=help_, format_func=arc_text)
    seed, sample = input_choice()
    intact = cache.function_value(key, seed, sample, node)
    sub = cache.function_value(key, seed, sample, node, tuple(sorted(removed_nodes)), tuple(sorted(removed_arcs)))
    zero_output_note(dag, node, intact)
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
