"""AppTest flows of Home, Architecture and Decomposition (tiny models; heavy work cached)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer.models.key import ONNX_SPEC, ModelKey

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180


def _run(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _charts(at: AppTest) -> list:
    return list(at.get("plotly_chart"))


def tiny_onnx() -> bytes:
    """x (1, 4) -> MatMul -> Relu -> MatMul -> Add(skip from the first MatMul) -> y: depth 4 in ONNX nodes."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w1 = numpy_helper.from_array(np.ones((4, 3), dtype=np.float32), "w1")
    w2 = numpy_helper.from_array(np.ones((3, 3), dtype=np.float32), "w2")
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["a"], name="mm1"),
             helper.make_node("Relu", ["a"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w2"], ["b"], name="mm2"),
             helper.make_node("Add", ["b", "a"], ["y"], name="add")]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [w1, w2])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_home_draws_the_worked_example():
    """Home paints without plotly (its JavaScript costs a first visit about a second): the DAG, T_l
    and the product are SVG drawings, redrawn for the level chosen."""
    at = _run("app.py")
    _ok(at)
    assert not _charts(at)

    def svgs():
        from base64 import b64decode

        urls = [i.url for e in at.get("image") for i in e.proto.imgs]
        return [b64decode(u.split(",", 1)[1]).decode() for u in urls if u.startswith("data:image/svg+xml;base64,")]

    first = svgs()
    assert len(first) == 3 and 'id="node-h1"' in first[0] and 'id="band"' in first[1]  # DAG, T_l, product
    assert 'id="cell-h2-x2"' in first[1] and 'id="cell-y-g1"' not in first[1]  # T_1 holds level-1 rows only
    assert any("✓" in s.value for s in at.success)
    at.select_slider(key="home.level").set_value(3).run()
    _ok(at)
    third = svgs()
    assert len(third) == 3 and 'id="cell-y-g1"' in third[1] and 'id="cell-h2-x2"' not in third[1]


def test_home_example_lifting_equals_direct_evaluation():
    """Home's T_l are the library's lifting of a real module (explorer.lessons.worked): each is the identity
    but in the level-l rows, which hold exactly the weights of the arcs into level l; the composition
    equals the network evaluated node by node, and the module's own forward."""
    import torch

    from explorer.lessons import worked

    dag = worked.dag()
    ids = dag.order()
    assert ids == worked.NAMES and len(dag.arcs) == len(worked.ARCS) == 16
    for l in range(1, dag.depth + 1):
        T = worked.transition(l)
        assert (T.diagonal() == 1).all() and not np.triu(T, 1).any()  # unit lower-triangular
        want = np.eye(len(ids))
        for s, d, w in worked.ARCS:
            if dag.level[d] == l:
                want[ids.index(d), ids.index(s)] = w
        assert np.array_equal(T, want)  # only the level-l rows, holding the arc weights
    for x in ({"x1": 1.0, "x2": 2.0, "x3": -1.0}, {"x1": -3.0, "x2": 0.5, "x3": 2.0}):
        ref = worked.direct(x)
        assert worked.output(x) == pytest.approx(ref["y"])
        with torch.no_grad():
            assert float(worked.network()(torch.tensor([[x["x1"], x["x2"], x["x3"]]]))) == pytest.approx(ref["y"])
    P = worked.product(3)  # linear part: (y, x2) sums the weight products of the paths x2 -> ... -> y
    paths = [(-1, 1), (-1, 1, 1), (-1, -1, -1), (2, 1, 1), (2, -1, 2), (1, 2)]  # via h1; h1,g1; h1,g3; h2,g1; h2,g2; g2
    assert P[ids.index("y"), ids.index("x2")] == sum(np.prod(p) for p in paths) == -3


def test_architecture_switches_model_granularity_and_searches():
    at = _run("pages/1_Architecture.py")
    _ok(at)
    assert _charts(at), "no DAG drawn"
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["nodes"].replace(",", "")) > 3
    for gran in ("unit", "block", "op"):
        at.sidebar.radio(key="arch.granularity").set_value(gran).run()
        _ok(at)
        assert _charts(at)
    at.text_input(key="arch.search").input("relu").run()
    _ok(at)
    assert any("match" in c.value for c in at.caption)
    at.text_input(key="arch.search").input("no-such-node-xyz").run()
    _ok(at)
    assert any("No node" in w.value for w in at.warning)
    at.sidebar.selectbox(key="arch.zoo").set_value("resnet_tiny").run()
    _ok(at)
    assert _charts(at)


def test_architecture_torchvision_defaults_to_a_readable_view():
    at = _run("pages/1_Architecture.py")
    at.sidebar.radio(key="arch.source").set_value("torchvision").run()
    at.sidebar.selectbox(key="arch.tv").set_value("resnet18").run()
    _ok(at)
    assert _charts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["levels"]) > 5


def test_architecture_onnx_upload_path():
    at = AppTest.from_file(str(ROOT / "pages/1_Architecture.py"), default_timeout=TIMEOUT)
    at.session_state["explorer.onnx_bytes"] = tiny_onnx()
    at.session_state["explorer.model"] = ModelKey(ONNX_SPEC, source="onnx", onnx_name="tiny.onnx")
    at.run()
    _ok(at)
    assert at.sidebar.radio(key="arch.source").value == "onnx"
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["nodes"]) >= 4 and int(metrics["skip arcs"]) >= 1


def test_architecture_bad_onnx_is_an_error_message_not_a_traceback():
    at = AppTest.from_file(str(ROOT / "pages/1_Architecture.py"), default_timeout=TIMEOUT)
    at.session_state["explorer.onnx_bytes"] = b"this is not an onnx file"
    at.session_state["explorer.model"] = ModelKey(ONNX_SPEC, source="onnx", onnx_name="junk.onnx")
    at.run()
    assert not at.exception
    assert at.error and "onnx" in at.error[0].value.lower()


def test_architecture_user_files_come_from_the_models_folder_only(tmp_path, monkeypatch):
    """No path typed into the browser is ever imported: the picker lists the classes of the files
    in the models folder (read from their syntax, not run); one of them opens as a graph."""
    import shutil

    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    at = _run("pages/1_Architecture.py")
    at.sidebar.radio(key="arch.source").set_value("file").run()
    assert not at.exception
    assert not at.sidebar.text_input, "no free-text path to import"
    assert any("models" in i.value and "add one" in i.value for i in at.info)
    (tmp_path / "models").mkdir()
    shutil.copy(ROOT / "tests" / "user_models.py", tmp_path / "models" / "user_models.py")
    at.run()
    box = at.sidebar.selectbox(key="arch.file")
    assert any("BranchyNet" in o for o in box.options), box.options
    box.set_value(f"{tmp_path / 'models' / 'user_models.py'}:BranchyNet").run()
    _ok(at)
    assert at.metric and _charts(at)


def test_decomposition_slider_and_verification():
    at = _run("pages/2_Decomposition.py")
    _ok(at)
    assert at.sidebar.radio(key="dec.granularity").value == "unit"
    assert any(s.value.startswith("✓") for s in at.success), [s.value for s in at.success]
    n_charts = len(_charts(at))
    assert n_charts >= 2
    top = at.slider(key="dec.level").max
    for l in (2, top):
        at.slider(key="dec.level").set_value(l).run()
        _ok(at)
        assert len(_charts(at)) == n_charts
    at.toggle(key="dec.masked").set_value(True).run()
    _ok(at)


def test_decomposition_sub_architecture_changes_the_value():
    at = _run("pages/2_Decomposition.py")
    at.sidebar.selectbox(key="dec.zoo").set_value("moons_mlp").run()
    _ok(at)
    node = at.selectbox(key="dec.fnode").value
    rm = at.multiselect(key="dec.rm_nodes")
    at.multiselect(key="dec.rm_nodes").set_value(rm.options).run()  # remove every hidden unit upstream
    _ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert node and float(metrics["‖value‖ intact"]) != float(metrics["‖value‖ sub-architecture"])


def test_decomposition_op_level_shows_operator_view():
    at = _run("pages/2_Decomposition.py")
    at.sidebar.selectbox(key="dec.zoo").set_value("transformer_tiny").run()
    _ok(at)
    assert at.sidebar.radio(key="dec.granularity").value == "op"
    assert any("✓" in s.value for s in at.success)
    assert any("Op level" in c.value for c in at.caption)
