"""A job that ends between a page's own status read and `ui.jobs.follow`'s: the page must not keep saying
"running" with no timer left to correct it (the Playground once showed "training…" and a Pause button for a
run the store had already paused, until the user clicked)."""

from __future__ import annotations

import os

from streamlit.testing.v1 import AppTest

from explorer.jobs import demo  # noqa: F401  (registers demo.count)
from explorer.jobs.kinds import submission
from explorer.jobs.store import JobStore

TIMEOUT = 60
WORKER = "test-worker"


def _page(data_dir: str, jid: str) -> None:
    import os

    os.environ["EXPLORER_DATA_DIR"] = data_dir
    import streamlit as st

    from ui import jobs

    be = jobs.backend()
    st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    st.markdown(f"status: {be.store.status(jid)}")
    if st.session_state.get("end_now"):  # the worker ends the job after the page drew it, before `follow` looks
        st.session_state["end_now"] = False
        be.store.finish(jid, "done", worker_id="test-worker")
    jobs.follow([jid])


def _running_job(data_dir: str) -> str:
    store = JobStore(data_dir)
    jid = store.submit(submission("demo.count", {"n": 3}))
    assert store.claim(WORKER, os.getpid(), job=jid) is not None  # "running" for a live worker: nobody reaps it
    store.close()
    return jid


def test_a_job_that_ends_while_the_page_draws_it_is_drawn_ended(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    jid = _running_job(str(tmp_path))
    at = AppTest.from_function(_page, args=(str(tmp_path), jid), default_timeout=TIMEOUT).run()
    assert [m.value for m in at.markdown] == ["status: running"]
    at.session_state["end_now"] = True
    at.run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["status: done"], "the page still says the ended job is running"


def test_an_ended_job_costs_at_most_one_extra_run(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    jid = _running_job(str(tmp_path))
    at = AppTest.from_function(_page, args=(str(tmp_path), jid), default_timeout=TIMEOUT).run()
    store = JobStore(str(tmp_path))
    store.finish(jid, "done", worker_id=WORKER)  # ends between two page runs (no timer fragment in AppTest)
    store.close()
    counts = []
    for _ in range(3):
        at.run()
        assert [m.value for m in at.markdown] == ["status: done"]
        counts.append(at.session_state["runs"])
    assert [b - a for a, b in zip([1, *counts], counts)] == [2, 1, 1], "a page showing an ended job reruns again"
