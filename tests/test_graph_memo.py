"""Results kept per graph object (`explorer.graph.memo`): the same answers as computing them afresh, and
forgotten with the graph."""

from __future__ import annotations

import gc
import random

from explorer import models
from explorer.graph.memo import PerGraph
from explorer.graph.unit import unit_dag
from explorer.pruning import validity
from explorer.pruning.apply import apply
from explorer.pruning.selection import Selection
from explorer.pruning.unit_plan import _plan, unit_plan


def _graph():
    lm = models.load("moons_mlp")
    return lm, unit_dag(lm.model, lm.example_input, "moons_mlp")


def test_kept_verdicts_and_plans_equal_fresh_ones_for_random_selections():
    lm, dag = _graph()
    rng = random.Random(0)
    hidden = [n.id for n in dag.nodes if n.id not in dag.inputs and n.id not in dag.outputs]
    arcs = [a.id for a in dag.arcs]
    for _ in range(25):
        sel = Selection.from_ids(dag, rng.sample(hidden, rng.randint(0, 4)) + rng.sample(arcs, rng.randint(0, 6)))
        first, again = validity.check(dag, sel), validity.check(dag, sel)
        assert again is first  # kept
        assert first == validity._verdict(dag, sel) and first.suggestion == validity._verdict(dag, sel).suggestion
        if first.ok:
            assert unit_plan(dag, first) == _plan(dag, first, frozenset())
    # kept per graph object: an equal graph built again computes its own, with the same answer
    lm2, dag2 = _graph()
    sel = Selection.from_ids(dag, hidden[:1])
    assert validity.check(dag2, Selection.from_ids(dag2, hidden[:1])) == validity.check(dag, sel)


def test_a_pruned_model_is_the_same_with_kept_results():
    lm, dag = _graph()
    sel = Selection.from_ids(dag, ["fc1[0]", "fc2[3]->out[1]"])
    a, b = apply(lm.model, dag, sel, lm.example_input), apply(lm.model, dag, sel, lm.example_input)
    assert a.mask.keys() == b.mask.keys() and all((a.mask[k] == b.mask[k]).all() for k in a.mask.keys())
    assert [n.id for n in a.dag.nodes] == [n.id for n in b.dag.nodes]  # the lazily traced pruned graph


def test_results_are_forgotten_with_their_graph():
    memo = PerGraph(keep=2)
    _, dag = _graph()
    memo.get(dag, "k", lambda: 1)
    assert len(memo._held) == 1
    del dag
    gc.collect()
    assert memo._held == {}


def test_counts_with_the_kept_dense_macs_equal_counts_traced_afresh(tmp_path):
    """`removal_counts` and an export's counts take the dense MACs kept per graph (a masked copy has the dense
    architecture): the same numbers as `cost` tracing each network itself."""
    import json

    from explorer.pruning.apply import removal_counts
    from explorer.pruning.cost import cost
    from explorer.pruning.export import export

    lm, dag = _graph()
    sel = Selection.from_ids(dag, ["fc1[0]", "fc1[2]", "fc2[3]->out[1]"])
    pm = apply(lm.model, dag, sel, lm.example_input)
    fresh_dense, fresh_pruned = cost(lm.model, lm.example_input), cost(pm.model, lm.example_input)
    counts = removal_counts(lm.model, dag, validity.check(dag, sel), lm.example_input)
    assert counts["params"] == fresh_dense.nonzero - fresh_pruned.nonzero > 0
    assert counts["macs"] == fresh_dense.effective_macs - fresh_pruned.effective_macs > 0
    doc = json.loads((export(pm, tmp_path / "e", spec="moons_mlp", seed=0, x=lm.example_input, dense=lm.model,
                             onnx=False) / "spec.json").read_text())
    assert doc["counts"] == {"dense": fresh_dense.as_dict(), "pruned": fresh_pruned.as_dict()}


def test_merge_heads_and_skip_arcs_are_found_once_per_graph_and_equal_a_direct_reading():
    """The Prune page's shortcuts ask for a graph's merge heads and skip arcs on every run (every student's):
    found once per graph, equal to the graph read directly, and a caller's list is its own."""
    from explorer.graph.build import build_dag
    from explorer.pruning import operations as ops

    dag = build_dag("resnet_tiny", "op", seed=0)
    skips = [a.id for a in dag.arcs if dag.level[a.dst] - dag.level[a.src] > 1]  # the definition, read directly
    heads = [n.id for n in dag.nodes if n.op in ("add", "cat")]  # resnet_tiny's merges: its residual adds
    assert [a.id for a in ops.skip_arcs(dag)] == skips and skips
    assert ops.merge_heads(dag) == heads and heads
    mine = ops.merge_heads(dag)
    mine.clear()  # a caller's copy: the kept result is untouched
    assert ops.merge_heads(dag) == heads
    other = build_dag("mlp_skip", "op", seed=0)  # another graph has its own
    assert ops.merge_heads(other) != heads
