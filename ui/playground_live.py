"""The Playground's run: play / pause / step / reset, the live panels of the newest frame (or the
frame picked for replay), pruning by a click on a unit or its boundary, spline pruning, export.

The run is the `playground` job of the page's settings; a prune makes the current run a child
that continues from the shown frame (`explorer.playground.control`). The job runs on the chosen
backend; this module only submits, follows (`ui.jobs.follow`) and draws.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import streamlit as st

from explorer.playground.config import PlaygroundConfig
from explorer.playground.control import child, pause, play, run_id, step
from explorer.playground.timeline import timeline
from ui.jobs import cache, follow
from ui.playground import P
from ui.playground_panels import curves, data_points, metrics_row, network_fig, regions_fig

RUN, SHOW, REPLAY, PENDING = (P + k for k in ("run", "show", "replay", "pending"))
NEW_FRAME_S = 1.0  # the page moves to a newer frame at most this often
# Streamlit names a chart after its figure, so every new frame is a new chart, and a click that lands while a
# rerun replaces it is lost. The panels are drawn by the page's own run, held for NEW_FRAME_S between frames,
# and `_on_click` (an on_select callback, called for the chart clicked even if this run draws a newer one)
# keeps what was clicked.


def current(base: PlaygroundConfig) -> PlaygroundConfig:
    """The run shown: the settings' own run, or the child a prune made of it."""
    ss = st.session_state
    bid = run_id(base)
    if ss.get(RUN, {}).get("base") != bid:
        ss[RUN] = {"base": bid, "cfg": base.to_dict()}
        ss[REPLAY] = False
        ss.pop(SHOW, None)
    return PlaygroundConfig.from_dict(ss[RUN]["cfg"])


def ensure_run(be: Any, cfg: PlaygroundConfig) -> str:
    """The run's job id; a new run is submitted paused at its first frame (a preview of the init)."""
    jid = run_id(cfg)
    if be.store.status(jid) is None:
        play(be, cfg, until_step=cfg.parent_step)
    return jid


def controls(be: Any, cfg: PlaygroundConfig, jid: str) -> None:
    status = be.store.status(jid)
    running = status in ("queued", "running")
    c = st.columns([1.1, 1, 1, 1.3, 4.6])
    if running:
        if c[0].button("Pause", key=P + "pause", icon=":material/pause:",
                       help="stop training; Play resumes where it stopped"):
            pause(be, jid)
            st.rerun()
    elif c[0].button("Play", key=P + "play", icon=":material/play_arrow:", type="primary", disabled=status == "done",
                     help="train in the background worker; frames appear live"):
        play(be, cfg, None)
        st.session_state[REPLAY] = False
        st.session_state.pop(SHOW, None)
        st.rerun()
    if c[1].button("Step", key=P + "step", icon=":material/skip_next:", disabled=status == "done",
                   help="train one frame further, then pause"):
        frames = timeline(be.store, jid, cache())
        step(be, cfg, frames[-1]["step"] if frames else cfg.parent_step)
        st.session_state.pop(SHOW, None)
        st.rerun()
    if c[2].button("Reset", key=P + "reset", icon=":material/restart_alt:",
                   help="a fresh run of these settings from its initialisation"):
        if running:
            pause(be, jid)
        st.session_state[P + "trial"] = int(st.session_state.get(P + "trial", 0)) + 1
        st.session_state.pop(RUN, None)
        st.rerun()
    if cfg.pruned and c[3].button("Unprune", key=P + "restore", icon=":material/undo:",
                                  help="back to the run without any prune"):
        if running:
            pause(be, jid)
        st.session_state.pop(RUN, None)
        st.rerun()
    note = {"queued": "queued for the worker…", "running": "training…", "cancelled": "paused", "done": "finished",
            "failed": "failed"}.get(status or "", "")
    if status == "cancelled":
        frames = timeline(be.store, jid, cache())
        note = f"paused at step {frames[-1]['step']}" if frames else note
    pr = f" · pruned: {', '.join(cfg.pruned)}" if cfg.pruned else ""
    c[4].markdown(f"run `{jid}` — **{note}**{pr}")


def _picked(frames: list[dict[str, Any]], live: bool) -> dict[str, Any]:
    ss = st.session_state
    steps = [f["step"] for f in frames]
    if live or SHOW not in ss or ss[SHOW] not in steps:
        return frames[-1]
    return frames[steps.index(ss[SHOW])]


def _on_click(key: str) -> None:
    """on_select callback: remember the ids the click picked (read in the run it starts)."""
    st.session_state.setdefault(PENDING, []).extend(_clicked(st.session_state.get(key)))


def prune(be: Any, cfg: PlaygroundConfig, jid: str, frame: dict[str, Any], ids: list[str]) -> None:
    """Remove hidden units / arcs `ids` from the run at `frame`: its child continues from there."""
    from explorer.playground.snapshot import check_prune, snapshot

    keep = [i for i in ids if not i.startswith(("x[", "out[")) or "->" in i]
    if not keep:
        st.info("Inputs and outputs stay: click a hidden unit, its boundary, or an arc.")
        return
    new = [i for i in keep if i not in cfg.pruned]
    if not new:
        return
    v = check_prune(snapshot(cfg, frame), new)
    if not v.ok:
        st.error("Cannot prune " + ", ".join(new) + ": " + "; ".join(v.reasons))
        return
    running = be.store.status(jid) in ("queued", "running")
    kid = child(cfg, jid, frame["step"], new)
    if running:
        pause(be, jid)
    play(be, kid, None if running else frame["step"])
    st.session_state[RUN]["cfg"] = kid.to_dict()
    st.session_state.pop(SHOW, None)
    st.rerun()


def _clicked(event: Any) -> list[str]:
    from explorer.figures.events import event_points

    out = []
    for p in event_points(event):
        cd = p.get("customdata") if hasattr(p, "get") else None
        cd = cd[0] if isinstance(cd, (list, tuple)) and cd else cd
        if isinstance(cd, str):
            out.append(cd)
    return out


def live_view(be: Any, cfg: PlaygroundConfig, jid: str, view: dict[str, bool]) -> None:
    """The panels of the shown frame, drawn in the page's own run (not a timed fragment: a chart redrawn every
    half second loses its clicks); `_ticker` follows the run and reruns the page when a new frame is due."""
    ss = st.session_state
    status = be.store.status(jid)
    running = status in ("queued", "running")
    frames = timeline(be.store, jid, cache())
    if not frames:
        if status == "failed":
            st.error(f"The run failed: {be.store.get_job(jid).error}")
        else:
            st.info("Waiting for the worker to draw the first frame…")
        _ticker(jid)
        return
    if cfg.pruned and sorted(frames[-1].get("pruned") or []) != sorted(cfg.pruned):
        # the prune's run has not drawn its first frame yet: the newest frame is the unpruned network's
        st.info(f"Pruned {', '.join(cfg.pruned)}: the worker is computing the pruned network's first frame — its "
                "losses and regions show here in a moment.", icon=":material/hourglass_top:")
        _ticker(jid)
        return
    if ss.get(REPLAY) and not running:
        steps = [f["step"] for f in frames]
        i = steps.index(ss[SHOW]) + 1 if ss.get(SHOW) in steps else 0
        ss[REPLAY] = i < len(steps) - 1
        ss[SHOW] = steps[min(i, len(steps) - 1)]
    frame = _picked(frames, running)
    cj = json.dumps(cfg.to_dict(), sort_keys=True)
    metrics_row(frame, frames[0], cfg)
    n = len(frame.get("pruned") or [])
    left, right = st.columns([1.15, 1])
    with left:
        k1 = f"{P}net.{jid}.{n}"
        st.plotly_chart(network_fig(cj, jid, frame["step"], frame), key=k1, on_select=partial(_on_click, k1),
                        selection_mode="points", config={"displaylogo": False})
    with right:
        k2 = f"{P}regions.{jid}.{n}"
        st.plotly_chart(regions_fig(cj, jid, frame["step"], view["show_test"], view["discretize"], frame),
                        key=k2, on_select=partial(_on_click, k2), selection_mode="points",
                        config={"displaylogo": False})
        st.caption("Click a unit (left) or a dot on its boundary (right) to prune it; orange ○ class 0, blue ○ "
                   "class 1; black: the decision boundary, grey: every unit's boundary.")
    ids = ss.pop(PENDING, [])
    if ids:
        prune(be, cfg, jid, frame, ids)
    c1, c2 = st.columns([2.2, 1])
    with c1:
        curves(frames, cfg, jid, key=f"{P}curves")
    with c2:
        tools(be, cfg, jid, frames, frame, running)
    if running or ss.get(REPLAY):
        _ticker(jid)


def _ticker(jid: str) -> None:
    """Follow the run: rerun the page when it has news (a new frame) at most every NEW_FRAME_S, or when it ends;
    during a replay, move on to the next frame every 0.6 NEW_FRAME_S."""
    if st.session_state.get(REPLAY):
        follow([], rerun_after_s=NEW_FRAME_S * 0.6)
    else:
        follow([jid], hold_s=NEW_FRAME_S, watched=True)  # a closed tab's run pauses itself


def tools(be: Any, cfg: PlaygroundConfig, jid: str, frames: list[dict[str, Any]], frame: dict[str, Any],
          running: bool) -> None:
    from explorer.playground.snapshot import snapshot, spline_candidates

    st.markdown("**Spline pruning**")
    t = st.slider("|cos| of coinciding boundaries", 0.80, 1.0, 0.98, 0.005, key=P + "spline_t",
                  help="prune the weaker of two units of a layer whose normalised (w, b) hyperplanes have |cosine| "
                       "at least this (You, Balestriero et al. 2022)")
    if st.button("Spline-prune redundant units", key=P + "spline"):
        cand = spline_candidates(snapshot(cfg, frame), t)
        if not cand:
            st.info(f"No two units of a layer have boundaries with |cos| ≥ {t:g} at step {frame['step']}.")
        else:
            prune(be, cfg, jid, frame, [u for u, _ in cand])
    if not running and len(frames) > 1:
        st.markdown("**Replay**")
        steps = [f["step"] for f in frames]
        st.session_state.setdefault(SHOW, frame["step"])
        st.select_slider("Frame (step)", steps, key=SHOW)
        if st.button("Replay from the start", key=P + "replay_go", icon=":material/replay:"):
            st.session_state[REPLAY] = True
            st.session_state[SHOW] = steps[0]
            st.rerun()
    from explorer.figures.animation import animation_html

    pts = data_points(json.dumps(cfg.to_dict(), sort_keys=True))
    st.download_button("Animation HTML", lambda: animation_html(frames, cfg.n_classes, data=pts, title="Playground"),
                       f"playground-{jid}.html", "text/html", on_click="ignore", key=P + "export",
                       help="a standalone page (plotly.js in-line) replaying the exact regions frame by frame")
