"""Train & Compare: submit runs to the worker and watch dense vs ticket vs controls live (docs/science.md §4).

The page only submits, follows and draws (`ui.jobs`); training happens on the backend chosen in the
sidebar (the worker process, `explorer.jobs.worker`, started when runs are queued, or Ray).
"""

from __future__ import annotations

from ui.nav import through_navigation

through_navigation(__file__)

import streamlit as st

from ui import examples
from ui.errors import guard, show_error
from ui.grid_panel import grid_panel
from explorer.links.pages import PAGES
from ui.classroom import classroom, look
from ui.links import Setting, linked
from explorer.lottery.rounds import comparison_runs, dense_group
from ui.jobs import backend, follow, live_every, queue_places
from ui.jobs import metrics as metric_rows
from ui.train_forms import (GROUP_KEY, choose_group, damaged_store_way_out, new_runs_panel, refused_group,
                            retrain_panel, started_note)


def _fmt_eta(s: float | None) -> str:
    if s is None:
        return ""
    return f"ETA {s:.0f} s" if s < 120 else f"ETA {s / 60:.1f} min"


def group_eta(runs) -> float | None:
    """Seconds until the whole group ends: its remaining steps over the steps per second its running
    runs make together (a batched job's runs advance together; queued ones wait their turn)."""
    import time

    running = [r for r in runs if r.status == "running" and r.started and r.step > 0]
    if not running:
        return None
    now = time.time()
    rate = sum(r.step / max(1e-6, (r.heartbeat or now) - r.started) for r in running)
    left = sum(max(0, r.config.steps - r.step) for r in runs if not r.done)
    return left / rate if rate > 0 else None


def runs_block(runs) -> None:
    from explorer.training.interleave import PAUSED

    eta = group_eta(runs)
    if any(r.status == "running" and r.note == PAUSED for r in runs):  # its rate says nothing of the pause
        st.caption("The whole group: paused now, for a classmate's comparison (beside its runs).")
    elif eta is not None:
        st.caption(f"The whole group: about {_fmt_eta(eta).removeprefix('ETA ')} left.")
    where = queue_places([r.id for r in runs if r.status == "queued"])
    for r in runs:
        c1, c2, c3, c4 = st.columns([3, 4, 2, 1.5])
        c1.markdown(f"**{r.label}** `{r.id}`  \n{r.config.model} · {r.config.dataset} · {r.device or r.config.device}")
        c2.progress(min(1.0, r.progress), text=f"{r.status} · step {r.step}/{r.config.steps} {_fmt_eta(r.eta_s)}")
        if r.error:
            c3.caption(r.error.splitlines()[0][:160])
        elif r.status == "queued":
            c3.caption(where[r.id])
        elif r.status == "running" and r.note:
            c3.caption(r.note)  # e.g. paused for a classmate's comparison (`training.interleave`), a retry
        if not r.done and c4.button("Cancel", key=f"cancel.{r.id}", help="stop this run"):
            backend().cancel(r.id)
            st.rerun(scope="fragment")


FIGURE = "train.curves.memo"  # this session's last curves figure and what it was drawn from


def _curves(runs, metrics, y: str, target: float | None, per_seed: bool):
    """`curves_figure`, drawn again only when a run's status or number of metric rows changed: a queued
    group's live refresh (every few seconds, for every student of a class) reuses its last figure. Kept in
    the session's own state, so no other session ever reads it."""
    from explorer.figures.curves import curves_figure

    key = (tuple((r.id, r.status, len(metrics[r.id])) for r in runs), y, target, per_seed)
    held = st.session_state.get(FIGURE)
    if held is not None and held[0] == key:
        return held[1]
    fig = curves_figure(runs, metrics, y=y, target=target, per_seed=per_seed)
    st.session_state[FIGURE] = (key, fig)
    return fig


def compare_block(runs, metrics) -> None:
    import pandas as pd

    from explorer.lottery.verdict import compare, facts
    from explorer.training.exports import configs_json, metrics_csv, metrics_json

    c1, c2 = st.columns([1, 3])
    frac = c1.slider("Target (fraction of dense best train acc)", 0.5, 1.0, 0.99, 0.01, key="train.target",
                     help="iterations to target = first step whose train accuracy reaches this fraction of the "
                          "dense run's best (per seed)")
    c2a, c2b = c2.columns([2, 1])
    y = c2a.radio("Curves", ["acc", "loss"], horizontal=True, key="train.y",
                  format_func=lambda v: {"acc": "accuracy", "loss": "loss"}[v])
    per_seed = c2b.toggle("Each seed's curve", key="train.per_seed", help="thin lines per run under each role's "
                          "mean ± standard deviation band")
    cmp = compare([facts(r, metrics[r.id]) for r in runs], frac)
    targets = list(cmp.targets.values())
    target = sum(targets) / len(targets) if targets and y == "acc" else None
    fig = _curves(runs, metrics, y, target, per_seed)
    st.plotly_chart(fig, key="train.curves", config={"displaylogo": False})
    st.caption("Each role's line is the mean over its seeds, the band ± one standard deviation; solid = train, "
               "dotted = test. The dashed line is the target the iterations are counted to.")
    st.markdown(f"**Verdict.** {cmp.verdict}")
    if cmp.rows:
        st.dataframe(pd.DataFrame(cmp.records()), hide_index=True, width="stretch", key="train.table")
    d1, d2, d3, d4 = st.columns(4)
    d1.download_button("Metrics CSV", lambda: metrics_csv(runs, metrics), "metrics.csv", "text/csv",
                       on_click="ignore", key="dl.csv")
    d2.download_button("Metrics JSON", lambda: metrics_json(runs, metrics), "metrics.json", "application/json",
                       on_click="ignore", key="dl.json")
    d3.download_button("Run configs JSON", lambda: configs_json(runs), "runs.json", "application/json",
                       on_click="ignore", key="dl.cfg")
    d4.download_button("Chart HTML", lambda: fig.to_html(include_plotlyjs=True, full_html=True), "curves.html",
                       "text/html", on_click="ignore", key="dl.html")


LINK = (Setting(PAGES["Train"]["group"], GROUP_KEY),)  # the link schema (explorer.links.pages)


def main() -> None:
    st.title("Train & Compare")
    st.caption("Runs execute in a background worker (niced, one thread); this page submits, polls and draws. "
               "Runs and metrics live in the run store and survive reloads and restarts.")
    try:
        be = backend()
    except Exception as e:  # noqa: BLE001 — e.g. an unwritable EXPLORER_DATA_DIR or a damaged store
        show_error(e, "opening the run store")
        damaged_store_way_out(e)
        return
    look("the curves: does the ticket (pruned, original init) reach the dashed target as early as the dense net?")
    retrain_panel()
    if not classroom():  # the grid of configurations is for desks, not the projector
        grid_panel()
    new_runs_panel()

    be.poll()
    if examples.is_shipped_group(st.session_state.get(GROUP_KEY)):  # a lesson's link to a shipped result
        with guard("installing the shipped example results"):
            examples.ensure(be.store)
    roles = be.store.group_roles()
    groups = list(roles)
    if not groups:
        refused_group()
        from explorer.figures.curves import curves_figure

        st.info("No runs yet: configure one above, or come from the Prune page with a pruned network.")
        st.plotly_chart(curves_figure([], {}), key="train.curves.empty", config={"displaylogo": False})
        return
    group = choose_group(roles)
    if examples.is_shipped_group(group):
        examples.banner("Your own runs (Prune's *Retrain*, the Lottery page's *Start*) show up as groups of their own.")

    def live_view() -> None:
        with guard("reading runs"):
            runs = comparison_runs(be.store, group)
            metrics = metric_rows(runs)
            n_live = sum(not r.done for r in runs)
            st.caption(f"{len(runs)} run(s), {n_live} queued or running" +
                       (f" — refreshing every {live_every():g} s" if n_live else " — all finished"))
            if dense_group(group) and not any(r.group == group and r.config.init == "dense" for r in runs):
                st.caption(f"A lottery round trains tickets and controls only: its dense runs are round 0's "
                           f"(group {dense_group(group)}), shown here as its reference.")
            started_note(group)
            runs_block(runs)
            compare_block(runs, metrics)

    follow([r.id for r in comparison_runs(be.store, group)], draw=live_view)


with guard(), linked("train", LINK, presets="Train"):
    main()
