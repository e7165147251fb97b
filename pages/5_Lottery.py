"""Lottery: IMP with rewinding, the one-shot sweep, stability, transfer and early-bird tickets,
run as background jobs and drawn live (docs/science.md §4, §6, §7).

The page only submits, follows and draws (`ui.jobs`); every experiment is a job (`explorer.lottery.kinds`)
on the backend chosen in the sidebar, its runs land in the run store, its rounds stream as frames.
"""

from __future__ import annotations

from ui.nav import through_navigation

through_navigation(__file__)

import streamlit as st

from explorer.lessons.results import is_shipped
from ui import examples, lottery_forms as forms, lottery_view as view
from ui.errors import guard, show_error
from ui.classroom import look
from ui.links import linked
from ui.lottery_ticket import ticket_panel
from ui.jobs import backend, follow, frames
ABOUT = {
    "lottery.imp": "Train, prune the smallest surviving weights, rewind the rest to their initial values (or to step "
                   "k of the dense run), retrain — round after round — beside a reinit and a random-mask control.",
    "lottery.sweep": "Prune the trained dense network once to each sparsity, rewind and retrain: the MNIST-1D lottery "
                     "notebook's comparison of tickets and random masks, all variants trained as one batched job.",
    "lottery.stability": "Two copies from one rewind point trained with different data orders: is there an error "
                         "barrier on the straight line between them?",
    "lottery.transfer": "Does a ticket found on task A win on task B too (universality)? Against B's own ticket and a "
                        "random mask of the same sparsity.",
    "lottery.earlybird": "Watch the pruning mask while the dense network trains, draw the early-bird ticket as soon "
                         "as it settles, and retrain it.",
}


def settings(be, kind: str) -> None:
    with st.expander("Settings", expanded=not be.store.list_jobs(kind=kind)):
        try:
            cfg = forms.form(kind)
        except ValueError as e:
            show_error(e, "reading the settings")
            return
        st.caption(f"{cfg.seeds} seed(s); the runs land in the run store (Train page) as ordinary runs.")
        if st.button("Start", type="primary", key=f"lottery.start.{kind}"):
            with guard("starting the experiment"):
                forms.submit(kind, cfg)  # queued: the job picker below shows it in this same run


def draw(be, kind: str, job) -> None:
    """Everything the job has shown so far (the live part of the page)."""
    from explorer.lottery.snapshot import Snapshot

    snap = Snapshot.of(frames(job.id), job.result if job.done else None)
    view.status(be, job)
    if not job.done and not snap.current:  # queued, or loading its data: nothing to draw yet
        st.caption("The charts appear as the experiment trains: first the dense network (round 0), then each round.")
        return
    if not job.done:
        view.live_curves(be.store, snap)
    if kind in ("lottery.imp", "lottery.sweep"):
        view.lottery_charts(snap.doc, sweep=kind == "lottery.sweep")
    elif kind == "lottery.stability":
        view.stability_charts(snap.doc)
    elif kind == "lottery.transfer":
        view.transfer_charts(snap.doc)
    else:
        view.earlybird_charts(snap, job.config)


def main() -> None:
    st.title("Lottery")
    st.caption("Lottery tickets beyond one comparison: iterative magnitude pruning with rewinding, sparsity sweeps, "
               "controls over seeds, the IMP flow, transfer, stability and early-bird tickets.")
    try:
        be = backend()
    except Exception as e:  # noqa: BLE001 — e.g. an unwritable EXPLORER_DATA_DIR
        show_error(e, "opening the run store")
        return
    with guard("installing the shipped example results"):
        examples.ensure(be.store)
    label = st.radio("Experiment", list(forms.KINDS), horizontal=True, key="lottery.kind")
    kind = forms.KINDS[label]
    st.markdown(ABOUT[kind])
    look("the ticket's curve against reinit and random: a winning ticket reaches the target in as few steps.")
    settings(be, kind)
    be.poll()
    jid = forms.job_picker(be.store, kind)
    if jid is None:
        st.info("No experiment of this kind yet: set it up above and press Start.")
        return
    shown = be.store.get_job(jid)
    if is_shipped(shown):
        examples.banner(f"Press *Start* in *Settings* to run your own (this one took {examples.minutes(kind):.0f} min "
                        "here); it then shows in place of this one.")

    def live_view() -> None:
        with guard("reading the experiment"):
            draw(be, kind, be.store.get_job(jid))

    follow([jid], draw=live_view)
    job = be.store.get_job(jid)
    if job.done and kind in ("lottery.imp", "lottery.sweep") and job.result:
        with guard("showing the ticket"):
            ticket_panel(job.result, job.id)


with guard(), linked("lottery", forms.link_settings(), presets="Lottery", on_link=forms.on_link):
    main()
