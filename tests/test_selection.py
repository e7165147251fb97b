"""Selection: canonical form, constructors (ids, plotly events, filters), JSON round trip, checks."""

import json
import random

import pytest

from explorer.figures.events import selection_from_event
from explorer.graph.dag import Arc, Dag, Node
from explorer.pruning.selection import Selection, SelectionError, fingerprint, split_arc


def toy() -> Dag:
    #   x -> a -> b -> add -> y ;  x -> add (skip)
    return Dag.build(
        [Node("x", "input"), Node("a", "conv", module="block.conv1"), Node("b", "relu", module="block.act"),
         Node("add", "add", module="block"), Node("y", "linear", module="fc")],
        [Arc("x", "a"), Arc("a", "b", kind="nonlinear"), Arc("b", "add", kind="identity"),
         Arc("x", "add", kind="identity"), Arc("add", "y")],
        "op", name="toy")


def test_canonical_form_sorted_unique_and_equal():
    s1 = Selection("op", ("b", "a", "a"), ("x->add", "a->b"))
    s2 = Selection("op", ("a", "b"), ("a->b", "x->add", "x -> add"))
    assert s1 == s2
    assert s1.nodes == ("a", "b") and s1.arcs == ("a->b", "x->add")
    assert len(s1) == 4 and not s1.is_empty()
    assert s1.arc_pairs() == [("a", "b"), ("x", "add")]


@pytest.mark.parametrize("bad,match", [
    (dict(granularity="neuron"), "granularity"),
    (dict(granularity="op", nodes=("",)), "empty"),
    (dict(granularity="op", nodes=("a->b",)), "arc id"),
    (dict(granularity="op", arcs=("a-b",)), "src->dst"),
    (dict(granularity="op", arcs=("a->b->c",)), "src->dst"),
    (dict(granularity="op", nodes="abc"), "not one string"),
])
def test_invalid_selections_are_refused(bad, match):
    with pytest.raises(SelectionError, match=match):
        Selection(**bad)


def test_from_ids_checks_every_id_and_suggests():
    dag = toy()
    s = Selection.from_ids(dag, ["a", "x->add"])
    assert s.nodes == ("a",) and s.arcs == ("x->add",) and s.model == "toy"
    assert s.fingerprint == fingerprint(dag)
    with pytest.raises(SelectionError, match="did you mean 'add'"):
        Selection.from_ids(dag, ["ad"])
    with pytest.raises(SelectionError, match="no arc a->y; y takes its inputs from add"):
        Selection.from_ids(dag, ["a->y"])
    with pytest.raises(SelectionError, match="no node 'zz'"):
        Selection.from_ids(dag, ["zz->y"])


def test_from_plotly_reads_nodes_and_arc_midpoints():
    dag = toy()
    event = {"selection": {"points": [
        {"curve_number": 0, "point_index": 1, "customdata": "a"},
        {"curve_number": 1, "point_index": 0, "customdata": ["x->add", 3]},
        {"curve_number": 2, "point_index": 0, "customdata": "level 2"},  # a label, ignored
        {"curve_number": 2, "point_index": 0},  # no customdata
    ], "box": [], "lasso": []}}
    s = selection_from_event(dag, event)
    assert s == Selection("op", ("a",), ("x->add",), "toy")
    assert selection_from_event(dag, event["selection"]) == s
    assert selection_from_event(dag, event["selection"]["points"]) == s
    assert selection_from_event(dag, None).is_empty()
    assert selection_from_event(dag, {"selection": {"points": []}}).is_empty()


def test_filters_by_module_regex_op_and_levels():
    dag = toy()
    assert Selection.from_filter(dag, module="block.*").nodes == ("a", "b")
    assert Selection.from_filter(dag, module="block*").nodes == ("a", "add", "b")
    assert Selection.from_filter(dag, regex="^a").nodes == ("a", "add")
    assert Selection.from_filter(dag, op=["relu", "add"]).nodes == ("add", "b")
    assert Selection.from_filter(dag, levels=(1, 2)).nodes == ("a", "b")
    # inputs/outputs are never picked by a filter
    assert "x" not in Selection.from_filter(dag, levels=(0, 9)).nodes
    assert "y" not in Selection.from_filter(dag, levels=(0, 9)).nodes
    assert Selection.from_filter(dag, op="add", what="arcs").arcs == ("b->add", "x->add")
    with pytest.raises(SelectionError, match="does not compile"):
        Selection.from_filter(dag, regex="(")
    with pytest.raises(SelectionError, match="empty"):
        Selection.from_filter(dag, levels=(3, 1))


def test_filter_matches_an_independent_reference():
    rng = random.Random(0)
    dag = toy()
    for _ in range(30):
        lo = rng.randint(0, 4)
        hi = rng.randint(lo, 4)
        ref = sorted(n.id for n in dag.nodes
                     if lo <= dag.level[n.id] <= hi and n.id not in ("x", "y"))
        assert list(Selection.from_filter(dag, levels=(lo, hi)).nodes) == ref


def test_algebra():
    a = Selection("op", ("a",), ("x->add",))
    b = Selection("op", ("b",), ("x->add",))
    assert (a | b) == Selection("op", ("a", "b"), ("x->add",))
    assert (a - b) == Selection("op", ("a",), ())
    assert a.without(["x->add"]) == Selection("op", ("a",))
    assert a.with_items(arcs=["a->b"]).arcs == ("a->b", "x->add")
    with pytest.raises(SelectionError, match="combine"):
        a | Selection("unit", ("n",))


def test_json_round_trip_and_refusals():
    dag = toy()
    s = Selection.from_ids(dag, ["a", "b->add"], note="by hand")
    doc = json.loads(s.dumps())
    assert doc["format"] == "explorer-selection/1"
    back = Selection.from_json(s.dumps())
    assert back == s and back.fingerprint == s.fingerprint and back.note == "by hand"
    back.check_against(dag)
    with pytest.raises(SelectionError, match="format"):
        Selection.from_json({"nodes": []})
    with pytest.raises(SelectionError, match="not JSON"):
        Selection.from_json("{nope")
    with pytest.raises(SelectionError, match="lacks 'arcs'"):
        Selection.from_json({"format": "explorer-selection/1", "granularity": "op", "nodes": []})


def test_check_against_other_model_or_changed_graph():
    dag = toy()
    s = Selection.from_ids(dag, ["a"])
    with pytest.raises(SelectionError, match="made on model 'toy', not 'other'"):
        s.check_against(dag, model="other")
    changed = Dag.build(list(dag.nodes), list(dag.arcs) + [Arc("a", "add")], "op", name="toy")
    with pytest.raises(SelectionError, match="differs"):
        s.check_against(changed)
    with pytest.raises(SelectionError, match="op-level selection but the graph is at unit"):
        Selection("op", ("a",)).check_ids(Dag.build([Node("a", "input")], [], "unit"))


def test_repr_is_short():
    s = Selection("unit", tuple(f"n{i}" for i in range(10)), ("a->b",), "mlp")
    r = repr(s)
    assert r.startswith("Selection(unit on mlp: 10 nodes [n0, n1, n2, n3, ...], 1 arc [a->b])")
    assert split_arc("u->v") == ("u", "v")
