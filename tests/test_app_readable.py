"""AppTest flows of the readable figures: the labelled level window of Decomposition at op
level, the node inspector of Architecture, the zero-output note."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from explorer.figures import palette

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_decomposition_op_level_opens_on_a_labelled_window():
    at = AppTest.from_file(str(ROOT / "pages/2_Decomposition.py"), default_timeout=TIMEOUT).run()
    at.sidebar.radio(key="dec.granularity").set_value("op").run()  # resnet_tiny, 24 op nodes
    _ok(at)
    assert at.radio(key="dec.view").value == "window of levels"
    T = next(f for f in _figures(at) if f["layout"]["title"]["text"].startswith("T_1 — window"))
    heat = T["data"][0]
    cells = [str(t) for row in heat["text"] for t in row if t]
    assert any("conv 3×3" in t and "<br>" in t for t in cells), cells  # two-line operator label in its cell
    assert heat["texttemplate"] == "%{text}" and heat["textfont"]["size"] >= 10
    assert T["layout"]["xaxis"]["showticklabels"] and T["layout"]["yaxis"]["showticklabels"]
    assert all(palette.delta_e(c, palette.SELECT_COLOR) > 25 for _, c in heat["colorscale"])
    at.slider(key="dec.level").set_value(9).run()  # the first add: its identity input comes from far back
    _ok(at)
    T = next(f for f in _figures(at) if f["layout"]["title"]["text"].startswith("T_9 — window"))
    rows = T["data"][0]["y"]
    assert "add" in rows and "relu" in rows  # the add and the source of its skip arc (stem's relu output)


def _inspect(node: str, granularity: str = "op"):
    from explorer.graph import build_dag
    from ui import node_inspector

    dag = build_dag("resnet_tiny", granularity=granularity, depth=1 if granularity == "block" else None)
    node_inspector.show(dag, {"selection": {"points": [{"customdata": node}]}})


def test_node_inspector_lists_the_facts_of_a_clicked_node():
    at = AppTest.from_function(_inspect, args=("add",), default_timeout=TIMEOUT).run()
    _ok(at)
    text = " ".join(m.value for m in at.markdown)
    for field in ("op", "output shape", "params", "MACs", "level", "in arcs", "out arcs", "module"):
        assert f"**{field}**" in text, field
    assert at.button(key="arch.collapse")  # an op inside a module can be collapsed into its block


def test_node_inspector_expands_a_block_into_its_ops():
    at = AppTest.from_function(_inspect, args=("block1", "block"), default_timeout=TIMEOUT).run()
    _ok(at)
    assert "BasicBlock · 8×8×8" in " ".join(m.value for m in at.markdown)
    at.button(key="arch.expand").click().run()
    assert at.session_state["arch.granularity"] == "op" and at.session_state["arch.search"] == "block1"


def _zero(value):
    import numpy as np

    from explorer.graph.dag import Arc, Dag, Node
    from ui.lifting_view import zero_output_note

    dag = Dag.build([Node("x", "input"), Node("y", "linear")], [Arc("x", "y")], "op")
    zero_output_note(dag, "y", np.asarray(value, dtype=float))


def test_a_zero_output_is_explained():
    at = AppTest.from_function(_zero, args=([0.0, 0.0],), default_timeout=TIMEOUT).run()
    assert len(at.info) == 1 and "identically zero" in at.info[0].value and "zero-initialises" in at.info[0].value
    at = AppTest.from_function(_zero, args=([0.0, 1.0],), default_timeout=TIMEOUT).run()
    assert not at.info


def _badge(v):
    from ui.lifting_view import verification_badge

    verification_badge(v)


def test_the_verification_badge_says_when_the_check_is_hollow():
    base = {"forward_error": 0.0, "jacobian_error": None, "tol": 1e-3, "ok": True, "dtype": "float32"}
    at = AppTest.from_function(_badge, args=({**base, "trivial": True},), default_timeout=TIMEOUT).run()
    assert not at.success and len(at.warning) == 1
    assert "Not a real check" in at.warning[0].value and "float32" in at.warning[0].value
    at = AppTest.from_function(_badge, args=({**base, "trivial": False},), default_timeout=TIMEOUT).run()
    assert at.success[0].value.startswith("✓ verified") and not at.warning
    at = AppTest.from_function(_badge, args=({**base, "ok": False, "forward_error": 0.5},), default_timeout=TIMEOUT).run()
    assert at.error[0].value.startswith("✗") and not at.success
