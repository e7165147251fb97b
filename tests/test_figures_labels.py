"""Labelled graphs: block names and kept shortcuts, landmark labels on big op graphs, the node
facts of the inspector, level widths for chains, and human wording."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import models
from explorer.figures.dag_plot import TRACE_NODES, TRACE_SKIP_ARCS, dag_figure
from explorer.figures.level_widths import level_width_figure
from explorer.figures.node_labels import ANGLED_GAP_PX, label_plan, node_facts, node_label
from explorer.figures.wording import arc_text, plural, selection_text
from explorer.graph.block import block_dag
from explorer.graph.dag import Arc, Dag, Node
from explorer.graph.trace import trace


def chain(n: int, op: str = "linear") -> Dag:
    nodes = [Node("x", "input")] + [Node(f"n{k}", op if k % 2 else "relu", shape=(4,)) for k in range(n)]
    arcs = [Arc(a.id, b.id) for a, b in zip(nodes, nodes[1:])]
    return Dag.build(nodes, arcs, "op", name="chain")


@pytest.fixture(scope="module")
def tiny_blocks():
    lm = models.load("resnet_tiny")
    op = trace(lm.model, lm.example_input)
    return op, block_dag(op, depth=1)


def test_block_arcs_keep_the_op_level_shortcuts_visible(tiny_blocks):
    op, b = tiny_blocks
    carried = [a for a in b.arcs if a.meta.get("op_skips")]
    assert carried, "resnet_tiny's identity shortcut into block1 should be carried by a block arc"
    for a in carried:  # each carried skip really spans >= 2 op levels and joins the two blocks
        for s, d in a.meta["op_skips"]:
            assert op.level[d] - op.level[s] >= 2
            assert b.meta["group_of"][s] == a.src and b.meta["group_of"][d] == a.dst
    fig = dag_figure(b)
    skip = next(t for t in fig.data if t.name == TRACE_SKIP_ARCS)
    assert np.isfinite(np.asarray(skip.x, dtype=float)).sum() > 0  # drawn although the block arcs span one level
    assert "shortcut" in fig.layout.title.text


def test_blocks_are_named_by_class_and_shape(tiny_blocks):
    _, b = tiny_blocks
    assert node_label(b, "block1") == "BasicBlock · 8×8×8"
    nodes = next(t for t in dag_figure(b).data if t.name == TRACE_NODES)
    assert "BasicBlock · 16×4×4" in list(nodes.text)
    facts = dict(node_facts(b, "block2"))
    assert facts["op"] == "BasicBlock" and facts["module"] == "block2" and int(facts["ops inside"]) > 1


def test_node_facts_list_what_the_inspector_shows():
    lm = models.load("mlp_skip")
    dag = trace(lm.model, lm.example_input)
    facts = dict(node_facts(dag, "add"))
    for k in ("op", "output shape", "params", "MACs", "level", "in arcs", "out arcs"):
        assert k in facts
    assert facts["in arcs"].startswith(f"{len(dag.in_arcs('add'))}: from ")
    assert facts["level"] == str(dag.level["add"])


def test_small_graphs_label_every_node_big_chains_get_spaced_landmarks():
    small = chain(8)
    assert label_plan(small) == ("text", small.order())
    big = chain(300)
    mode, ids = label_plan(big, 800)
    assert mode == "angled" and 10 <= len(ids) < 300
    levels = sorted(big.level[i] for i in ids)
    per_level = 800 / (big.depth + 1)
    assert min(b - a for a, b in zip(levels, levels[1:])) * per_level >= ANGLED_GAP_PX  # labels do not collide
    assert all(big.node(i).op != "relu" for i in ids)  # landmarks, not activations
    fig = dag_figure(big)
    assert len(fig.layout.annotations) == len(ids)
    assert {a.text for a in fig.layout.annotations} == set(ids)


def test_level_widths_of_a_chain_say_so_and_a_wide_graph_gets_bars():
    fig = level_width_figure(chain(5))
    assert fig.layout.title.text.startswith("chain: one node per level") and fig.data[0].type == "heatmap"
    nodes = [Node("x", "input")] + [Node(f"a{k}", "relu") for k in range(3)] + [Node("y", "add")]
    arcs = [Arc("x", f"a{k}") for k in range(3)] + [Arc(f"a{k}", "y") for k in range(3)]
    wide = level_width_figure(Dag.build(nodes, arcs, "op"))
    assert wide.data[0].type == "bar" and list(wide.data[0].y) == [1, 3, 1]


def test_mostly_chain_widths_mark_the_branch_levels():
    nodes = [Node("x", "input")] + [Node(f"n{k}", "relu") for k in range(20)] + [Node("b", "conv2d")]
    arcs = [Arc(a.id, c.id) for a, c in zip(nodes[:21], nodes[1:21])] + [Arc("n3", "b"), Arc("b", "n5")]
    fig = level_width_figure(Dag.build(nodes, arcs, "op"))
    assert fig.layout.title.text.startswith("mostly a chain")
    marks = next(t for t in fig.data if t.name == "branch levels")
    assert len(marks.x) == 1 and marks.y[0] == 2


def test_human_wording():
    from explorer.pruning.selection import Selection

    assert plural(1, "arc") == "1 arc" and plural(2, "arc") == "2 arcs" and plural(0, "node") == "0 nodes"
    assert arc_text("block1_bn2->add") == "block1 bn2 → add"
    text = selection_text(Selection("op", ("a", "b"), ("a->b",)))
    assert "Selection(" not in text and "2 nodes" in text and "a → b" in text


def test_the_playground_curves_legend_hangs_below_the_step_title():
    """The legend sat on the bottom axis's title: "step" was drawn over the "regions" entry (screenshot
    assets/playground_pruned.png before the fix). It now hangs from below the title, in a margin kept for it."""
    from explorer.figures.playground_curves import curves_figure

    frames = [dict(step=s, train_loss=1.0, test_loss=1.0, count=10, per_level=[5, 8, 10], distance=0.1, pruned=[])
              for s in range(0, 200, 20)]
    fig = curves_figure(frames)
    assert fig.layout.xaxis3.title.text == "step"
    assert fig.layout.legend.yanchor == "top" and fig.layout.legend.y <= -0.12 and fig.layout.margin.b >= 60
