"""The Train page's side of the Signal-propagation hand-off: the `propagation.grid` job writes the grid's
exports and trains its runs as its own children (the orchestration is the job's), so this panel only
shows the job's progress above the grid's comparison group, whose curves grow live like any other."""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.jobs import backend, follow


def grid_panel() -> None:
    req = state.GRID.get()
    if req is None:
        return
    job = backend().store.get_job(req.job_id)
    if job.status == "done":
        state.GRID.pop()
        return
    with st.container(border=True):
        st.subheader("Trainability grid from the Signal-propagation lab")
        st.markdown(req.title)
        if job.status in ("failed", "cancelled"):
            st.error(f"The grid {job.status}: {job.error or 'no reason recorded'}", icon=":material/warning:")
            if st.button("Dismiss", key="grid.dismiss"):
                state.GRID.pop()
                st.rerun()
            return
        follow([req.job_id], label="the grid")
