"""Playground: a 2-D network trained live with its exact linear regions (docs/science.md §6).

TensorFlow Playground's lesson — data, features, layers × neurons, activation, regularisation —
plus what it lacks: skip arcs between any two layers, the network drawn as a DAG with every unit's
heatmap, the exact linear regions with their count, pruning a unit by a click, spline pruning, the
partition distance and its early-bird draw. Every setting lives in the URL. Training is a job
(`explorer.playground.job`) on the backend chosen in the sidebar; the page submits, follows and draws.
"""

from __future__ import annotations

from ui.nav import through_navigation

through_navigation(__file__)

import streamlit as st

from ui.errors import guard
from ui.links import preset_box
from ui.playground import config, data_panel, network_panel, share, training_panel, url_state, view_settings
from ui.playground_live import controls, current, ensure_run, live_view
from ui.jobs import backend


def main() -> None:
    st.title("Playground")
    st.caption("A small network learns a 2-D dataset live. Every polygon is one **linear region** — the exact set "
               "of inputs on which the network is one affine map — computed from the lifting, skip arcs included; "
               "grey lines are the units' boundaries, black the decision boundary. Click a unit to prune it.")
    preset_box("pg", "Playground")
    url_state()
    share()
    c1, c2, c3 = st.columns([1, 1.6, 1.1])
    with c1:
        data_panel()
    with c2:
        network_panel()
    with c3:
        training_panel()
    with guard("reading the settings"):
        base = config()
        be = backend()
        cfg = current(base)
        jid = ensure_run(be, cfg)
        st.divider()
        controls(be, cfg, jid)
        live_view(be, cfg, jid, view_settings())


with guard():
    main()
