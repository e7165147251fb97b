"""The one-click overlay choice over a DAG figure: colour (or size) the nodes by level, parameters, MACs,
latency, a criterion's score, path mass or Jacobian spread (`explorer.overlays`). A page calls

    fig = overlay_choice(key, dag, fig, "arch")

after drawing its figure; the figure is restyled (`explorer.figures.overlay_plot.with_overlay`), not redrawn.
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


def overlay_choice(key: ModelKey, dag, fig, prefix: str):  # noqa: ANN001, ANN201 - a Dag, a plotly figure
    """The choice (session key `{prefix}.metric`, "level" by default) and the figure it gives."""
    from explorer.figures.overlay_plot import with_overlay
    from explorer.overlays import METRICS, available

    names = available(dag, with_model=not key.is_onnx)
    if st.session_state.get(f"{prefix}.metric") not in names:  # a link or another granularity's choice
        st.session_state[f"{prefix}.metric"] = "level"
    c1, c2 = st.columns([5, 1])
    name = c1.segmented_control("Colour nodes by", names, key=f"{prefix}.metric", format_func=LABELS.get,
                                help="one per-node metric on the graph; its colour bar gives the unit") or "level"
    by = "size" if c2.toggle("as size", key=f"{prefix}.metric_size", help="size the nodes by the metric instead "
                             "of colouring them") else "color"
    if name == "level" and by == "color":
        return fig
    with guard(f"computing the {LABELS[name]} overlay"):
        ov = compute(key, name)
        st.caption(f"**{LABELS[name]}** ({ov.unit}): {METRICS[name].help}. " + " ".join(ov.notes))
        return with_overlay(fig, dag, ov, by)
    return fig
