"""The Train page's side of the Signal-propagation hand-off: wait for the grid's exports (a
`propagation.grid` job), then submit its runs — as one batched job where they can share it — and
show their comparison group, whose curves then grow live like any other."""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.train_forms import GROUP_KEY, backend, submit

REFRESH_S = 0.5


def grid_panel() -> None:
    req = state.GRID.get()
    if req is None:
        return
    be = backend()
    job = be.store.get_job(req.job_id)
    with st.container(border=True):
        st.subheader("Trainability grid from the Signal-propagation lab")
        st.markdown(req.title)
        if job.status == "done":
            _submit(job.result or {}, req.batched)
            return
        if job.status in ("failed", "cancelled"):
            st.error(f"Preparing the grid {job.status}: {job.error or 'no reason recorded'}", icon="⚠️")
            if st.button("Dismiss", key="grid.dismiss"):
                state.GRID.pop()
                st.rerun()
            return
        be.poll()

        @st.fragment(run_every=REFRESH_S)
        def wait() -> None:
            j = be.store.get_job(req.job_id)
            st.progress(min(1.0, j.progress), text=f"preparing the pruned exports: {j.note or j.status}")
            if j.done:
                st.rerun(scope="app")

        wait()


def _submit(result: dict, batched: bool) -> None:
    from explorer.training.config import RunConfig
    from explorer.training.jobs.sweep import batched_blocker

    configs = [RunConfig.from_dict(d) for d in result.get("configs", [])]
    if not configs:
        st.error("The grid job produced no runs.", icon="⚠️")
        state.GRID.pop()
        return
    submit(configs, batched and batched_blocker(configs) is None)
    st.session_state[GROUP_KEY] = result["group"]
    state.GRID.pop()
    st.rerun()
