"""The unit-level DAG: nodes are neurons/channels, arcs map to parameter entries, skips and cats add no nodes."""

from __future__ import annotations

import copy
from functools import lru_cache

import networkx as nx
import pytest
import torch
from torch import nn

from explorer import models
from explorer.graph.unit import UnitLevelError, unit_dag

UNIT_ZOO = ["mlp", "mlp_skip", "cnn1d", "resnet_tiny", "densenet_tiny", "inception_tiny", "unet_tiny", "moons_mlp"]


@lru_cache(maxsize=None)
def built(name: str):
    lm = models.load(name)
    return lm, unit_dag(lm.model, lm.example_input, name)


@pytest.mark.parametrize("name", UNIT_ZOO)
def test_unit_dag_shape_of_graph(name):
    lm, dag = built(name)
    shape = lm.info.input_shape
    n_in = shape[0]
    assert list(dag.inputs) == [f"x[{k}]" for k in range(n_in)]
    assert list(dag.outputs) == [f"out[{k}]" for k in range(lm.info.num_classes)]
    # levels are longest paths (independent: networkx on the same arcs)
    g = dag.to_networkx()
    for v in nx.topological_sort(g):
        preds = list(g.predecessors(v))
        assert dag.level[v] == (1 + max(dag.level[u] for u in preds) if preds else 0)
    for n in dag.nodes:
        assert {"layer", "unit", "phi", "size", "bias", "weight", "row"} <= set(n.meta)
        assert n.meta["size"] == int(torch.tensor(n.shape).prod())
    for a in dag.arcs:
        assert "param" in a.meta
        assert a.kind in ("linear", "identity", "nonlinear")
        if a.kind == "identity":
            assert a.meta["param"] is None and a.label == "id"


def test_linear_arcs_carry_the_real_weight_and_name_their_entry():
    lm, dag = built("mlp_skip")
    params = dict(lm.model.named_parameters())
    checked = 0
    for a in dag.arcs:
        if a.meta.get("param") and a.weight is not None and isinstance(a.meta["index"][1], int):
            o, i = a.meta["index"]
            assert a.weight == pytest.approx(float(params[a.meta["param"]][o, i].detach()), abs=1e-7)
            checked += 1
    assert checked == 100 * 40 + 100 * 100 + 100 * 100 + 10 * 200  # every weight of every layer


def test_zeroing_the_named_entry_removes_exactly_that_arc():
    lm, dag = built("cnn1d")
    arc = next(a for a in dag.arcs if a.dst == "conv2[3]" and a.src == "conv1[5]")
    assert arc.meta == {"param": "conv2.weight", "index": [3, 5]}
    model = copy.deepcopy(lm.model)
    with torch.no_grad():
        model.conv2.weight[3, 5] = 0
    dag2 = unit_dag(model, lm.example_input, "cnn1d")
    before = {a.id for a in dag.arcs}
    after = {a.id for a in dag2.arcs}
    assert before - after == {arc.id}


def test_resnet_skip_is_identity_arcs_spanning_levels_and_bn_is_folded():
    lm, dag = built("resnet_tiny")
    groups = {n.meta["group"] for n in dag.nodes}
    assert not any("bn" in g for g in groups)  # BatchNorm folded into the convs
    skips = [a for a in dag.arcs if a.dst.startswith("block1.conv2[") and a.kind == "identity"]
    assert len(skips) == 8 and all(a.src == f"stem.0[{a.dst[13:-1]}]" for a in skips)
    assert all(dag.level[a.dst] - dag.level[a.src] == 2 for a in skips)
    # the strided block's 1x1 shortcut is a conv arc from block1's channels, folded with its BN
    sc = [a for a in dag.arcs if a.meta.get("param") == "block2.shortcut.0.weight"]
    assert len(sc) == 16 * 8 and all(a.dst.startswith("block2.conv2[") for a in sc)
    node = dag.node("block2.conv2[0]")
    assert node.meta["weight"] == "block2.conv2.weight" and node.meta["row"] == 0
    assert node.meta["bias"] == "block2.bn2.bias" and len(node.meta["biases"]) == 2


def test_densenet_cat_adds_no_nodes():
    lm, dag = built("densenet_tiny")
    groups = list(dict.fromkeys(n.meta["group"] for n in dag.nodes))
    assert groups[0] == "x" and groups[-1] == "out"
    assert not any("cat" in g for g in groups)
    # every dense layer's conv reads all earlier feature maps: the last BN-ReLU group sees the stem directly
    last = next(g for g in groups if g == "bn")
    assert any(a.src.startswith("stem[") and a.dst.startswith(f"{last}[") for a in dag.arcs)


def test_maxpool_is_a_nonlinear_arc_per_channel():
    lm, dag = built("inception_tiny")
    pools = [a for a in dag.arcs if a.kind == "nonlinear"]
    assert pools and all(a.label.startswith("maxpool") and a.meta == {"param": None} for a in pools)
    assert all(a.src.rsplit("[", 1)[1] == a.dst.rsplit("[", 1)[1] for a in pools)


def test_two_weighted_layers_in_a_row_make_composite_arcs():
    # U-Net: up2 (ConvTranspose) -> cat -> dec2.0 (Conv) with no activation between: the arcs from the
    # bottleneck channels to dec2.0 carry the composed map, so they name both weights and no single entry
    lm, dag = built("unet_tiny")
    comp = [a for a in dag.arcs if a.src.startswith("mid.1[") and a.dst.startswith("dec2.0[")]
    assert comp and all(a.meta["index"] is None and a.meta["params"] == ["up2.weight", "dec2.0.weight"]
                        for a in comp)
    skip = [a for a in dag.arcs if a.src.startswith("enc2.1[") and a.dst.startswith("dec2.0[")]
    assert skip and all(a.meta["param"] == "dec2.0.weight" and a.meta["index"][1] >= 8 for a in skip)


def test_unsupported_op_is_named_and_op_granularity_suggested():
    lm = models.load("transformer_tiny")
    with pytest.raises(UnitLevelError, match="op"):
        unit_dag(lm.model, lm.example_input)

    class Gram(nn.Module):
        def forward(self, x):
            h = torch.relu(x).unsqueeze(2)  # (B, 4, 1)
            return (h @ h.transpose(1, 2)).flatten(1)  # a product of two activations: not a linear arc

    with pytest.raises(UnitLevelError, match=r"matmul.*granularity 'op'"):
        unit_dag(Gram(), torch.randn(1, 4))


def test_node_counts_macs_and_params():
    lm, dag = built("moons_mlp")
    fc1 = dag.node("fc1[0]")
    assert fc1.params == 2 + 1 and fc1.macs == 2
    out = dag.node("out[1]")
    assert out.params == 16 + 1 and out.macs == 16
    assert sum(n.params for n in dag.nodes) == sum(p.numel() for p in lm.model.parameters())


def test_grouped_conv_arcs_use_local_in_channel_indices():
    conv = nn.Sequential(nn.Conv1d(4, 6, 3, groups=2), nn.ReLU())
    dag = unit_dag(conv, torch.randn(1, 4, 7))
    arcs = {(a.src, a.dst): a for a in dag.arcs if a.dst.startswith("0[")}
    assert ("x[0]", "0[5]") not in arcs and ("x[3]", "0[1]") not in arcs  # groups do not mix
    assert arcs[("x[3]", "0[5]")].meta == {"param": "0.weight", "index": [5, 1]}
    assert arcs[("x[1]", "0[2]")].meta == {"param": "0.weight", "index": [2, 1]}
    assert len(arcs) == 6 * 2


def test_large_models_are_refused_quickly_with_the_fix():
    lm = models.load("resnet18")
    with pytest.raises(UnitLevelError, match="granularity 'op'"):
        unit_dag(lm.model, lm.example_input)
