"""The Architecture page's overlay choice (AppTest): one click colours the nodes by another metric, with a
colour bar in its unit; the choice travels in the page's link."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from explorer.links.pages import PAGES

ROOT = Path(__file__).resolve().parents[1]


def _node_trace(at: AppTest) -> dict:
    import json

    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    return next(t for t in fig["data"] if t.get("name") == "nodes")


def test_the_overlay_choice_recolours_the_nodes_with_a_unit():
    at = AppTest.from_file(str(ROOT / "pages/1_Architecture.py"), default_timeout=240).run()
    assert not at.exception and not at.error
    assert at.session_state["arch.metric"] == "level"
    assert _node_trace(at)["marker"]["colorbar"]["title"]["text"] == "level"
    for name, title in (("params", "params (parameters), log scale"), ("latency", "latency (µs), log scale"),
                        ("synflow", "synflow (score)")):
        at.session_state["arch.metric"] = name
        at.run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        nodes = _node_trace(at)
        assert nodes["marker"]["colorbar"]["title"]["text"] == title
        assert any(name in c.value.lower() or name.replace("synflow", "SynFlow") in c.value for c in at.caption)
    assert PAGES["Architecture"].query(metric="synflow")["metric"] == "synflow"


def test_a_metric_that_does_not_apply_falls_back_to_level():
    at = AppTest.from_file(str(ROOT / "pages/1_Architecture.py"), default_timeout=240)
    at.session_state["arch.metric"] = "latency"  # timed per op: not at unit level
    at.run()
    assert at.session_state["arch.metric"] == "latency"
    at.sidebar.radio(key="arch.granularity").set_value("unit").run()
    assert not at.exception and not at.error
    assert at.session_state["arch.metric"] == "level"
