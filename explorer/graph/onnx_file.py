"""An `.onnx` file as an op-level DAG-DNN: structure only, nothing is ever executed.

`onnx_dag(source)` reads the protobuf (bytes, or a path, without loading external
data), refuses files whose weights live outside the file (they would be read from
arbitrary paths) and bytes that are not an ONNX model. Nodes are the graph inputs
(not initializers) and the ONNX nodes that depend on them (id = node name, or
`OpType_k` when unnamed); initializers and constant sub-graphs (`Constant`,
`Shape -> Gather -> Concat` chains computing a reshape target) are folded into their
consumers, as `explorer.graph.trace` folds parameters. Shapes come from
`onnx.shape_inference` where it can tell (symbolic dims are -1); params count the
initializers each node consumes (each once).

Torch-exported node names such as `/layer1/layer1.0/conv1/Conv` give module paths
(`layer1.0.conv1`), so the block level works on them too.

    >>> import onnx
    >>> from onnx import TensorProto, helper
    >>> w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3], [0.0] * 12)
    >>> g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
    ...                        helper.make_node("Relu", ["h"], ["y"], name="act")], "g",
    ...                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
    ...                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [w])
    >>> dag = onnx_dag(helper.make_model(g).SerializeToString())
    >>> [(n.id, n.op, n.shape, n.params, dag.level[n.id]) for n in dag.nodes]
    [('x', 'input', (4,), 0, 0), ('mm', 'matmul', (3,), 12, 1), ('act', 'relu', (3,), 0, 2), ('output', 'output', (3,), 0, 3)]
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from explorer.graph.dag import Arc, Dag, Node
from explorer.graph.macs import node_macs
from explorer.graph.ops import arc_function


class OnnxError(ValueError):
    """An ONNX source that cannot be read as structure; the message says why and the fix."""


# ONNX op type -> the op vocabulary of explorer.graph.trace (used for arc kinds, labels, MACs)
_AS_TORCH = {
    "Conv": "convolution", "ConvTranspose": "conv_transpose2d", "Gemm": "linear", "MatMul": "matmul",
    "BatchNormalization": "batch_norm", "GlobalAveragePool": "adaptive_avg_pool2d", "AveragePool": "avg_pool2d",
    "Concat": "cat", "ReduceMean": "mean", "ReduceSum": "sum", "Gather": "getitem", "Slice": "slice",
    "Split": "split", "Pad": "pad", "Resize": "interpolate", "Upsample": "interpolate", "Identity": "identity",
    "Dropout": "dropout", "Sub": "sub", "Add": "add", "Mul": "mul", "Div": "div", "Sum": "add",
    "MaxPool": "max_pool2d", "GlobalMaxPool": "amax", "LayerNormalization": "layer_norm",
    "Einsum": "einsum", "DepthToSpace": "pixel_shuffle", "Expand": "expand",
}
# ops whose output describes a shape, not data: their results are folded like constants
_SHAPE_OPS = {"Shape", "Size", "Constant", "ConstantOfShape", "EyeLike", "RandomNormalLike", "RandomUniformLike"}


def _load(source: bytes | str | Path):  # noqa: ANN202 - onnx.ModelProto
    import onnx  # noqa: PLC0415 - heavy; only when an ONNX file is opened

    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise OnnxError(f"ONNX file {path} does not exist")
        data = path.read_bytes()
        what = path.name
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data, what = bytes(source), "the uploaded bytes"
    else:
        raise OnnxError(f"onnx_dag takes bytes or a path, got {type(source).__name__}")
    try:
        model = onnx.load_from_string(data)
    except Exception as e:  # noqa: BLE001 - protobuf raises DecodeError and friends
        raise OnnxError(f"{what} is not an ONNX model (protobuf decode failed: {type(e).__name__}); "
                        "export one with torch.onnx.export(model, x, 'model.onnx')") from e
    if model.ir_version <= 0 or not model.opset_import or not model.HasField("graph") \
            or not (model.graph.node or model.graph.input):
        raise OnnxError(f"{what} is not an ONNX model (no IR version, opset or graph); "
                        "export one with torch.onnx.export(model, x, 'model.onnx')")
    tensors = list(model.graph.initializer)
    for n in model.graph.node:
        tensors += [a.t for a in n.attribute if a.HasField("t")]
    for t in tensors:
        if t.data_location == onnx.TensorProto.EXTERNAL or t.external_data:
            loc = next((e.value for e in t.external_data if e.key == "location"), "?")
            raise OnnxError(f"tensor {t.name!r} is stored outside the file ({loc}); external data is refused "
                            "(it would be read from another path): re-export with weights embedded, e.g. "
                            "onnx.save(model, path, save_as_external_data=False)")
    return model


def _shapes(model) -> dict[str, tuple[int, ...]]:  # noqa: ANN001
    import onnx  # noqa: PLC0415

    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - shape inference is best-effort; structure stands without it
        inferred = model
    out: dict[str, tuple[int, ...]] = {}
    g = inferred.graph
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            out[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim)
    return out


def _module_path(node_name: str) -> str:
    """'/layer1/layer1.0/conv1/Conv' -> 'layer1.0.conv1' (torch.onnx scope names)."""
    parts = [p for p in node_name.split("/") if p][:-1]
    path = ""
    for p in parts:
        path = p if (not path or p.startswith(path + ".")) else f"{path}.{p}"
    return path


def _batch1(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape at batch size 1 (ONNX graphs often leave the batch symbolic: -1)."""
    return (1, *shape[1:]) if shape else shape


def _check_acyclic(g) -> None:  # noqa: ANN001 - onnx.GraphProto
    """ONNX lists nodes in topological order; a node that reads a tensor made by itself or by a
    later node closes a cycle, and a DAG-DNN must be acyclic."""
    made_by = {t: k for k, nd in enumerate(g.node) for t in nd.output if t}
    for k, nd in enumerate(g.node):
        for t in nd.input:
            j = made_by.get(t)
            if j is not None and j >= k:
                other = g.node[j].name or g.node[j].op_type
                what = "itself" if j == k else f"node {other!r}, which comes later"
                raise OnnxError(f"ONNX node {nd.name or nd.op_type!r} reads {t!r}, made by {what}: the graph has a "
                                "cycle, and a DAG-DNN must be acyclic (or the nodes are not in topological order; "
                                "re-export the model)")


class _Dims:
    """A stand-in with `.shape` for node_macs (no tensor is ever built from ONNX data)."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape


def onnx_dag(source: bytes | str | Path, name: str = "") -> Dag:
    """The op-level `Dag` of an ONNX model (see the module doc). Raises `OnnxError`."""
    model = _load(source)
    g = model.graph
    shapes = _shapes(model)
    init = {t.name: tuple(int(d) for d in t.dims) for t in g.initializer}
    for t, dims in init.items():
        if any(d < 0 for d in dims):
            raise OnnxError(f"initializer {t!r} declares dimensions {list(dims)}: a dimension cannot be negative; "
                            "the file is damaged or was written wrongly — export it again")
    _check_acyclic(g)
    producer: dict[str, str] = {}
    nodes: list[Node] = []
    arcs: list[Arc] = []
    counted: set[str] = set()
    inputs = []
    for vi in g.input:
        if vi.name in init:
            continue
        s = shapes.get(vi.name)
        nodes.append(Node(vi.name, "input", "", s[1:] if s else None, 0, 0, {"target": vi.name, "fx_op": "placeholder"}))
        producer[vi.name] = vi.name
        inputs.append(vi.name)
    used: set[str] = {n.id for n in nodes}
    folded: list[str] = []
    for k, nd in enumerate(g.node):
        nid = nd.name or f"{nd.op_type}_{k}"
        while nid in used or nid == "output":
            nid += "_"
        data_in = [(j, t) for j, t in enumerate(nd.input) if t and t in producer]
        if not data_in or nd.op_type in _SHAPE_OPS:
            folded.append(nid)
            continue
        used.add(nid)
        op = _AS_TORCH.get(nd.op_type, nd.op_type.lower())
        consts = [t for t in nd.input if t and t not in producer]
        params = 0
        for t in consts:
            if t in init and t not in counted:
                counted.add(t)
                params += math.prod(init[t])
        out_shape = shapes.get(nd.output[0]) if nd.output else None
        shape = out_shape[1:] if out_shape else None
        in_full = [_batch1(shapes[t]) for _, t in data_in if shapes.get(t)]
        const_dims = [_Dims(init[t]) for t in consts if t in init]
        if op == "linear" and const_dims and any(a.name == "transB" and a.i == 0 for a in nd.attribute):
            const_dims[0] = _Dims(tuple(reversed(const_dims[0].shape)))  # Gemm B as (K, N): make it (N, K)
        full = _batch1(out_shape) if out_shape else None
        macs = node_macs(op, None, in_full, full, const_dims) if full is not None and -1 not in full else 0
        label = nd.op_type.lower()
        if op == "convolution" and const_dims and len(const_dims[0].shape) >= 3:
            w = const_dims[0].shape
            label = f"conv {'×'.join(map(str, w[2:]))} {w[1]}→{w[0]}"
        elif op == "linear" and const_dims and len(const_dims[0].shape) == 2:
            w = const_dims[0].shape
            label = f"linear {w[1]}→{w[0]}"
        meta: dict[str, Any] = {"target": nd.op_type, "fx_op": "onnx"}
        if consts:
            meta["constants"] = consts
        nodes.append(Node(nid, nd.op_type.lower(), _module_path(nd.name), shape, params, macs, meta))
        sources: dict[str, list[tuple]] = {}
        for j, t in data_in:
            sources.setdefault(producer[t], []).append((j,) if op != "cat" else (0, j))
        const_labels = [t for t in consts]
        for i, (src, slots) in enumerate(sources.items()):
            kind, lab = arc_function(op, slots, len(sources), i, label, const_labels)
            arcs.append(Arc(src, nid, lab, kind, None, {"multiplicity": len(slots)} if len(slots) > 1 else {}))
        for t in nd.output:
            if t:
                producer[t] = nid
    outs = [o.name for o in g.output if o.name in producer]
    oshape = shapes.get(outs[0]) if len(outs) == 1 else None
    nodes.append(Node("output", "output", "", oshape[1:] if oshape else None, 0, 0,
                      {"target": "output", "fx_op": "output", "tensors": [o.name for o in g.output]}))
    srcs: dict[str, list[tuple]] = {}
    for k, o in enumerate(outs):
        srcs.setdefault(producer[o], []).append((0, k))
    for i, (src, slots) in enumerate(srcs.items()):
        kind, lab = arc_function("output", slots, len(srcs), i, "output", [])
        arcs.append(Arc(src, "output", lab, kind))
    unused = sum(math.prod(s) for t, s in init.items() if t not in counted)
    return Dag.build(nodes, arcs, "op", inputs=inputs, outputs=["output"], name=name or g.name or "onnx",
                     meta={"graph_module": None, "tracer": "onnx", "folded": folded, "unused_params": unused,
                           "opset": [(o.domain or "ai.onnx", o.version) for o in model.opset_import]})
