"""Background jobs as every page sees them: the backend the user chose, `submit(kind, spec)` and
`follow(ids)` — one refresh policy (`REFRESH_S`, and a rerun only when the jobs' signature changes,
`explorer.jobs.follow`) and one frame cache per session.

    jid = submit("propagation.spectra", cfg, slot="spp.spectra")  # the same settings find the same job
    frames(jid)                        # every frame so far; only new ones are fetched
    follow([jid], label="computing")   # while it runs: a progress line, and a page rerun when it has news
    follow(run_ids, draw=panel)        # while they run: `panel` redrawn every refresh_s()

The backend choice is drawn once, in the sidebar of every page (`backend_choice`, from `app.py`), and
kept in the session (`state.BACKEND`), so every page — Prune's big-model jobs included — honours it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from ui import state

REFRESH_S = 0.5  # how often a page polls the store while a job it follows runs
CLASS_REFRESH_S = (2.0, 6.0)  # on a class server: from 2 s (a few live pages) to 6 s (thirty), see `refresh_s`
REFRESH_COST_S = 0.1  # what one refresh of a live Train page costs the server's Python thread (measured)
REFRESH_SHARE = 0.5  # of that one thread, what the live pages of a class may take together
_FOLLOWING: dict[str, float] = {}  # session id -> when it last drew a live page (ids and times only)
_FOLLOWING_LOCK = threading.Lock()
BACKENDS = {"local": "local worker process", "ray": "Ray (RAY_ADDRESS, else a local instance)"}
CACHE = "explorer.jobs.frames"  # the session's frame cache (explorer.jobs.follow.FrameCache)
METRICS = "explorer.jobs.metrics"  # the session's metric rows read so far (explorer.jobs.follow.MetricCache)
EVERY = "explorer.jobs.every"  # the refresh interval this session's live page was given
STAMPED = "explorer.jobs.watched"  # when this session last told the store it shows a job (`JobStore.watch`)
WATCH_EVERY_S = 10.0  # how often a page that shows an interactive job says so (well inside its UNWATCHED_S)
SEEN_LIVE = "explorer.jobs.seen_live"  # per followed ids: whether this session's last look found them live


def refresh_s(following: int | None = None) -> float:
    """Seconds between a live page's refreshes: `REFRESH_S` for one person. On a class server it grows with
    the number of sessions following live jobs (`following`; default: those that drew a live page in the
    last 30 s), so that their refreshes together take about `REFRESH_SHARE` of the server's one Python
    thread, between the bounds of `CLASS_REFRESH_S`: a refresh costs about `REFRESH_COST_S`, and thirty
    students at 0.5 s would ask for six times what the thread has, every page open and click then queueing
    behind them. The interval is set when the page runs.

    >>> refresh_s(following=1) == REFRESH_S or refresh_s(following=1) == CLASS_REFRESH_S[0]
    True
    """
    from explorer.server.settings import serving_class

    if not serving_class():
        return REFRESH_S
    if following is None:
        now = time.monotonic()
        with _FOLLOWING_LOCK:
            for sid in [k for k, t in _FOLLOWING.items() if now - t > 30.0]:
                del _FOLLOWING[sid]
            following = max(1, len(_FOLLOWING))
    lo, hi = CLASS_REFRESH_S
    return round(min(hi, max(lo, following * REFRESH_COST_S / REFRESH_SHARE)), 1)


def live_every() -> float:
    """The interval this session's live page was given (`follow`), for the page to say."""
    return float(st.session_state.get(EVERY) or refresh_s())


def _following() -> None:
    """Count this session among those following live jobs (for `refresh_s`)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None:
        with _FOLLOWING_LOCK:
            _FOLLOWING[ctx.session_id] = time.monotonic()


def default_backend() -> str:
    return "ray" if os.environ.get("RAY_ADDRESS") else "local"


def backend_choice() -> str:
    """The backend radio in the sidebar (every page draws it through `app.py`); the choice outlives the page."""
    current = state.BACKEND.get()
    current = current if current in BACKENDS else default_backend()
    name = st.sidebar.radio("Training backend", list(BACKENDS), index=list(BACKENDS).index(current),
                            format_func=BACKENDS.get, key="train.backend",
                            help="Where background work runs: training runs, lottery experiments, the spectra, "
                                 "the playground, big prunes. Both write to the same run store; pages only "
                                 "submit, poll and draw. Ray starts a local instance (no dashboard) unless "
                                 "RAY_ADDRESS names a cluster.")
    state.BACKEND.put(name)
    return name


@st.cache_resource(show_spinner="starting the backend…")
def _backend(data_dir: str, name: str):
    """One backend per data dir, kind and server: it keeps the worker's Popen (or Ray's driver-side pump)
    alive across reruns."""
    from explorer.jobs.backends import get_backend
    from explorer.training.store import RunStore

    return get_backend(name, RunStore(data_dir))


def reset_backends() -> None:
    """Forget the backends (their store was moved aside): the next `backend()` opens a fresh one."""
    _backend.clear()


def backend():
    """The backend the user chose (the local worker until they choose), on this session's data folder, as
    this browser's member of a class sees it (`explorer.jobs.member`): their own jobs only, the teacher's
    all of them; in the local app, everything as before."""
    from explorer import paths
    from explorer.jobs.member import MemberBackend

    shared = _backend(str(paths.data_dir().resolve()), state.BACKEND.get() or default_backend())
    who = state.MEMBER.get()
    if who is None:
        return shared
    from explorer.training import quota

    return MemberBackend(shared, who.id, sees_all=who.teacher, quota=None if who.teacher else quota.CLASS_QUOTA)


def submit(kind: Any, spec: Any = None, slot: str | None = None, retry: bool = False, **meta: Any) -> str:
    """Queue a job of `kind` with `spec` unless the store has it (done, queued or running: the same settings
    find the same job); a cancelled one is queued again, a failed one only with `retry` (the page offers a
    button). `slot`: the page's place for one job — the one it held before is cancelled."""
    from explorer.jobs.kinds import submission

    be = backend()
    sub = submission(kind, spec, **meta)
    jid = sub.job_id
    status = be.store.status(jid)
    if status is None or status == "cancelled" or (retry and status == "failed"):
        be.submit(sub)
    elif hasattr(be, "join"):  # a class member asking for work another asked for first: it is theirs too
        be.join(jid)
    if slot is not None:
        old = st.session_state.get(slot)
        if old and old != jid and be.store.status(old) in ("queued", "running"):
            be.cancel(old)
        st.session_state[slot] = jid
    return jid


def queue_place(jid: str) -> str:
    """Where queued job `jid` stands: its place in the server's serving order and an ETA said as an estimate."""
    return queue_places([jid])[jid]


def queue_places(jids: Sequence[str]) -> dict[str, str]:
    """`queue_place` for several jobs from one reading of the queue (a live page lists a student's runs)."""
    from explorer.jobs.policy import server_policy
    from explorer.jobs.queue import places

    from explorer.training.interleave import starting_in_a_pause
    from explorer.training.kinds import BATCH, TRAIN

    store = backend().store
    got = places(store, list(jids), server_policy())  # the whole queue's order; names nobody's work
    paused = starting_in_a_pause(store, [j for j, p in got.items() if p is not None], kinds=(BATCH, TRAIN),
                                 run_kind=TRAIN)
    return {j: "queued" if p is None else PAUSE_PLACE if j in paused else f"queued: {p.text()}" for j, p in got.items()}


PAUSE_PLACE = ("queued: starts within a few seconds, in a pause of the class's running job (a job no bigger than "
               "it does not wait for all of it)")


def refuse_hidden(what: str) -> None:
    """The message for a link naming another student's work (`what`: "Comparison group 'g1'"): nothing of it."""
    st.error(f"{what} belongs to another student in this class: it is not shown here. Open your own work from "
             "this page's list (your teacher sees every student's).", icon=":material/lock:")


def frames(jid: str, kind: str | None = None) -> list[Any]:
    """Every frame of job `jid` so far (of `kind`), through the session's one frame cache."""
    from explorer.jobs.follow import FrameCache

    return st.session_state.setdefault(CACHE, FrameCache()).read(backend().store, jid, kind)


def metrics(runs: Sequence[Any], store: Any = None) -> dict[str, list[dict[str, Any]]]:
    """Every metric row so far of each run of `runs` (in `store`, default the backend's), by id, through the
    session's one metric cache: a live page's refresh reads only the rows stored since its last one."""
    from explorer.jobs.follow import MetricCache

    held = st.session_state.setdefault(METRICS, MetricCache())
    return held.read(backend().store if store is None else store, runs)


def cache() -> Any:
    """The session's frame cache (for library readers that take one, e.g. the Playground's timeline)."""
    from explorer.jobs.follow import FrameCache

    return st.session_state.setdefault(CACHE, FrameCache())


def _stamp_watched(store: Any, ids: Sequence[str]) -> None:
    """Tell the store this page shows `ids`, at most every WATCH_EVERY_S (one small write, not one per poll)."""
    last = st.session_state.setdefault(STAMPED, {})
    now = time.monotonic()
    due = [j for j in ids if now - last.get(j, -1e9) >= WATCH_EVERY_S]
    if due:
        store.watch(due)
        last.update(dict.fromkeys(due, now))


def _ended_unseen(seen: dict[str, bool], key: str, running: bool) -> bool:
    """Whether the jobs under `key` ended since this session last looked, unseen by the page.

    A page reads a job's status, draws it ("training…", a Pause button), then follows it. When the job ends
    between that read and `follow`'s own, no timer starts (nothing runs) and the page would keep saying
    "running" until the user clicks: a wrong page with no error. So `follow` remembers, per session and
    followed ids, whether its last look found them live; a page run that finds them ended after a live look is
    rerun once, and the rerun draws them ended.

    >>> seen = {}
    >>> _ended_unseen(seen, "j", True), _ended_unseen(seen, "j", False), _ended_unseen(seen, "j", False)
    (False, True, False)
    """
    was = seen.get(key, False)
    seen[key] = running
    return was and not running


def follow(ids: Sequence[str], *, draw: Callable[[], None] | None = None, label: str | None = None,
           hold_s: float = 0.0, rerun_after_s: float | None = None, watched: bool = False) -> None:
    """Keep the page live while any job of `ids` runs (the one refresh policy: every `refresh_s()`).

    - `draw`: redrawn in a fragment every `refresh_s()` while a job runs, and once more with the page when all end;
    - otherwise a small fragment (with a progress line per job when `label` is given) reruns the page when the
      jobs' signature changes — at most every `hold_s` seconds after the page's own run — and when they end;
    - `rerun_after_s`: rerun the page after that long even without news (an animation's next frame);
    - `watched`: say so to the store while the page shows the jobs (an interactive job pauses once nobody does)."""
    from explorer.jobs.follow import live, signature

    be = backend()
    store = be.store
    ids = list(ids)
    sig = signature(store, ids)
    running = live(sig)
    seen = st.session_state.setdefault(SEEN_LIVE, {})
    key = "\x1f".join(ids)
    if _ended_unseen(seen, key, running):
        st.rerun()  # they ended while this run drew them: what it drew above may still say "running"
    every = None
    if running:
        _following()
        every = st.session_state[EVERY] = refresh_s()
    if watched and running:
        _stamp_watched(store, ids)
    if draw is not None:
        @st.fragment(run_every=every)
        def redraw() -> None:
            if running:
                _following()
            be.poll()
            draw()
            if running and not live(signature(store, ids)):
                seen[key] = False
                st.rerun()  # all ended: redraw once with the page, without the timer
        redraw()
        return
    if not running and rerun_after_s is None:
        return
    t0 = time.monotonic()

    @st.fragment(run_every=every or refresh_s())
    def watch() -> None:
        if running:
            _following()
        be.poll()
        if watched:
            _stamp_watched(store, ids)
        now_sig = signature(store, ids)
        if label is not None:
            for j in [store.get_job(j) for j in ids if store.status(j) in ("queued", "running")]:
                where = queue_place(j.id) if j.status == "queued" else (j.note or j.status)
                st.progress(min(1.0, j.progress), text=f"{label}: {where}")
        waited = time.monotonic() - t0
        ended = running and not live(now_sig)
        if ended:
            seen[key] = False  # the rerun below draws them ended: no second rerun for it
        if ended or (now_sig != sig and waited >= hold_s) or (rerun_after_s is not None and waited >= rerun_after_s):
            st.rerun()

    watch()
