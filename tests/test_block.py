"""Block level: acyclic, coarser, conserving params/MACs, repeated blocks share a signature."""

from functools import lru_cache

import networkx as nx
import pytest
import torch
from torch import nn

from explorer import models
from explorer.graph.block import BlockError, block_dag
from explorer.graph.trace import trace


@lru_cache(maxsize=None)
def op_dag(name):
    lm = models.load(name)
    return trace(lm.model, lm.example_input, name)


def check_block(op, b):
    g = nx.DiGraph([(a.src, a.dst) for a in b.arcs])
    g.add_nodes_from(b.order())
    assert nx.is_directed_acyclic_graph(g)
    assert len(b.nodes) <= len(op.nodes)
    assert sum(n.params for n in b.nodes) == sum(n.params for n in op.nodes)
    assert sum(n.macs for n in b.nodes) == sum(n.macs for n in op.nodes)
    members = [m for n in b.nodes for m in n.meta["members"]]
    assert sorted(members) == sorted(op.order())  # a partition of the op nodes
    of = b.meta["group_of"]
    # every op arc between two blocks is represented by a block arc
    assert {(of[a.src], of[a.dst]) for a in op.arcs if of[a.src] != of[a.dst]} == {(a.src, a.dst) for a in b.arcs}


@pytest.mark.parametrize("name", models.zoo_names())
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_block_partitions_and_stays_acyclic(name, depth):
    op = op_dag(name)
    check_block(op, block_dag(op, depth))


def test_resnet_tiny_depth_1_blocks():
    b = block_dag(op_dag("resnet_tiny"), 1)
    assert b.order() == ["x", "stem", "block1", "block2", "pool", "flatten", "fc", "output"]
    assert b.node("block1").op == "BasicBlock" and b.node("block2").shape == (16, 4, 4)
    assert b.node("block1").meta["signature"] != b.node("block2").meta["signature"]  # different shapes


@pytest.mark.slow
def test_resnet50_depth_2_has_16_bottlenecks_with_shared_signatures():
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.resnet50(weights=None).eval()
    op = trace(model, torch.zeros(1, 3, 224, 224), "resnet50")
    b = block_dag(op, 2)
    check_block(op, b)
    bottlenecks = [n for n in b.nodes if n.op == "Bottleneck"]
    assert len(bottlenecks) == 16
    assert [n.id for n in bottlenecks][:4] == ["layer1.0", "layer1.1", "layer1.2", "layer2.0"]
    sig = {n.id: n.meta["signature"] for n in bottlenecks}
    assert sig["layer1.1"] == sig["layer1.2"] and sig["layer1.0"] != sig["layer1.1"]
    assert len({sig[f"layer3.{k}"] for k in range(1, 6)}) == 1
    assert b.node("layer3.1").meta["repeat"] == 5 and b.node("layer4.0").meta["repeat"] == 1
    assert len(b.nodes) < len(op.nodes) / 5


class Shared(nn.Module):
    """One block called twice with an op of the root in between: collapsing by module would make a cycle."""

    def __init__(self):
        super().__init__()
        self.blk = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.blk(torch.tanh(self.blk(x))))


def test_collapse_that_would_close_a_cycle_is_split():
    op = trace(Shared(), torch.zeros(1, 4))
    for depth in (1, 2):
        b = block_dag(op, depth)
        check_block(op, b)
        assert "tanh" in b.order()
        assert b.meta["group_of"]["blk_0"] != b.meta["group_of"]["blk_2"]  # the two calls stay apart
        assert b.depth >= 4  # blk (first call) -> tanh -> blk (second call) -> head: not merged
        assert b.meta["group_of"]["blk_0"] != b.meta["group_of"]["blk_2"]  # the two calls stay apart
    b = block_dag(op, 1)
    assert b.order() == ["x", "blk", "tanh", "blk~1", "head", "output"]  # split by call, not down to ops
    assert b.node("blk").meta["members"] == ["blk_0", "blk_1"] and b.node("blk~1").op == "Sequential"


def test_block_needs_an_op_graph_and_a_positive_depth():
    op = op_dag("mlp")
    with pytest.raises(BlockError, match="depth must be >= 1"):
        block_dag(op, 0)
    with pytest.raises(BlockError, match="granularity 'op'"):
        block_dag(block_dag(op, 1), 1)
