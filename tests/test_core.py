"""Core types: levels against an independent reference, lint errors, masks, zoo."""

import random

import networkx as nx
import pytest
import torch

from explorer import models
from explorer.graph.dag import Arc, Dag, DagError, Node
from explorer.graph.levels import CycleError, longest_path_levels
from explorer.pruning.mask import Mask, MaskError


def reference_levels(nodes, arcs):
    """Longest path from any source, by networkx's longest-path on each ancestor subgraph."""
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(arcs)
    out = {}
    for v in nodes:
        sub = g.subgraph(nx.ancestors(g, v) | {v})
        out[v] = nx.dag_longest_path_length(sub)
    return out


@pytest.mark.parametrize("seed", range(20))
def test_levels_match_reference_on_random_dags(seed):
    rng = random.Random(seed)
    n = rng.randint(2, 40)
    nodes = [f"v{i}" for i in range(n)]
    rng.shuffle(nodes)
    order = sorted(nodes, key=lambda s: int(s[1:]))
    arcs = [(order[i], order[j]) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.15]
    assert longest_path_levels(nodes, arcs) == reference_levels(nodes, arcs)


def test_levels_are_not_topological_generations():
    # x -> a -> b -> y and x -> y: y is at level 3, not generation 1
    levels = longest_path_levels(list("xaby"), [("x", "a"), ("a", "b"), ("b", "y"), ("x", "y")])
    assert levels["y"] == 3


def test_cycle_is_refused_with_names():
    with pytest.raises(CycleError, match="cycle"):
        longest_path_levels(["a", "b"], [("a", "b"), ("b", "a")])


def test_dag_orders_by_level_and_lints():
    dag = Dag.build([Node("y", "linear"), Node("x", "input"), Node("h", "relu")],
                    [Arc("x", "h"), Arc("h", "y"), Arc("x", "y")], "op")
    assert dag.order() == ["x", "h", "y"]
    assert dag.inputs == ("x",) and dag.outputs == ("y",)
    assert dag.summary()["skip_arcs"] == 1
    with pytest.raises(DagError, match="not in the graph"):
        Dag.build([Node("x", "input")], [Arc("x", "nope")], "op")
    with pytest.raises(DagError, match="twice"):
        Dag.build([Node("x", "input"), Node("x", "relu")], [], "op")


def test_mask_validates_and_applies():
    model = torch.nn.Linear(3, 2)
    m = Mask.ones_like(model)
    m["weight"] = torch.tensor([[1.0, 0, 1], [0, 1, 1]])
    assert m.sparsity == pytest.approx(2 / 6)
    m.apply_(model)
    assert (model.weight[m["weight"] == 0] == 0).all()
    with pytest.raises(MaskError, match="shape"):
        Mask({"weight": torch.ones(2, 2)}).check(model)
    with pytest.raises(MaskError, match="not a parameter"):
        Mask({"nope": torch.ones(1)}).check(model)
    assert Mask({"weight": torch.zeros(2, 3)}).is_subset_of(m)


def test_mask_roundtrip(tmp_path):
    m = Mask({"w": torch.tensor([[1.0, 0.0]])})
    m.save(tmp_path / "m.safetensors")
    assert Mask.load(tmp_path / "m.safetensors") == m


@pytest.mark.parametrize("name", models.zoo_names())
def test_zoo_models_run(name):
    loaded = models.load(name)
    y = loaded.model(loaded.example_input)
    assert y.shape == (1, loaded.info.num_classes)


def test_unknown_model_names_the_accepted_forms():
    with pytest.raises(models.ModelSpecError, match="zoo name"):
        models.load("not_a_model")
