"""Background jobs as a page sees them: submit (one job per settings; a superseded one is
cancelled), read its frames incrementally, and keep the page live while it runs.

    jid = submit("propagation.spectra", cfg.to_dict(), slot="spp.spectra")
    job, frames = read(jid)            # frames: [(kind, payload)], only new ones fetched
    live([jid])                        # a small fragment: progress, and a rerun when something changed
"""

from __future__ import annotations

import streamlit as st

from ui.train_forms import backend

LIVE_REFRESH_S = 0.5


def submit(kind: str, config: dict, slot: str, retry: bool = False) -> str:
    """Queue the job for `config` (the same settings find the same job, done or running); cancel the one
    `slot` held before. A failed job is queued again only with `retry` (the page offers a button)."""
    from explorer.training.job_store import JobError, job_id

    be = backend()
    jid = job_id(kind, config)
    try:
        status = be.store.get_job(jid).status
    except JobError:
        status = None
    if status is None or status == "cancelled" or (retry and status == "failed"):
        be.submit_job(kind, config)
    old = st.session_state.get(slot)
    if old and old != jid:
        try:
            if not be.store.get_job(old).done:
                be.store.request_cancel_job(old)
        except ValueError:
            pass
    st.session_state[slot] = jid
    return jid


def read(job_id: str):
    """(Job, frames so far as (kind, payload) pairs); frames are fetched once and kept in the session."""
    store = backend().store
    job = store.get_job(job_id)
    key = f"jobwatch.{job_id}.{job.attempt}"
    seen = st.session_state.setdefault(key, {"seq": 0, "frames": []})
    new = store.frames(job_id, since=seen["seq"])
    if new:
        seen["frames"].extend((f.kind, f.payload) for f in new)
        seen["seq"] = new[-1].seq
    return job, seen["frames"]


def _signature(job_ids: list[str]) -> tuple:
    store = backend().store
    jobs = [store.get_job(j) for j in job_ids]
    return tuple((j.status, len(store.frames(j.id, since=st.session_state.get(f"jobwatch.{j.id}.{j.attempt}",
                                                                                {"seq": 0})["seq"])))
                 for j in jobs)


def live(job_ids: list[str], label: str = "computing") -> None:
    """While any job runs: a progress line per job, and a page rerun whenever one has news."""
    store = backend().store
    jobs = [store.get_job(j) for j in job_ids]
    running = [j for j in jobs if not j.done]
    if not running:
        return
    backend().poll()  # keeps the worker alive

    @st.fragment(run_every=LIVE_REFRESH_S)
    def watch() -> None:
        for j in [store.get_job(j.id) for j in running]:
            where = "queued behind other work" if j.status == "queued" else (j.note or label)
            st.progress(min(1.0, j.progress), text=f"{label}: {where}")
        if any(n for _, n in _signature([j.id for j in running])) or any(
                store.get_job(j.id).done for j in running):
            st.rerun(scope="app")

    watch()
