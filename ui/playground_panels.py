"""The Playground's panels for one frame: the network (units as heatmaps), the exact regions, the
curves, the metrics; each figure cached per (run, step, display settings) so that polling a live
run redraws only when a new frame arrived."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from explorer.playground.config import PlaygroundConfig


def _cfg(cfg_json: str) -> PlaygroundConfig:
    return PlaygroundConfig.from_dict(json.loads(cfg_json))


@st.cache_data(max_entries=8, show_spinner=False)
def data_points(cfg_json: str) -> dict:
    from explorer.playground.data import make_data

    d = make_data(_cfg(cfg_json))
    return {"train": (d.x_train.numpy(), d.y_train.numpy()), "test": (d.x_test.numpy(), d.y_test.numpy()),
            "box": d.box}


@st.cache_data(max_entries=48, show_spinner=False)
def network_fig(cfg_json: str, jid: str, step: int, _frame: dict[str, Any]):
    from explorer.figures.playground_net import network_figure
    from explorer.playground.snapshot import feature_labels, maps, snapshot

    cfg = _cfg(cfg_json)
    s = snapshot(cfg, _frame)
    return network_figure(s.dag, maps(s), pruned=s.pruned, labels=feature_labels(cfg))


@st.cache_data(max_entries=48, show_spinner=False)
def regions_fig(cfg_json: str, jid: str, step: int, show_test: bool, discretize: bool, _frame: dict[str, Any]):
    from explorer.figures.regions_plot import regions_figure
    from explorer.regions.encoding import decode

    cfg = _cfg(cfg_json)
    pts = data_points(cfg_json)
    return regions_figure(decode(_frame["regions"]), cfg.n_classes, discretize=discretize, show_test=show_test,
                          data={"train": pts["train"], "test": pts["test"]}, height=500)


@st.cache_data(max_entries=16, show_spinner=False)
def _curves_fig(jid: str, n: int, last: int, eb_threshold: float, _frames: list[dict[str, Any]]):
    from explorer.figures.playground_curves import curves_figure

    return curves_figure(_frames, eb_threshold)


def curves(frames: list[dict[str, Any]], cfg: PlaygroundConfig, jid: str, key: str) -> None:
    fig = _curves_fig(jid, len(frames), frames[-1]["step"], cfg.eb_threshold, frames)
    st.plotly_chart(fig, key=key, config={"displaylogo": False})


def metrics_row(frame: dict[str, Any], first: dict[str, Any], cfg: PlaygroundConfig) -> None:
    row = st.container(horizontal=True)  # not st.columns: see ui.playground_live
    c = [row.container() for _ in range(6)]
    c[0].metric("Step", f"{frame['step']:,}", help=f"of {cfg.steps:,}")
    c[1].metric("Test loss", f"{frame['test_loss']:.3f}", help=f"test accuracy {frame['test_acc']:.1%}")
    c[2].metric("Training loss", f"{frame['train_loss']:.3f}", help=f"training accuracy {frame['train_acc']:.1%}")
    label = "Linear regions" if frame.get("exact", True) else "Sign patterns (grid)"
    c[3].metric(label, f"{frame['count']:,}", delta=frame["count"] - first["count"] if frame is not first else None,
                delta_color="off", help="exact count of the convex regions on which the network is affine"
                if frame.get("exact", True) else "a smooth network has no linear regions: distinct sign patterns of "
                "the units on the 100×100 grid (an approximation)")
    d = frame.get("distance")
    c[4].metric("Partition distance", "—" if d is None else f"{d:.3f}",
                help="normalised Hamming distance of the activation codes on a 100×100 probe grid to the frame one "
                     "epoch earlier")
    eb = frame.get("early_bird")
    c[5].metric("Early bird", "—" if eb is None else f"step {eb}",
                help=f"drawn when the last 3 partition distances are below {cfg.eb_threshold:g}")
