"""Side by side (explorer.sidebyside, the Compare page): nodes matched by module path and op, dense vs a Prune
export with the output change split by its removed arcs (against the pruned model's own forward), IMP
rounds from the shipped results, the figure's synced axes, the page (AppTest) and its link."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer import models
from explorer.figures.compare_plot import side_by_side
from explorer.graph.build import build_dag
from explorer.links.pages import PAGES
from explorer.pruning.apply import apply
from explorer.pruning.export import export
from explorer.pruning.selection import Selection
from explorer.sidebyside import CompareError, arc_terms, level_rows, of_export, of_models, of_rounds

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pruned_export(tmp_path_factory):
    """moons_mlp at unit level with a few arcs and one unit removed, exported as the Prune page does."""
    lm = models.load("moons_mlp")
    dag = build_dag(lm, "unit")
    arcs = sorted(dag.arcs, key=lambda a: abs(a.weight))[:6]
    hidden = next(n.id for n in dag.nodes if dag.level[n.id] == 1)
    sel = Selection(granularity="unit", nodes=(hidden,), arcs=tuple(a.id for a in arcs), model="moons_mlp")
    p = apply(lm.model, dag, sel, lm.example_input)
    return export(p, tmp_path_factory.mktemp("cmp") / "moons_cut", spec="moons_mlp", seed=0, x=lm.example_input,
                  onnx=False), p, lm


def test_models_are_matched_by_module_and_op():
    cmp = of_models("mlp_skip", "mlp_skip")
    assert cmp.match.counts() == {"matched": 11, "changed": 0, "only in A": 0, "only in B": 0}
    assert all(r["only in A"] == r["only in B"] == r["changed"] == 0 for r in level_rows(cmp)[0])
    cmp = of_models("mlp", "mlp_skip")
    a, b = cmp.a.dag, cmp.b.dag
    for i, j in cmp.match.pairs.items():
        assert (a.node(i).module, a.node(i).op) == (b.node(j).module, b.node(j).op)
    assert set(cmp.match.only_a) | set(cmp.match.pairs) == set(a.order())
    assert set(cmp.match.only_b) | set(cmp.match.pairs.values()) == set(b.order())


def test_dense_vs_pruned_export_and_its_output_change_by_removed_arc(pruned_export):
    folder, p, lm = pruned_export
    cmp = of_export(folder)
    assert cmp.kind == "pruned" and cmp.a.dag.granularity == "unit"
    removed = set(cmp.b.removed_arcs)
    assert set(p.selection.arcs) <= removed
    hidden = p.selection.nodes[0]
    assert {a.id for a in cmp.a.dag.arcs if hidden in (a.src, a.dst)} <= removed
    rows, how = level_rows(cmp)
    assert sum(r["only in A"] for r in rows) >= len(p.selection.arcs)
    t = arc_terms(cmp, seed=0)
    assert set(t.terms) == removed
    # independent: the dense model with the removed arcs' weights (and the cut unit's) zeroed, run by torch
    from explorer.lifting.inputs import view_input

    x = view_input(cmp.a.dag, 0)
    dense = lm.model.double()
    cut = p.model.double()  # apply() zeroes the selection in a copy of the dense weights
    want = (cut(x.double()) - dense(x.double())).detach().numpy().reshape(-1)
    np.testing.assert_allclose(t.pruned_out - t.dense_out, want, rtol=1e-7, atol=1e-9)
    assert t.exact, "small arcs and one unit: the activation pattern holds at this input"
    np.testing.assert_allclose(t.total(), want, rtol=1e-7, atol=1e-9)


def test_imp_rounds_from_the_shipped_results():
    cmp = of_rounds(1, 3)
    rows, _ = level_rows(cmp)
    assert rows and all(r["restored A→B"] == 0 for r in rows), "IMP masks only shrink"
    assert sum(r["pruned A→B"] for r in rows) == sum(r["kept in A"] - r["kept in B"] for r in rows) > 0
    assert all(0 < cmp.b.kept[n] <= cmp.a.kept[n] <= 1 for n in cmp.b.kept)
    with pytest.raises(CompareError, match="round 99"):
        of_rounds(0, 99)


def test_the_figure_shares_levels_and_zoom_and_marks_the_match():
    cmp = of_models("mlp", "mlp_skip")
    fig = side_by_side(cmp.a.dag, cmp.b.dag, cmp.match, selected_a=["x"], selected_b=[cmp.match.pairs["x"]],
                       changes_only=True)
    ia, ib = fig.layout.meta["nodes"]
    assert fig.layout.xaxis2.matches == "x" and fig.layout.yaxis2.matches == "y"
    na, nb = fig.data[ia], fig.data[ib]
    assert list(na.customdata) == cmp.a.dag.order() and list(nb.customdata) == cmp.b.dag.order()
    line = dict(zip(nb.customdata, nb.marker.line.color))
    assert line[cmp.match.only_b[0]] == "#d6197f" and line["x"] == "#e00000"
    opacity = dict(zip(na.customdata, na.marker.opacity))
    same = [i for i, s in cmp.match.status_a().items() if s == "same" and i != "x"]
    assert same and all(opacity[i] < 0.5 for i in same), "changes only dims the unchanged nodes"


def _values(v):
    """A plotly JSON array: a list, or numpy's typed-array form {"dtype", "bdata"}."""
    import base64

    return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist() if isinstance(v, dict) else v


def _node_traces(at):
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [t for t in fig["data"] if t.get("name") == "nodes"]


def test_compare_page_models_rounds_and_link():
    at = AppTest.from_file(str(ROOT / "pages/9_Compare.py"), default_timeout=300).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    a, b = _node_traces(at)
    assert len(a["customdata"]) == len(build_dag("mlp").nodes) and len(b["customdata"]) == len(build_dag("mlp_skip").nodes)
    assert any("only in B" in c.value for c in at.caption)
    assert at.dataframe, "the lifting diff table"
    at.session_state["cmp.kind"] = "rounds"
    at.session_state["cmp.metric"] = "kept"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    a, b = _node_traces(at)
    kept_b = dict(zip(b["customdata"], _values(b["marker"]["color"])))
    assert kept_b["fc1"] < 1.0 and b["marker"]["colorbar"]["title"]["text"] == "kept (fraction)"
    q = PAGES["Compare"].query(kind="rounds", i=1, j=3, g="op")
    assert q["kind"] == "rounds" and q["j"] == "3"


def test_compare_page_dense_vs_pruned_unit_terms(pruned_export, tmp_path, monkeypatch):
    import shutil

    from explorer import paths

    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    outside, _, _ = pruned_export
    at = AppTest.from_file(str(ROOT / "pages/9_Compare.py"), default_timeout=300)
    at.session_state["cmp.kind"] = "pruned"
    at.session_state["cmp.export"] = str(outside)
    at.run()
    assert not at.exception and at.error and "outside the exports folder" in at.error[0].value
    at = AppTest.from_file(str(ROOT / "pages/9_Compare.py"), default_timeout=300)
    at.session_state["cmp.a"] = "/tmp/evil.py:Net"
    at.run()
    assert not at.exception and at.error and "outside the models folder" in at.error[0].value
    folder = shutil.copytree(outside, paths.exports() / outside.name)
    at = AppTest.from_file(str(ROOT / "pages/9_Compare.py"), default_timeout=300)
    at.session_state["cmp.kind"] = "pruned"
    at.session_state["cmp.export"] = str(folder)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    verdicts = [s.value for s in at.success] + [w.value for w in at.warning]
    assert any(v.startswith(("Exact", "Flagged")) for v in verdicts), verdicts
    levels, out, arcs = (d.value for d in at.dataframe)  # the per-level diff, the outputs, the arcs
    assert len(arcs) == min(50, len(of_export(folder).b.removed_arcs))
    assert any(v.startswith("Exact") for v in verdicts)
    np.testing.assert_allclose(out["actual change"], out["sum of arc terms"], rtol=1e-6, atol=1e-9)
