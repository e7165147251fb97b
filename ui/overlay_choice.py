"""The one-click overlay choice over a DAG figure: colour (or size) the nodes by level, parameters, MACs,
latency, a criterion's score, path mass or Jacobian spread (`explorer.overlays`). A page calls

    fig = overlay_choice(key, dag, "arch", search=q)

for the graph's figure (`ui.cache.dag_figure(key, search=q)`) as the choice wants it: restyled
(`explorer.figures.overlay_plot.with_overlay`), not redrawn, once per (graph, search, metric, colour or size)
in this server (`restyled`), so switching back and forth between overlays only sends the figure again.
"""

from __future__ import annotations

import streamlit as st

from explorer.models.key import ModelKey
from ui import cache
from ui.errors import guard

LABELS = {"level": "level", "params": "params", "macs": "MACs", "latency": "latency", "magnitude": "|w|",
          "snip": "SNIP", "synflow": "SynFlow", "spline": "spline", "path_mass": "path mass",
          "jacobian_spread": "Jacobian spread"}


@st.cache_resource(show_spinner="computing the overlay…", max_entries=32)
def compute(key: ModelKey, name: str):
    """The overlay `name` on the graph of `key` (cached per graph and metric: latency and the criteria run
    the model)."""
    from explorer.overlays import METRICS, overlay

    model = cache.model(key.spec, key.seed).model if METRICS[name].needs_model and not key.is_onnx else None
    return overlay(name, cache.dag(key), model)


@st.cache_resource(show_spinner=False, max_entries=32)
def restyled(key: ModelKey, search: str, name: str, by: str):  # noqa: ANN201 - a plotly figure
    """`with_overlay` of the graph's figure (`ui.cache.dag_figure(key, search=search)`) by the overlay `name`
    (`by`: "color" or "size"), kept per (graph, search, metric, by) for every session: restyling a 2,000-node
    figure copies and validates it (0.2 s), and a switch back to a metric seen before should only send it.
    Shared: treat it as read-only."""
    from explorer.figures.overlay_plot import with_overlay

    return with_overlay(cache.dag_figure(key, search=search), cache.dag(key), compute(key, name), by)


def overlay_choice(key: ModelKey, dag, prefix: str, search: str = ""):  # noqa: ANN001, ANN201 - a Dag
    """The choice (session key `{prefix}.metric`, "level" by default) and the figure of `key`'s graph with
    search `search` it gives (the cached `ui.cache.dag_figure` itself for the level colours)."""
    from explorer.overlays import METRICS, available

    names = available(dag, with_model=not key.is_onnx)
    if st.session_state.get(f"{prefix}.metric") not in names:  # a link or another granularity's choice
        st.session_state[f"{prefix}.metric"] = "level"
    c1, c2 = st.columns([5, 1])
    name = c1.segmented_control("Colour nodes by", names, key=f"{prefix}.metric", format_func=LABELS.get,
                                help="one per-node metric on the graph; its colour bar gives the unit") or "level"
    by = "size" if c2.toggle("as size", key=f"{prefix}.metric_size", help="size the nodes by the metric instead "
                             "of colouring them") else "color"
    fig = cache.dag_figure(key, search=search)
    if name == "level" and by == "color":
        return fig
    with guard(f"computing the {LABELS[name]} overlay"):
        ov = compute(key, name)
        st.caption(f"**{LABELS[name]}** ({ov.unit}): {METRICS[name].help}. " + " ".join(ov.notes))
        return restyled(key, search.strip(), name, by)
    return fig
