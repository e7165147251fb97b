"""Numbers that match the figure (issue 17), through AppTest: the block view counts the skip arcs it
draws orange; "cached" is said only when the graph and layout came from a cache, with the real time
otherwise; a refused selection zeroes nothing anywhere on the Prune page; the Prune graph opens in a
drag mode in which a click selects (Streamlit turns click-select off in the box and lasso modes)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300


def _page(file: str, **query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / file), default_timeout=TIMEOUT)
    for k, v in {"v": "1", **query}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _figure(at: AppTest, has_trace: str) -> dict:
    return next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if any(t.get("name") == has_trace for t in json.loads(c.proto.spec)["data"]))


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _pen_lifts(xs) -> int:
    """Segments in a line trace: NaN/None after each (plotly.py may send the numbers base64-encoded)."""
    import base64

    import numpy as np

    if isinstance(xs, dict):  # {"dtype": "f4", "bdata": ...}
        xs = np.frombuffer(base64.b64decode(xs["bdata"]), dtype=np.dtype(xs["dtype"]))
    return int(sum(1 for v in xs if v is None or v != v))


def test_the_block_view_counts_the_skip_arcs_it_draws():
    """densenet_tiny's block view: no block arc spans two levels, yet three carry a dense block's
    concatenation shortcut and are drawn orange; the metric counts what is drawn."""
    at = _page("pages/1_Architecture.py", model="densenet_tiny", g="block")
    fig = _figure(at, "nodes")
    orange = next(t for t in fig["data"] if t["name"] == "skip arcs")
    drawn = _pen_lifts(orange["x"])
    assert drawn == 3 and _metric(at, "skip arcs") == str(drawn)
    # and where skip arcs span levels, each is drawn once (resnet_tiny's shortcuts carry op skips too)
    at = _page("pages/1_Architecture.py", model="resnet_tiny", g="block")
    orange = next(t for t in _figure(at, "nodes")["data"] if t["name"] == "skip arcs")
    assert _metric(at, "skip arcs") == str(_pen_lifts(orange["x"])) == "2"


def test_cached_is_said_only_when_it_was():
    import streamlit as st

    from ui import cache

    st.cache_resource.clear()
    cache._TIMED.clear()
    first = _page("pages/1_Architecture.py", model="inception_tiny", g="op")
    line = next(c.value for c in first.caption if c.value.startswith("inception_tiny (op) —"))
    assert "cache" not in line and "ready in" in line, line
    again = _page("pages/1_Architecture.py", model="inception_tiny", g="op")  # a second visitor
    line = next(c.value for c in again.caption if c.value.startswith("inception_tiny (op) —"))
    assert "graph, levels and layout from this server's cache" in line, line


def test_a_refused_selection_zeroes_nothing_anywhere(tmp_path):
    os.environ["EXPLORER_DATA_DIR"] = str(tmp_path)
    at = _page("pages/3_Prune.py", model="resnet_tiny", g="op")
    at.multiselect(key="prune.ids").set_value(["block1_bn2->add", "stem_2->add"]).run()  # add loses both inputs
    assert not at.exception, [e.value for e in at.exception]
    assert "Refused" in at.error[0].value
    for label in ("nodes removed", "arcs removed", "params removed", "MACs removed", "disconnected"):
        assert _metric(at, label) == "0", label
    matrix = _figure(at, "zeroed")
    assert "nothing is zeroed" in matrix["layout"]["title"]["text"]
    zeroed = next(t for t in matrix["data"] if t["name"] == "zeroed")
    assert not zeroed.get("x"), "no entry outlined red"
    nodes = next(t for t in _figure(at, "nodes")["data"] if t["name"] == "nodes")
    opacity = nodes["marker"]["opacity"]
    if isinstance(opacity, dict):
        import base64

        import numpy as np

        opacity = np.frombuffer(base64.b64decode(opacity["bdata"]), dtype=np.dtype(opacity["dtype"]))
    assert min(opacity) == 1.0, "no node dimmed as if removed"
    assert any(c.value.startswith("Selected: 2 arcs (block1 bn2 → add, stem 2 → add)") for c in at.caption)
    # the same page with a valid selection does zero entries, and says how many
    at.multiselect(key="prune.ids").set_value(["block1_bn2->add"]).run()
    assert not at.error
    assert "1 entry zeroed by the selection" in _figure(at, "zeroed")["layout"]["title"]["text"]


def test_the_prune_graph_opens_where_a_click_selects():
    at = _page("pages/3_Prune.py", model="resnet_tiny", g="op")
    fig = _figure(at, "nodes")
    assert fig["layout"]["dragmode"] == "zoom" and fig["layout"]["clickmode"] == "event+select"
    chart = next(c for c in at.get("plotly_chart") if '"nodes"' in c.proto.spec)
    modes = set(chart.proto.selection_mode)
    assert len(modes) == 3  # points, box and lasso
