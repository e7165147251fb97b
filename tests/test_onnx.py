"""ONNX: exported and hand-built files load as structure with the depth they should have;
external data and garbage are refused with a message that says what to do."""

import io

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from explorer import models
from explorer.graph.build import GraphError, build_dag
from explorer.graph.onnx_file import OnnxError, onnx_dag
from explorer.graph.trace import trace


def export(name, path=None):
    lm = models.load(name)
    f = io.BytesIO()
    torch.onnx.export(lm.model, lm.example_input, f, dynamo=False)
    data = f.getvalue()
    if path is not None:
        path.write_bytes(data)
    return lm, data


def chain_with_skip(n_relu: int, skip_from: int):
    """x -> relu_1 -> ... -> relu_n, plus add(relu_n, relu_skip_from) -> y; every weight-free."""
    nodes, prev = [], "x"
    for k in range(1, n_relu + 1):
        nodes.append(helper.make_node("Relu", [prev], [f"r{k}"], name=f"relu_{k}"))
        prev = f"r{k}"
    skip = "x" if skip_from == 0 else f"r{skip_from}"
    nodes.append(helper.make_node("Add", [prev, skip], ["y"], name="add"))
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])])
    return helper.make_model(g)


@pytest.mark.parametrize("name", ["mlp_skip", "densenet_tiny", "unet_tiny"])
def test_exported_zoo_model_has_the_traced_depth(name, tmp_path):
    lm, data = export(name, tmp_path / f"{name}.onnx")
    dag = onnx_dag(tmp_path / f"{name}.onnx")
    op = trace(lm.model, lm.example_input)
    # these models have no batch norm for the exporter to fold, so the graphs coincide in depth
    assert dag.depth == op.depth
    assert sum(n.params for n in dag.nodes) + dag.meta["unused_params"] == sum(
        p.numel() for p in lm.model.parameters())
    assert dag.node("output").shape == op.node("output").shape
    assert onnx_dag(data).order() == dag.order()  # bytes and path read the same


def test_hand_built_graph_levels_and_skip():
    dag = onnx_dag(chain_with_skip(5, 2).SerializeToString())
    assert dag.level["add"] == 6 and dag.level["output"] == 7 and dag.depth == 7
    arcs = {(a.src, a.dst): a for a in dag.arcs}
    assert arcs[("relu_2", "add")].kind == "identity"
    assert dag.level["add"] - dag.level["relu_2"] == 4  # the skip arc spans four levels
    assert all(n.shape == (5,) for n in dag.nodes)


def test_exported_resnet_block_level_and_build_dag(tmp_path):
    _, _ = export("resnet_tiny", tmp_path / "r.onnx")
    op = build_dag(str(tmp_path / "r.onnx"))
    assert op.granularity == "op" and op.meta["tracer"] == "onnx"
    convs = [n for n in op.nodes if n.op == "conv"]
    assert convs and all(n.params > 0 and n.macs > 0 for n in convs)
    blocks = build_dag(str(tmp_path / "r.onnx"), "block", depth=1)
    assert {"stem", "block1", "block2", "fc"} <= set(blocks.order())
    with pytest.raises(GraphError, match="unit level"):
        build_dag(str(tmp_path / "r.onnx"), "unit")


def test_external_data_is_refused(tmp_path):
    w = numpy_helper.from_array(np.full((64, 64), 0.5, dtype=np.float32), "big_weight")  # raw_data: movable
    g = helper.make_graph([helper.make_node("MatMul", ["x", "big_weight"], ["y"], name="mm")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], [w])
    path = tmp_path / "ext.onnx"
    onnx.save(helper.make_model(g), path, save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.data", size_threshold=0)
    assert (tmp_path / "ext.data").exists()
    with pytest.raises(OnnxError, match=r"'big_weight'.*re-export with weights embedded"):
        onnx_dag(path)


@pytest.mark.parametrize("junk", [b"", b"hello, this is not a model", bytes(range(256)) * 4])
def test_garbage_is_refused(junk, tmp_path):
    with pytest.raises(OnnxError, match="not an ONNX model"):
        onnx_dag(junk)
    (tmp_path / "junk.onnx").write_bytes(junk)
    with pytest.raises(OnnxError, match="not an ONNX model"):
        build_dag(str(tmp_path / "junk.onnx"))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(OnnxError, match="does not exist"):
        onnx_dag(tmp_path / "nope.onnx")
