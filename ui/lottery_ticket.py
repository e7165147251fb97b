"""The Lottery page's ticket view: one round's ticket of one seed drawn on the unit-level DAG
(surviving arcs, cut-off units dimmed) and its first layer's mask as an image; the ticket as a
zip in the Prune export format, and — for models small enough for the unit-level Prune page —
opened there with its removed arcs selected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from explorer.models.key import ModelKey
from ui import cache, state
from ui.errors import guard
from ui.lottery_view import chart


@st.cache_resource(show_spinner=False, max_entries=32)
def _mask(path: str):
    from explorer.pruning.mask import Mask

    return Mask.load(Path(path) / "mask.safetensors")


@st.cache_resource(show_spinner="finding the first layer…", max_entries=8)
def _first_layer(spec: str) -> str:
    from explorer.pruning.coupling import find_layers

    lm = cache.model(spec)
    return find_layers(lm.model, lm.example_input)[0].weight


def ticket_panel(doc: dict[str, Any], job_id: str) -> None:
    from explorer.figures.tickets import mask_image, ticket_dag_figure

    rounds = doc.get("rounds", [])
    if not rounds:
        return
    st.subheader("The ticket")
    spec = doc["config"]["model"]
    c1, c2 = st.columns([3, 1])
    labels = {e["round"]: f"{e['round']}: {100 * e['sparsity']:.1f}% pruned" for e in rounds}
    r = c1.select_slider("Round", list(labels), value=list(labels)[-1], format_func=labels.get, key="lottery.ticket.round")
    entry = next(e for e in rounds if e["round"] == r)
    seed = c2.selectbox("Seed", list(range(len(entry["masks"]))), key="lottery.ticket.seed")
    folder = entry["masks"][seed]
    mask = _mask(folder)
    with guard("drawing the first layer's mask"):
        name = _first_layer(spec)
        if name in mask:
            chart(mask_image(mask[name], name), "lottery.mask", "The first layer's surviving weights (dark), one row per "
                  "unit sorted by where its inputs lie: on MNIST-1D each unit keeps a window of neighbouring inputs "
                  "— the ticket has learned local connectivity.")
    with guard("drawing the ticket on the DAG"):
        dag = cache.dag(ModelKey(spec, "unit"))
        chart(ticket_dag_figure(dag, mask), "lottery.ticket", "The ticket on the unit-level DAG (x = level): only the "
              "surviving arcs are drawn, units the mask cut off are faint.")
    downloads(spec, seed, folder, entry, job_id)


def downloads(spec: str, seed: int, folder: str, entry: dict[str, Any], job_id: str) -> None:
    from explorer import paths
    from explorer.pruning.export import UNIT_ARCS_MAX, complete, zip_dir

    out = paths.exports() / f"lottery-{job_id}-r{entry['round']}-s{seed}"
    extra = {"lottery": {"round": entry["round"], "seed": seed, "sparsity": entry["sparsity"], "job": job_id}}

    def ticket_zip() -> bytes:
        return zip_dir(complete(folder, out, seed=seed, extra=extra))

    c1, c2 = st.columns(2)
    c1.download_button("Ticket (zip, Prune export format)", ticket_zip,
                       f"{out.name}.zip", "application/zip", on_click="ignore", key="dl.lottery.ticket_zip",
                       help="mask, the ticket's initial weights and the spec; it opens as a pruned_dir on the Train page")
    n_weights = sum(v.numel() for v in _mask(folder).values())
    if n_weights <= UNIT_ARCS_MAX and c2.button("Open on the Prune page", key="lottery.open_prune",
                                                help="the ticket's removed arcs as the unit-level selection"):
        from explorer.pruning.export import load_pruned

        sel = load_pruned(complete(folder, out, seed=seed, extra=extra)).selection
        state.pick(spec=spec, source="zoo", granularity="unit")
        state.SELECTION.put(sel)
        st.session_state["prune.model_id"] = f"zoo:{spec}"
        st.session_state["prune.granularity"] = "unit"
        st.switch_page("pages/3_Prune.py")
