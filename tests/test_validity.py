"""validity.check and the proposal helpers on hand-built graphs, plus a property test
against an independent networkx computation on random DAGs."""

import random

import networkx as nx
import pytest

from explorer.graph.dag import Arc, Dag, Node
from explorer.pruning import operations as ops
from explorer.pruning.selection import Selection
from explorer.pruning.validity import check


def resnet_like() -> Dag:
    # x -> c1 -> r1 -> c2 -> add -> y ; x -> add (identity skip) ; x.size -> view (shape value)
    return Dag.build(
        [Node("x", "input", shape=(4,)), Node("c1", "conv", shape=(4,)), Node("r1", "relu", shape=(4,)),
         Node("c2", "conv", shape=(4,)), Node("add", "add", shape=(4,)), Node("y", "linear", shape=(2,))],
        [Arc("x", "c1"), Arc("c1", "r1", kind="nonlinear"), Arc("r1", "c2"), Arc("c2", "add", kind="identity"),
         Arc("x", "add", kind="identity"), Arc("add", "y")],
        "op", name="res")


def attention_like() -> Dag:
    # x -> q, x -> k ; q,k -> mul (joint) ; mul -> add ; x -> add ; add -> y
    return Dag.build(
        [Node("x", "input", shape=(4,)), Node("q", "linear", shape=(4,)), Node("k", "linear", shape=(4,)),
         Node("mul", "mul", shape=(4,)), Node("add", "add", shape=(4,)), Node("y", "linear", shape=(2,))],
        [Arc("x", "q"), Arc("x", "k"), Arc("q", "mul", kind="joint"), Arc("k", "mul", kind="joint"),
         Arc("mul", "add", kind="identity"), Arc("x", "add", kind="identity"), Arc("add", "y")],
        "op", name="att")


def test_removing_residual_branch_leaves_the_skip():
    dag = resnet_like()
    v = check(dag, Selection("op", ("c1", "r1", "c2")))
    assert v.ok and v.reasons == ()
    assert v.removed_nodes == ("c1", "r1", "c2")
    assert set(v.removed_arcs) == {"x->c1", "c1->r1", "r1->c2", "c2->add"}
    assert v.disconnected == ()


def test_removing_the_skip_leaves_the_branch():
    v = check(resnet_like(), Selection("op", arcs=("x->add",)))
    assert v.ok and v.removed_nodes == () and v.removed_arcs == ("x->add",)


def test_removing_one_arc_of_a_chain_disconnects_the_branch_both_ways():
    # x->c1 cut: c1 dies (no input), r1, c2 die with it; add keeps the skip
    v = check(resnet_like(), Selection("op", arcs=("x->c1",)))
    assert v.ok and v.disconnected == ("c1", "r1", "c2")
    # r1->c2 cut: c2 dies forward, c1 and r1 are dead ends backward
    v = check(resnet_like(), Selection("op", arcs=("r1->c2",)))
    assert v.ok and set(v.disconnected) == {"c1", "r1", "c2"}


def test_cutting_everything_into_an_output_is_refused_with_names_and_suggestion():
    dag = resnet_like()
    sel = Selection("op", ("c2",), ("x->add",))
    v = check(dag, sel)
    assert not v.ok
    assert any("output y" in r for r in v.reasons)
    assert any("add" in r for r in v.reasons)
    assert v.suggestion is not None and check(dag, v.suggestion).ok
    assert set(v.suggestion.ids) < set(sel.ids)


def test_inputs_and_outputs_cannot_be_removed():
    dag = resnet_like()
    v = check(dag, Selection("op", ("x",)))
    assert not v.ok and "cannot remove node x: it is an input" in v.reasons[0]
    v = check(dag, Selection("op", ("y", "c1")))
    assert not v.ok and any("it is an output" in r for r in v.reasons)
    assert v.suggestion == Selection("op", ("c1",))


def test_joint_head_losing_one_input_is_refused_and_suggestion_takes_it_whole():
    dag = attention_like()
    v = check(dag, Selection("op", ("q",)))
    assert not v.ok
    assert v.reasons[0].startswith("cannot remove node q: node mul (mul) combines its inputs jointly")
    assert "remove node mul as well" in v.reasons[0]
    assert v.suggestion is not None and set(v.suggestion.nodes) == {"q", "mul"}
    assert check(dag, v.suggestion).ok
    # both inputs of the product gone: the product is gone, the skip remains
    v = check(dag, Selection("op", ("q", "k")))
    assert v.ok and v.disconnected == ("mul",)


def test_size_values_cannot_be_zeroed():
    dag = Dag.build(
        [Node("x", "input", shape=(4,)), Node("size", "size", meta={"tensor": False}),
         Node("view", "view", shape=(4,)), Node("y", "linear", shape=(2,))],
        [Arc("x", "size"), Arc("x", "view"), Arc("size", "view"), Arc("view", "y")], "op")
    v = check(dag, Selection("op", ("size",)))
    assert not v.ok and "shape/size value" in v.reasons[0]
    v = check(dag, Selection("op", arcs=("size->view",)))
    assert not v.ok and "shape/size value" in v.reasons[0]
    # losing the tensor input kills view although the size still arrives
    v = check(dag, Selection("op", arcs=("x->view",)))
    assert not v.ok and any("node view would have no input" in r or "output y" in r for r in v.reasons)


def test_selection_of_other_granularity_or_unknown_ids_raises():
    from explorer.pruning.selection import SelectionError

    with pytest.raises(SelectionError):
        check(resnet_like(), Selection("op", ("nope",)))
    with pytest.raises(SelectionError):
        check(resnet_like(), Selection("unit", ("c1",)))


def test_proposals_branches_skips_levels():
    dag = resnet_like()
    assert ops.merge_heads(dag) == ["add"]
    br = ops.branches_of(dag, "add")
    assert [set(b.ids) for b in br] == [{"c1", "r1", "c2"}, {"x->add"}]
    assert all(check(dag, b).ok for b in br)
    assert [a.id for a in ops.skip_arcs(dag)] == ["x->add"]
    assert ops.bypassable_ranges(dag) == [(1, 3)]
    assert check(dag, ops.level_range(dag, 2, 3)).ok
    assert not check(dag, ops.level_range(dag, 4, 4)).ok  # level 4 is add: the only way to y
    with pytest.raises(ValueError, match="outside"):
        ops.level_range(dag, 0, 2)


# ---- property test against an independent reference -----------------------------------

def random_dag(rng: random.Random) -> Dag:
    n = rng.randint(3, 14)
    ids = [f"v{i}" for i in range(n)]
    arcs = set()
    for j in range(1, n):
        arcs.add((ids[rng.randrange(j)], ids[j]))  # every node has an input
        for i in range(j):
            if rng.random() < 0.2:
                arcs.add((ids[i], ids[j]))
    joint = {v for v in ids[1:] if rng.random() < 0.2}
    has_out = {a for a, _ in arcs}
    nodes = [Node(v, "mul" if v in joint else "add", shape=(1,)) for v in ids]
    return Dag.build(nodes, [Arc(a, b, kind="joint" if b in joint else "linear") for a, b in arcs],
                     "op", inputs=["v0"], outputs=[v for v in ids if v not in has_out])


def reference_ok(dag: Dag, removed_nodes, removed_arcs) -> bool:
    """A valid result, checked with networkx on the surviving graph."""
    g = nx.DiGraph()
    g.add_nodes_from(n.id for n in dag.nodes if n.id not in removed_nodes)
    g.add_edges_from((a.src, a.dst) for a in dag.arcs if a.id not in removed_arcs
                     and a.src in g and a.dst in g)
    if any(o not in g for o in dag.outputs) or "v0" not in g:
        return False
    reach = nx.descendants(g, "v0") | {"v0"}
    need = set().union(*(nx.ancestors(g, o) | {o} for o in dag.outputs))
    for v in g:
        if v != "v0" and g.in_degree(v) == 0:
            return False  # a survivor without inputs
        if v not in reach or v not in need:
            return False
        if dag.node(v).op == "mul" and g.in_degree(v) != len(dag.in_arcs(v)):
            return False  # a joint head missing some input
    return all(o in reach for o in dag.outputs)


@pytest.mark.parametrize("seed", range(60))
def test_check_agrees_with_reference_on_random_dags(seed):
    rng = random.Random(seed)
    dag = random_dag(rng)
    inner = [n.id for n in dag.nodes if n.id not in dag.inputs and n.id not in dag.outputs]
    for _ in range(8):
        nodes = rng.sample(inner, rng.randint(0, min(2, len(inner))))
        arcs = rng.sample([a.id for a in dag.arcs], rng.randint(0, min(3, len(dag.arcs))))
        v = check(dag, Selection("op", tuple(nodes), tuple(arcs)))
        assert set(nodes) <= set(v.removed_nodes) and set(arcs) <= set(v.removed_arcs)
        # an arc survives only if both ends do
        for a in dag.arcs:
            if a.src in v.removed_nodes or a.dst in v.removed_nodes:
                assert a.id in v.removed_arcs
        if v.ok:
            assert reference_ok(dag, set(v.removed_nodes), set(v.removed_arcs)), (nodes, arcs, v)
        else:
            assert v.reasons
            if v.suggestion is not None:
                assert check(dag, v.suggestion).ok
