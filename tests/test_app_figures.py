"""Figures and the pyvis view, checked as properties of the Dag they draw."""

from __future__ import annotations

import random

import numpy as np
import plotly.graph_objects as go
import pytest

from explorer.graph.dag import Arc, Dag, Node
from explorer.figures.dag_plot import GL_THRESHOLD, TRACE_ORDER, dag_figure, figure_html, search_nodes
from explorer.figures.layout import crossings, level_layout
from explorer.figures.matrix_plot import level_blocks, matrix_figure
from explorer.figures.pyvis_view import PyvisViewError, external_resources, pyvis_html


def random_dag(n: int, seed: int, fan_in: int = 3, window: int = 8) -> Dag:
    rnd = random.Random(seed)
    nodes = [Node("in", "input", shape=(3,))]
    arcs = []
    for k in range(n):
        i = f"n{k}"
        prev = [x.id for x in nodes[-window:]]
        for s in rnd.sample(prev, min(len(prev), rnd.randint(1, fan_in))):
            arcs.append(Arc(s, i, label="f"))
        nodes.append(Node(i, rnd.choice(["conv", "relu", "add"]), module=f"block{k // 5}.m", shape=(4,),
                          params=k, macs=2 * k))
    return Dag.build(nodes, arcs, "op", name=f"random{seed}")


def layered_dag(widths: list[int], seed: int) -> Dag:
    """A layered graph with random arcs between adjacent layers only, nodes in random order."""
    rnd = random.Random(seed)
    layers = [[f"l{a}_{b}" for b in range(w)] for a, w in enumerate(widths)]
    nodes = [Node(i, "unit") for layer in layers for i in layer]
    arcs = []
    for lo, hi in zip(layers, layers[1:]):
        for v in hi:
            for u in rnd.sample(lo, rnd.randint(1, min(2, len(lo)))):
                arcs.append(Arc(u, v))
        for u in lo:  # every node keeps an out-arc
            if not any(a.src == u for a in arcs):
                arcs.append(Arc(u, rnd.choice(hi)))
    return Dag.build(nodes, arcs, "op")


def gaps(xs) -> int:
    """Number of pen lifts (None or NaN) in a line trace's coordinates."""
    return int(sum(1 for v in xs if v is None or v != v))


@pytest.mark.parametrize("seed", range(4))
def test_dag_figure_traces_carry_ids_and_levels(seed):
    dag = random_dag(40, seed)
    fig = dag_figure(dag)
    assert tuple(t.name for t in fig.data) == TRACE_ORDER
    nodes = fig.data[TRACE_ORDER.index("nodes")]
    assert list(nodes.customdata) == dag.order()
    # x is the level, the colour value is the level too
    assert [int(x) for x in nodes.x] == [dag.level[i] for i in dag.order()]
    assert list(nodes.marker.color) == [dag.level[i] for i in dag.order()]
    assert nodes.marker.colorbar.title.text == "level"
    mids = fig.data[TRACE_ORDER.index("arc midpoints")]
    assert sorted(mids.customdata) == sorted(a.id for a in dag.arcs)
    # arcs are ONE trace per kind, segments separated by gaps (NaN: plotly lifts the pen)
    plain, skip = fig.data[TRACE_ORDER.index("arcs")], fig.data[TRACE_ORDER.index("skip arcs")]
    n_skip = sum(1 for a in dag.arcs if dag.level[a.dst] - dag.level[a.src] > 1)
    assert gaps(skip.x) == n_skip
    assert gaps(plain.x) == len(dag.arcs) - n_skip
    # a skip arc's polyline stays between its source level and its head's level
    xs = np.asarray(skip.x, dtype=float)
    assert ((xs[~np.isnan(xs)] >= 0) & (xs[~np.isnan(xs)] <= dag.depth)).all()


def test_dag_figure_selection_and_search():
    dag = random_dag(30, 1)
    arc = dag.arcs[5]
    fig = dag_figure(dag, selected_nodes=[dag.order()[3]], selected_arcs=[arc.id], dimmed=[dag.order()[4]])
    sel = fig.data[TRACE_ORDER.index("selected arcs")]
    assert gaps(sel.x) == 1
    nodes = fig.data[-1]
    k3, k4 = 3, 4
    assert nodes.marker.line.width[k3] > nodes.marker.line.width[0]
    assert nodes.marker.opacity[k4] < 1 and nodes.marker.opacity[0] == 1
    hits, nbrs = search_nodes(dag, "n7")
    assert "n7" in hits and set(dag.predecessors("n7")) <= nbrs | set(hits)
    fig = dag_figure(dag, search="n7")
    op = dict(zip(fig.data[-1].customdata, fig.data[-1].marker.opacity))
    assert op["n7"] == 1 and all(op[i] == 1 for i in nbrs)
    assert all(op[i] < 1 for i in dag.order() if i not in nbrs and i not in hits)
    assert gaps(fig.data[TRACE_ORDER.index("highlighted arcs")].x) == len(
        [a for a in dag.arcs if a.src in hits or a.dst in hits])


def test_big_graph_uses_webgl_and_one_arc_trace():
    dag = random_dag(GL_THRESHOLD + 200, 2)
    fig = dag_figure(dag)
    assert isinstance(fig.data[-1], go.Scattergl) and isinstance(fig.data[TRACE_ORDER.index("arcs")], go.Scattergl)
    assert len(fig.data) == len(TRACE_ORDER)  # never one trace per arc


def test_level_layout_positions_and_fewer_crossings():
    improved = 0
    for seed in range(6):
        dag = layered_dag([6, 8, 8, 6], seed)
        pos = level_layout(dag)
        assert {i: int(x) for i, (x, _) in pos.items()} == dag.level
        for level_ids in dag.levels():  # distinct y within a level
            assert len({pos[i][1] for i in level_ids}) == len(level_ids)
        naive = level_layout(dag, sweeps=0)
        assert crossings(dag, pos) <= crossings(dag, naive)
        improved += crossings(dag, pos) < crossings(dag, naive)
    assert improved >= 3, "barycentre ordering should usually remove crossings"


def test_crossings_counts_an_x():
    dag = Dag.build([Node("a", "i"), Node("b", "i"), Node("c", "o"), Node("d", "o")],
                    [Arc("a", "d"), Arc("b", "c")], "op")
    pos = {"a": (0.0, 1.0), "b": (0.0, 0.0), "c": (1.0, 1.0), "d": (1.0, 0.0)}
    assert crossings(dag, pos) == 1


def test_matrix_figure_blanks_zeros_marks_band_and_zeroed():
    ids = ["x", "h1", "h2", "y"]
    T = np.eye(4)
    T[1, 0], T[2, 0], T[3, 1] = 0.5, -2.0, 3.0
    fig = matrix_figure(ids, T, band=["h1", "h2"], zeroed=[("h2", "x")])
    Z = np.array(fig.data[0].z, dtype=float)
    assert np.isnan(Z[np.triu_indices(4, 1)]).all()  # upper triangle blank
    assert np.allclose(np.diag(Z), 1.0)
    assert np.isnan(Z[3, 0]) and Z[2, 0] == -2.0
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 1 and (rects[0].y0, rects[0].y1) == (0.5, 2.5)
    assert list(fig.data[1].x) == ["x"] and list(fig.data[1].y) == ["h2"]
    with pytest.raises(ValueError, match="does not match"):
        matrix_figure(ids[:3], T)


def test_matrix_figure_symbolic_labels_keep_entries_visible():
    ids = ["x", "conv", "add"]
    M = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=float)
    labels = [["", "", ""], ["conv3x3", "", ""], ["id", "add", ""]]
    fig = matrix_figure(ids, M, labels=labels)
    assert fig.data[0].texttemplate == "%{text}"
    assert fig.data[0].text[1][0] == "conv3x3"


def test_level_blocks_match_a_direct_norm():
    rnd = np.random.default_rng(0)
    dag = random_dag(25, 3)
    ids = dag.order()
    M = np.tril(rnd.normal(size=(len(ids), len(ids))))
    names, B = level_blocks(ids, M, dag.level)
    assert len(names) == dag.depth + 1
    for a in range(dag.depth + 1):
        for b in range(dag.depth + 1):
            entries = [M[i, j] for i, r in enumerate(ids) for j, c in enumerate(ids)
                       if dag.level[r] == a and dag.level[c] == b]
            expect = np.sqrt(sum(e * e for e in entries)) if b <= a else 0.0
            assert B[a, b] == pytest.approx(expect)


def test_pyvis_view_is_offline_and_complete():
    dag = random_dag(30, 4)
    html = pyvis_html(dag)
    assert external_resources(html) == []
    assert "vis.Network" in html or "new vis" in html
    for i in dag.order():
        assert f'"{i}"' in html
    assert external_resources('<script src="https://cdn.example/x.js"></script>') == ["https://cdn.example/x.js"]
    with pytest.raises(PyvisViewError, match="block granularity"):
        pyvis_html(dag, max_nodes=10)


def test_standalone_html_embeds_plotly():
    html = figure_html(dag_figure(random_dag(10, 5)))
    assert "<html>" in html.lower() and len(html) > 1_000_000  # plotly.js in-line
    assert external_resources(html) == []
