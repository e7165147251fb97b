"""Waiting for long library work with its stage on show, and a way to stop waiting.

Opening a user's model takes tens of seconds: a sandboxed child process imports, builds, runs and
traces it, then this process builds and traces it again. The work runs in a thread of this
module's pool — library code only, which reports its stages (`explorer.concurrency.progress`);
Streamlit is called from the script thread alone, which polls and shows the stage and the elapsed
time under a spinner, with a "Stop waiting" button; once done, the stages and their times may stay in
a collapsed expander ("Opening X: ready in 12.3 s"), or go. Stopping leaves the work running (its result
lands in the library's caches, ready when the model is opened again) and the page usable.

    dag = wait_for("arch", f"dag:{key}", "Opening mlp_skip", lambda: build_dag("mlp_skip"))
    if dag is None:     # the user stopped waiting
        return
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError as FutureTimeout
from typing import Any, TypeVar

import streamlit as st

from explorer.concurrency import Progress, reporting

T = TypeVar("T")
POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="explorer-open")  # shared by every session
IN_FLIGHT = "progress.in_flight"  # session: job -> (Future, Progress), kept across reruns until the work ends
STOPPED = "progress.stopped"  # session: the jobs the user stopped waiting for (until they finish or "Wait for it")
QUICK_S = 0.3  # work done within this shows no status box (a cached graph)
POLL_S = 0.25


def _run(progress: Progress, work: Callable[[], T]) -> T:
    with reporting(progress):
        return work()


def _stages(stages: list[tuple[str, float]]) -> str:
    return "\n".join(f"- {text} — {s:.1f} s" for text, s in stages)


def wait_for(page: str, job: str, title: str, work: Callable[[], T], record: bool = False) -> T | None:
    """`work()` (library code, run in a pool thread) with its stages and elapsed time shown while it runs
    past `QUICK_S`; None when the user stopped waiting (the work goes on in the background). `job` names the
    work within the session: a rerun while it runs waits for the same work again instead of starting
    another. With `record`, the stages and their times stay on the page afterwards (collapsed); else the
    progress goes when the work is done. Its exceptions are raised here, in the script thread."""
    jobs: dict[str, tuple[Future, Progress]] = st.session_state.setdefault(IN_FLIGHT, {})
    if job not in jobs:
        progress = Progress()
        jobs[job] = (POOL.submit(_run, progress, work), progress)
    fut, progress = jobs[job]
    stopped: set[str] = st.session_state.setdefault(STOPPED, set())
    if job in stopped and not fut.done():
        st.info(f"Stopped waiting for {title[0].lower() + title[1:]}: it goes on in the background "
                f"({progress.current}, {progress.elapsed():.0f} s so far) and is kept, ready when you open it again. "
                "Choose another model in the sidebar meanwhile.", icon=":material/pause_circle:")
        st.button("Wait for it", key=f"{page}.again.{_tag(job)}", on_click=stopped.discard, args=(job,))
        return None
    stopped.discard(job)
    try:
        return _finish(jobs, job, fut, timeout=QUICK_S)
    except FutureTimeout:
        pass
    slot = st.empty()  # while it runs: a spinner with the time, the stage, the stages done; then their record
    with slot.container(border=True), st.spinner(f"{title}…", show_time=True):
        now, done = st.empty(), st.empty()
        st.button("Stop waiting", key=f"{page}.stop.{_tag(job)}", icon=":material/pause_circle:",
                  on_click=stopped.add, args=(job,), help="the work goes on in the background; this page stops "
                                                          "waiting for it")
        while not fut.done():
            stages = progress.stages()
            now.markdown(f"**{progress.current}** — {stages[-1][1] if stages else 0:.0f} s "
                         f"({progress.elapsed():.0f} s in all)")
            done.markdown(_stages(stages[:-1]))  # the stages behind it, with their times
            time.sleep(POLL_S)
    try:
        result = _finish(jobs, job, fut)
    except Exception:
        slot.expander(f"{title}: failed after {progress.elapsed():.1f} s", icon=":material/error:").markdown(
            _stages(progress.stages()))
        raise
    if record:
        slot.expander(f"{title}: ready in {progress.elapsed():.1f} s", icon=":material/check:").markdown(
            _stages(progress.stages()))
    else:
        slot.empty()
    return result


def _tag(job: str) -> str:
    """A short stable name of `job` for widget keys (two jobs may wait in one run)."""
    return hashlib.sha1(job.encode()).hexdigest()[:10]


def _finish(jobs: dict[str, Any], job: str, fut: Future, timeout: float | None = None) -> Any:
    """The result (or exception) of the finished job, which then leaves the session's list (`FutureTimeout`
    while it runs)."""
    try:
        return fut.result(timeout=timeout)
    finally:
        if fut.done():
            jobs.pop(job, None)
