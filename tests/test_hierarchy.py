"""The module tree (`explorer.graph.hierarchy`) against the op graph and the model's own module list.

Properties: every view partitions the ops among its visible nodes (checked by module path prefix, not by
the tree's own lists), its arcs are exactly the op arcs between different visible nodes, every arc runs
left to right in the composed layout, and expanding every block and run gives back the op graph's nodes
and arcs. Repeats: the runs equal the runs of consecutive sibling modules of one class with the same
parameter and buffer shapes, counted from `model.named_modules()`. Search: a module path, its node-id
spelling and a trailing part of it name the same module, and the jump puts it on show.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from explorer import models
from explorer.graph import build_dag
from explorer.graph.hierarchy import HierarchyError, ModuleTree
from explorer.graph.trace_cache import from_doc, to_doc

ROOT = Path(__file__).resolve().parents[1]
LLAMA = f"{ROOT / 'bench' / 'models' / 'llama_decoder.py'}:Llama32"
SPECS = ["resnet_tiny", "torchvision:resnet18", LLAMA]


@pytest.fixture(scope="module", params=SPECS)
def case(request):
    dag = build_dag(request.param, "op")
    return request.param, dag, ModuleTree(dag)


def _ops_of(tree: ModuleTree, node) -> set[str]:  # noqa: ANN001
    """The ops a visible node stands for, by module path prefix (independent of the tree's lists)."""
    dag = tree.dag
    fixed = set(dag.inputs) | set(dag.outputs)
    if node.kind == "op":
        return {node.id}
    paths = tree.runs[node.id].members if node.kind == "run" else (node.id,)
    return {n.id for n in dag.nodes if n.id not in fixed
            and any(n.module == p or n.module.startswith(p + ".") for p in paths)}


def _check(tree: ModuleTree, opened: set[str]) -> None:
    view = tree.view(opened)
    dag = tree.dag
    owner: dict[str, str] = {}
    for n in view.nodes:
        ops = _ops_of(tree, n)
        assert len(ops) == n.ops, (n.id, len(ops), n.ops)
        for o in ops:
            assert o not in owner, f"op {o} is in both {owner[o]} and {n.id}"
            owner[o] = n.id
        lv = [dag.level[o] for o in ops]
        assert n.levels == (min(lv), max(lv))
    assert set(owner) == {n.id for n in dag.nodes}, "some op is on show in no visible node"
    want: dict[tuple[str, str], list[int]] = {}
    for a in dag.arcs:
        s, t = owner[a.src], owner[a.dst]
        if s != t:
            w = want.setdefault((s, t), [0, 0])
            w[0] += 1
            w[1] += dag.level[a.dst] - dag.level[a.src] > 1
    assert {(a.src, a.dst): [a.ops, a.skips] for a in view.arcs} == want
    x = {n.id: n.x for n in view.nodes}
    assert all(x[a.src] < x[a.dst] for a in view.arcs), "an arc runs right to left in the composed layout"
    assert len({(n.x, n.y) for n in view.nodes}) == len(view.nodes), "two visible nodes on one spot"


def test_views_partition_the_ops_and_bundle_their_arcs(case):
    _, dag, tree = case
    everything = set(tree.ops) - {""} | set(tree.runs)
    rng = random.Random(0)
    for opened in [set(), tree.default_open(), everything]:
        _check(tree, opened)
    for _ in range(6):
        _check(tree, {o for o in everything if rng.random() < 0.4})


def test_expanding_everything_gives_back_the_op_graph(case):
    _, dag, tree = case
    view = tree.view(set(tree.ops) - {""} | set(tree.runs))
    assert sorted(n.id for n in view.nodes) == sorted(n.id for n in dag.nodes)
    assert all(n.kind == "op" for n in view.nodes)
    assert sorted((a.src, a.dst) for a in view.arcs) == sorted((a.src, a.dst) for a in dag.arcs)
    assert all(a.ops == 1 for a in view.arcs)


def _expected_runs(model) -> dict[str, int]:  # noqa: ANN001
    """Runs of 2+ consecutive children of one class with the same parameter and buffer shapes, from
    `named_modules()` (children of one op, a bare Linear, are ops in the tree and not counted)."""
    out: dict[str, int] = {}
    mods = dict(model.named_modules())
    for path, m in mods.items():
        kids = list(m.named_children())
        k = 0
        while k < len(kids):
            j = k + 1

            def shape(c):  # noqa: ANN001, ANN202
                return (type(c).__name__, [tuple(p.shape) for p in c.state_dict().values()])

            while j < len(kids) and shape(kids[j][1]) == shape(kids[k][1]):
                j += 1
            if j - k > 1 and len(list(kids[k][1].modules())) > 1:
                first = f"{path}.{kids[k][0]}" if path else kids[k][0]
                out[first] = j - k
            k = j
    return out


def test_repeat_counts_match_the_module_list(case):
    spec, dag, tree = case
    model = models.load_cached(spec).model
    got = {r.members[0]: len(r.members) for r in tree.runs.values()}
    assert got == _expected_runs(model)
    if spec == LLAMA:
        run = tree.runs["model.layers.0-31"]
        assert (run.cls, len(run.members)) == ("LlamaDecoderLayer", 32)
        s = tree.summary(run.id)
        assert s["class"] == "LlamaDecoderLayer × 32"
        assert s["params"] == sum(p.numel() for p in model.model.layers.parameters())
        assert s["shape"] == dag.node(tree.ops["model.layers.31"][-1]).shape or s["shape"] is not None


def test_search_jumps_to_a_module_and_opens_its_ancestors():
    dag = build_dag(LLAMA, "op")
    tree = ModuleTree(dag)
    for q in ("model.layers.17.self_attn", "model_layers_17_self_attn", "layers_17_self_attn"):
        assert tree.find(q) == "model.layers.17.self_attn", q
    assert tree.find("no.such.module") is None
    target = "model.layers.17.self_attn"
    view = tree.view(tree.default_open() | tree.reveal(target))
    assert target in {n.id for n in view.nodes}, "the search's module is not on show"
    assert "model.layers.0-31" in view.opened  # the run holding it is un-rolled
    rolled = tree.view(tree.default_open())
    assert "model.layers.0-31" in {n.id for n in rolled.nodes}
    op = tree.ops[target][3]
    assert op in {n.id for n in tree.view(tree.reveal(op)).nodes}
    with pytest.raises(HierarchyError, match="not a module"):
        tree.view({"model.layers.99"})


def test_a_cached_graph_reads_back_as_traced():
    """The trace cache's JSON gives the same graph (ids, levels, arcs, shapes) and the same tree."""
    dag = build_dag("torchvision:resnet18", "op")
    back = from_doc(to_doc(dag))
    assert [n.id for n in back.nodes] == [n.id for n in dag.nodes] and back.level == dag.level
    assert [(a.src, a.dst, a.kind, a.label) for a in back.arcs] == [(a.src, a.dst, a.kind, a.label) for a in dag.arcs]
    assert [(n.shape, n.params, n.macs, n.module) for n in back.nodes] == \
        [(n.shape, n.params, n.macs, n.module) for n in dag.nodes]
    assert {r.id: r.members for r in ModuleTree(back).runs.values()} == \
        {r.id: r.members for r in ModuleTree(dag).runs.values()}
