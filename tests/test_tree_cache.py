"""The Architecture page's cached drawings (issue 20, speed): the module tree's view, figure and SVG preview,
the overlay restyle and the level-width figure are kept per graph across sessions. Each cached figure must be
the one the library draws from scratch, a second session must get the same page as the first, and two sessions
on different models (or granularities) at once must each get their own figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.test_concurrency import at_once

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600


def _open(model: str, g: str, tree: bool = True, **extra) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "1_Architecture.py"), default_timeout=TIMEOUT)
    at.query_params.update({"v": "1", "model": model, "g": g, **({"tree": "1"} if tree else {}), **extra})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _spec(at: AppTest, k: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[k].proto.spec)


def _fresh_tree_figure(model: str, g: str) -> dict:
    """The module tree's first figure drawn by the library alone (no Streamlit cache)."""
    import plotly.io as pio

    from explorer.figures.tree_plot import tree_figure
    from explorer.graph import build_dag
    from explorer.graph.hierarchy import ModuleTree

    dag = build_dag(model, g)
    tree = ModuleTree(dag.meta["op_dag"] if dag.granularity == "block" else dag)
    return json.loads(pio.to_json(tree_figure(tree.view(tree.default_open())), validate=False))


def _preview_ids(at: AppTest) -> list[str]:
    """The node ids drawn in the SVG preview the page sent (a markdown image with a data URL)."""
    import base64
    import re

    from explorer.figures.preview import drawn_ids
    from ui.module_tree import PREVIEW_ALT

    for m in at.markdown:
        hit = re.search(r"!\[" + re.escape(PREVIEW_ALT) + r"\]\(data:image/svg\+xml;base64,([^)]+)\)", m.value)
        if hit:
            return drawn_ids(base64.b64decode(hit.group(1)).decode())
    return []


def _window_ids(fig: dict) -> list[str]:
    """The ids of the figure's markers within its x range, in the preview's drawing order."""
    lo, hi = fig["layout"]["xaxis"]["range"]
    return [c for t in fig["data"] if t["name"] in ("ops", "modules", "runs")
            for x, c in zip(t["x"], t["customdata"]) if lo <= x <= hi]


def test_the_cached_tree_is_the_library_s_and_a_second_session_gets_the_same_page():
    st.cache_resource.clear()
    first = _open("resnet_tiny", "op")
    second = _open("resnet_tiny", "op")  # every drawing from the cache the first session filled
    fresh = _fresh_tree_figure("resnet_tiny", "op")
    assert _spec(first) == fresh
    assert _spec(second) == fresh
    ids = _preview_ids(second)  # a new session paints the SVG preview of that same figure
    assert ids and ids == _window_ids(fresh)
    again = first.run()  # a rerun of a session that has drawn once sends no preview
    assert _spec(again) == fresh and not _preview_ids(again)


def test_two_sessions_on_different_graphs_at_once_each_get_their_own_tree():
    st.cache_resource.clear()
    links = [("resnet_tiny", "op"), ("densenet_tiny", "op"), ("resnet_tiny", "block"), ("densenet_tiny", "op")]
    pages = at_once([lambda link=link: _open(*link) for link in links])
    for (model, g), at in zip(links, pages):
        assert not isinstance(at, Exception), at
        assert _spec(at) == _fresh_tree_figure(model, g), (model, g)


@pytest.mark.parametrize("metric", ["params", "macs"])
def test_the_cached_overlay_figure_is_the_restyle_of_the_cached_figure(metric):
    import plotly.io as pio

    from explorer.figures.dag_plot import dag_figure
    from explorer.figures.layout import level_layout
    from explorer.figures.overlay_plot import with_overlay
    from explorer.graph import build_dag
    from explorer.overlays import overlay

    st.cache_resource.clear()
    at = _open("resnet_tiny", "op", tree=False)
    at.session_state["arch.metric"] = metric
    at.run()
    again = _open("resnet_tiny", "op", tree=False, metric=metric)  # another session: from the cache
    dag = build_dag("resnet_tiny", "op")
    direct = json.loads(pio.to_json(with_overlay(dag_figure(dag, layout=level_layout(dag)), dag, overlay(metric, dag)),
                                    validate=False))
    for page in (at, again):
        assert page.session_state["arch.metric"] == metric
        nodes = next(t for t in _spec(page)["data"] if t.get("name") == "nodes")
        want = next(t for t in direct["data"] if t.get("name") == "nodes")
        assert nodes["marker"] == want["marker"] and nodes["customdata"] == want["customdata"]
