"""The Lottery page's live views: a job's status, the runs training now, and every chart and
table of its document so far (`explorer.lottery.snapshot`), each chart with a one-sentence
caption and its HTML, each table as CSV and the document as JSON."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

MAX_LIVE_RUNS = 12  # curves drawn for the runs training now (seed 0 first when there are more)


def chart(fig: Any, key: str, caption: str) -> None:
    """A plotly chart, what to look at in it, and its standalone HTML."""
    st.plotly_chart(fig, key=key, config={"displaylogo": False})
    c1, c2 = st.columns([5, 1])
    c1.caption(caption)
    c2.download_button("Chart HTML", lambda: fig.to_html(include_plotlyjs=True, full_html=True), f"{key}.html",
                       "text/html", on_click="ignore", key=f"dl.{key}")


def table(records: list[dict[str, Any]], key: str, name: str) -> None:
    import pandas as pd

    from explorer.lottery.report import to_csv

    if not records:
        return
    st.dataframe(pd.DataFrame(records), hide_index=True, width="stretch", key=f"{key}.df")
    st.download_button(f"{name} CSV", to_csv(records), f"{key}.csv", "text/csv", on_click="ignore", key=f"dl.{key}.csv")


def document_download(doc: dict[str, Any], key: str) -> None:
    st.download_button("Document JSON", json.dumps(doc, indent=1), f"{key}.json", "application/json",
                       on_click="ignore", key=f"dl.{key}.json")


def status(be: Any, job: Any) -> None:
    """Progress, note and Cancel of a job."""
    c1, c2 = st.columns([6, 1])
    eta = f" · ETA {job.eta_s:.0f} s" if job.eta_s else ""
    c1.progress(min(1.0, job.progress), text=f"{job.status} · {job.note or ''}{eta}")
    if job.error:
        st.error(f"The experiment failed: {job.error.splitlines()[0]}")
    if not job.done and c2.button("Cancel", key=f"lottery.cancel.{job.id}", help="stop the experiment after this step"):
        be.cancel(job.id)  # its runs (child jobs) see it at their next stop check and end "cancelled"
        st.rerun(scope="fragment")


def live_curves(store: Any, snap: Any) -> None:
    """Learning curves of the runs training now (the current round)."""
    from explorer.figures.curves import curves_figure
    from ui.jobs import metrics as metric_rows

    runs = []
    for rid in snap.current:
        try:
            runs.append(store.get(rid))
        except ValueError:
            continue  # not in the store yet: the job is about to claim it
    if len(runs) > MAX_LIVE_RUNS:
        runs = [r for r in runs if r.config.seed == 0][:MAX_LIVE_RUNS]
    metrics = metric_rows(runs, store)
    st.markdown(f"**Now training:** {snap.current_label or '—'}")
    chart(curves_figure(runs, metrics), "lottery.live", "Train (solid) and test (dotted) accuracy of the runs of the "
          "current round: the ticket (red) should keep up with the dense run while the controls fall behind.")


def lottery_charts(doc: dict[str, Any], sweep: bool) -> None:
    """Accuracy and iterations vs sparsity, the IMP flow, and the rounds table."""
    from explorer.figures.lottery_plots import accuracy_figure, flow_figure, iterations_figure
    from explorer.lottery.flow import flow
    from explorer.lottery.report import per_run_table, rounds_table

    metric = st.radio("Accuracy", ["test_acc", "best_test_acc", "best_train_acc"], horizontal=True,
                      format_func={"test_acc": "final test", "best_test_acc": "best test",
                                   "best_train_acc": "best train"}.get, key="lottery.metric")
    chart(accuracy_figure(doc, metric), "lottery.accuracy", "Accuracy against the weights left (log scale, as in the "
          "LTH paper), mean ± std over seeds: a winning ticket stays at or above the dense band (blue) far longer "
          "than the reinit and random-mask controls.")
    chart(iterations_figure(doc), "lottery.iterations", "Iterations to reach the target fraction of the dense run's best "
          "train accuracy: the weak-LTH claim holds where the ticket's line lies at or below the dense band.")
    if not sweep:
        chart(flow_figure(flow(doc)), "lottery.flow", "The IMP flow: each layer's kept fraction round by round "
              "(top); the lower curves fall towards 0 when the per-layer profile reaches a fixed shape.")
    table(rounds_table(doc), "lottery.rounds", "Rounds table")
    c1, c2 = st.columns(2)
    with c1:
        table(per_run_table(doc), "lottery.runs", "Per-run table")
    with c2:
        document_download(doc, "lottery.doc")


def stability_charts(doc: dict[str, Any]) -> None:
    from explorer.figures.lottery_plots import stability_figure

    if doc.get("barrier") is not None:
        st.metric("error barrier (test error, points)", f"{100 * doc['barrier']:.2f}")
    chart(stability_figure(doc), "lottery.stability", "Test error along the straight line between the two copies: a "
          "flat line (barrier near 0) means both data orders led to the same linearly connected minimum.")
    table([{"seed": p["seed"], "barrier (points)": round(100 * p["barrier"], 3)} for p in doc.get("per_seed", [])],
          "lottery.barriers", "Barriers")
    document_download(doc, "lottery.stability.doc")


def transfer_charts(doc: dict[str, Any]) -> None:
    from explorer.lottery.report import transfer_table

    if doc.get("rows"):
        st.markdown(f"Tickets at {100 * doc['sparsity']:.0f}% sparsity found on **{doc['source']}**, trained on "
                    f"**{doc['target']}**.")
    table(transfer_table(doc), "lottery.transfer", "Transfer table")
    st.caption("A universal ticket trains on task B about as well as B's own ticket and clearly better than a random "
               "mask of the same per-layer sparsity.")
    document_download(doc, "lottery.transfer.doc")


def earlybird_charts(snap: Any, cfg: dict[str, Any]) -> None:
    from explorer.figures.lottery_plots import earlybird_figure
    from explorer.lottery.report import earlybird_table

    m, steps = snap.eb_matrix()
    spline, spline_draw = snap.eb_spline()
    draw = snap.eb_draw(cfg.get("ratio", 0.5))
    c1, c2, c3 = st.columns(3)
    c1.metric("early-bird draw", f"step {draw}" if draw is not None else "not yet")
    c2.metric("spline draw", f"step {spline_draw}" if spline_draw is not None else "not yet")
    if snap.doc.get("compute_fraction") is not None:
        c3.metric("compute fraction", f"{snap.doc['compute_fraction']:.2f}")
    chart(earlybird_figure(m, steps, draw, spline, spline_draw, int(cfg.get("window", 5))), "lottery.earlybird", "Distances between the pruning "
          "masks of every pair of evaluations (left, dark = similar): the mask settles early, and the ticket is drawn "
          "(red) when the newest mask agrees with the last ones; right: the activation-code distance.")
    table(earlybird_table(snap.doc), "lottery.eb", "Early-bird table")
    document_download(snap.doc, "lottery.earlybird.doc")
