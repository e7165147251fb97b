"""The SVG drawings Home paints with (explorer.figures.static): what they draw is read back from the
SVG and checked against the graph and the matrix themselves."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np

from explorer.figures.static import dag_svg, matrix_svg
from explorer.lessons import worked

NS = "{http://www.w3.org/2000/svg}"


def _ids(svg: str) -> set[str]:
    root = ET.fromstring(svg.encode())  # well-formed XML, or this raises
    return {e.get("id") for e in root.iter() if e.get("id")}


def _text_of(svg: str, gid: str) -> str:
    root = ET.fromstring(svg.encode())
    g = next(e for e in root.iter() if e.get("id") == gid)
    return "".join(t.text or "" for t in g.iter(f"{NS}text"))


def test_the_dag_drawing_holds_every_node_and_arc_and_each_weight():
    dag = worked.dag()
    svg = dag_svg(dag)
    ids = _ids(svg)
    assert {f"node-{n}" for n in dag.order()} <= ids
    assert {f"arc-{a.src}-{a.dst}" for a in dag.arcs} <= ids
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    weights = sorted(f"{a.weight:g}" for a in dag.arcs)
    assert sorted(t for t in texts if re.fullmatch(r"-?\d+", t)) == sorted(weights + ["0", "1", "2", "3"])  # + level ticks
    assert "skip arc" in texts and "level 3" in texts


def test_the_matrix_drawing_labels_exactly_the_nonzero_entries():
    dag = worked.dag()
    ids = dag.order()
    for l in range(1, dag.depth + 1):
        T = worked.transition(l)
        band = [i for i in ids if dag.level[i] == l]
        svg = matrix_svg(ids, T, band=band)
        cells = {g for g in _ids(svg) if g.startswith("cell-")}
        want = {f"cell-{ids[r]}-{ids[c]}" for r, c in zip(*np.nonzero(T))}
        assert cells == want
        for r, c in zip(*np.nonzero(T)):
            assert float(_text_of(svg, f"cell-{ids[r]}-{ids[c]}")) == T[r, c]
        assert "band" in _ids(svg)
    assert "band" not in _ids(matrix_svg(ids, np.eye(len(ids))))


def test_the_same_figure_gives_the_same_bytes():
    dag = worked.dag()
    assert dag_svg(dag) == dag_svg(dag)
