"""Signal propagation: why pruning an untrained network works (docs/science.md §5) — the singular values
of the Jacobians at initialisation per init scheme, with depth, after pruning at init and after the
data-free isometry step, and a one-click trainability grid.

Every computation runs as a background job (`explorer.propagation.kinds`) on the backend chosen in the
sidebar: spectra at many inputs, per-layer maps, thousands of isometry steps and torchvision models take
seconds to minutes, so the page only submits, follows and draws (`ui.jobs`). A job is named by its settings, so settings seen before show at
once, and a job whose settings were left is cancelled.
"""

from __future__ import annotations

import math

from ui.nav import through_navigation

through_navigation(__file__)

import streamlit as st

from ui import signal_lab as controls
from ui import signal_views as views
from ui import state
from ui.errors import guard
from ui.jobs import backend, follow, frames, submit
from ui.classroom import look
from ui.links import linked


def _failed(job, what: str, kind: str, config, slot: str) -> bool:
    if job.status != "failed":
        return False
    st.error(f"**{what} failed**: {job.error}", icon=":material/warning:")
    if st.button("Retry", key=f"{slot}.retry"):
        submit(kind, config, slot, retry=True)
        st.rerun()
    return True


def train_panel(spec: str, cfg) -> None:
    from explorer import models

    info = models.load_cached(spec).info
    if not info.dataset:
        st.info(f"This network eats {math.prod(info.input_shape)} values and has no dataset to train on: pick "
                "**MNIST-1D (40 → 10)** under *Inputs → outputs* (or a zoo model) to train the grid.")
        return
    base, seeds = controls.train_settings(spec, info.dataset)
    n = len(cfg.schemes) * len(seeds) * 3
    st.caption(f"Trains, for each of the {len(cfg.schemes)} init scheme(s) and {len(seeds)} seed(s), the dense net, "
               f"the net pruned at init by {cfg.criterion} ({100 * cfg.sparsity:.0f}%, the scheme's weights masked) and "
               f"the pruned net after {cfg.isometry_steps} isometry steps — {n} runs on {info.dataset}, one comparison "
               "group on the Train page, where the curves grow live.")
    if st.button("Train these", type="primary", key="spp.train"):
        from explorer.propagation.grid import group_name
        from explorer.propagation.kinds import GRID, grid_config
        from ui.train_forms import GROUP_KEY

        jid = submit(GRID, grid_config(cfg, base, seeds), retry=True)
        title = (f"{', '.join(cfg.schemes)} × {{dense, pruned ({cfg.criterion} {100 * cfg.sparsity:.0f}%), pruned + "
                 f"isometry}} on `{spec}`, {len(seeds)} seed(s)")
        state.GRID.put(state.GridRequest(jid, title))
        st.session_state[GROUP_KEY] = group_name(cfg, base, seeds)  # the Train page opens on it as its runs start
        st.switch_page("pages/4_Train.py")


def main() -> None:
    from explorer import models
    from explorer.propagation.kinds import DEPTH, SPECTRA
    from explorer.propagation.lab import LabConfig, doc_from_frames

    st.title("Signal propagation")
    st.caption("At initialisation, a network passes signals faithfully when its Jacobians are close to isometries "
               "(all singular values near 1). Compare init schemes, watch the spread grow with depth, prune at "
               "init, repair the pruned network with approximate isometry, and train the result.")
    look("where the singular values sit: all near 1 is a faithful network; a wide spread loses signal.")
    spec, shape = controls.network()
    if not spec:
        st.info("Choose a model in the sidebar.")
        return
    status = st.container()
    boxes = {k: st.container() for k in ("spectra", "depth", "prune", "iso", "train")}
    info = models.load_cached(spec).info
    with boxes["spectra"]:
        st.header("Spectra at initialisation")
        sset = controls.spectra_settings(len(info.input_shape) == 3, info.source == "torchvision")
    if not sset["schemes"]:
        st.info("Pick at least one init scheme.")
        return
    with boxes["depth"]:
        st.header("Spread against depth")
        dcfg = controls.depth_settings(shape, sset["schemes"], sset["seed"])
    with boxes["prune"]:
        st.header("Pruning at initialisation")
        pset = controls.pruning_settings()
    with boxes["iso"]:
        st.header("Approximate isometry")
        iset = controls.isometry_settings()
    cfg = LabConfig(model=spec, **sset, **pset, **iset)
    slots = {"spectra": "spp.job.spectra", "depth": "spp.job.depth"}
    jid = submit(SPECTRA, cfg, slots["spectra"])
    did = submit(DEPTH, dcfg, slots["depth"])
    store = backend().store
    job, djob = store.get_job(jid), store.get_job(did)
    with status:
        follow([jid, did], label="computing the spectra")
        bad = _failed(job, "the spectra job", SPECTRA, cfg, slots["spectra"])
        _failed(djob, "the depth sweep", DEPTH, dcfg, slots["depth"])
    doc = job.result if job.status == "done" else {**doc_from_frames([(f.kind, f.payload) for f in frames(jid)]),
                                                  "inputs": {"n": cfg.inputs}}
    ddoc = djob.result if djob.status == "done" else {"config": dcfg.to_dict(),
                                                      "points": [f.payload for f in frames(did)]}
    with boxes["spectra"]:
        if not bad:
            views.spectra_panel(doc, "spp.init")
    with boxes["depth"]:
        views.depth_panel(ddoc, "spp.depth")
    with boxes["prune"]:
        views.pruning_panel(doc, "spp.prune")
    with boxes["iso"]:
        views.isometry_panel(doc, "spp.iso")
    with boxes["train"]:
        st.header("Trainability: does faithful propagation make the pruned net train?")
        train_panel(spec, cfg)


with guard(), linked("spp", controls.link_settings(), presets="Signal propagation"):
    main()
