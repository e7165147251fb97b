"""Heavy views drawn honestly: past a budget, a unit-level graph's arcs are bundled between layers (every
arc still accounted for, single arcs where the user searches or selects, a selection red either way),
and a big lifting matrix is a picture with the same colours as its cells. Checked against references
computed differently: layers parsed from unit ids, colours from plotly's own colour-scale sampling, the
PNG decoded by Pillow."""

from __future__ import annotations

import base64
import io
import re
from collections import Counter

import numpy as np
import pytest

from explorer.figures.arcs import ARC_BUDGET, arc_plan
from explorer.figures.dag_plot import TRACE_ORDER, arcs_note, dag_figure
from explorer.figures.matrix_plot import CELLS_MAX, ZEROED_MAX, matrix_figure
from explorer.graph import build_dag


def trace(fig, name):
    return fig.data[TRACE_ORDER.index(name)]


def gaps(xs) -> int:
    return int(sum(1 for v in xs if v is None or v != v))


def layer(unit_id: str) -> str:
    return unit_id.split("[", 1)[0]  # "fc2[17]" -> "fc2": the reference for the bundles' layers


@pytest.fixture(scope="module")
def lottery():
    return build_dag("lottery_mlp", granularity="unit")


@pytest.fixture(scope="module")
def skip_mlp():
    return build_dag("mlp_skip", granularity="unit")


@pytest.mark.parametrize("which", ["lottery", "skip_mlp"])
def test_bundles_and_single_arcs_partition_the_arcs_by_layer_pair(which, request):
    dag = request.getfixturevalue(which)
    plan = arc_plan(dag)
    bundled = [k for b in plan.bundles for k in b.arcs]
    assert sorted(bundled + list(plan.individual)) == list(range(len(dag.arcs)))  # each arc exactly once
    assert len(plan.individual) <= ARC_BUDGET and plan.bundles
    sizes = Counter((dag.level[v.id], layer(v.id)) for v in dag.nodes)
    for b in plan.bundles:
        pairs = {(dag.level[dag.arcs[k].src], layer(dag.arcs[k].src), dag.level[dag.arcs[k].dst], layer(dag.arcs[k].dst))
                 for k in b.arcs}
        assert pairs == {(b.src_level, b.src, b.dst_level, b.dst)}
        assert b.pairs == sizes[(b.src_level, b.src)] * sizes[(b.dst_level, b.dst)]
    # a whole layer pair is either bundled or drawn: never split (the drawn ones are sparse or few)
    keys = {(layer(dag.arcs[k].src), layer(dag.arcs[k].dst)) for k in plan.individual}
    assert not keys & {(b.src, b.dst) for b in plan.bundles}


def test_the_figure_accounts_for_every_arc_and_stays_small(lottery, skip_mlp):
    for dag in (lottery, skip_mlp):
        fig = dag_figure(dag)
        drawn = gaps(trace(fig, "arcs").x) + gaps(trace(fig, "skip arcs").x)
        in_bundles = [int(m.replace(",", "")) for h in trace(fig, "bundle labels").hovertext
                      for m in re.findall(r"([\d,]+) arcs in one bundle", h)]
        assert drawn + sum(in_bundles) == len(dag.arcs)
        assert len(trace(fig, "arc midpoints").customdata) == drawn  # every drawn arc stays clickable
        assert len(fig.to_json()) < 1_000_000
        assert f"{sum(in_bundles):,}" in arcs_note(fig) and "one by one" in arcs_note(fig)
    # mlp_skip's sparse identity skip (fc1[i] -> fc3[i], 100 arcs) stays arc by arc; its dense layers are bands
    plan = arc_plan(skip_mlp)
    single = Counter((layer(skip_mlp.arcs[k].src), layer(skip_mlp.arcs[k].dst)) for k in plan.individual)
    assert single[("fc1", "fc3")] == 100
    assert {("fc1", "fc2"), ("fc2", "fc3")} <= {(b.src, b.dst) for b in plan.bundles}


def test_a_searched_unit_shows_its_own_arcs(lottery):
    fig = dag_figure(lottery, search="fc1[3]")
    mine = [a.id for a in lottery.arcs if "fc1[3]" in (a.src, a.dst)]
    hits = [a.id for a in lottery.arcs if a.src in ("fc1[3]", "fc1[30]", "fc1[300]") or a.dst in
            ("fc1[3]", "fc1[30]", "fc1[300]")]  # the search is a substring: fc1[30..] match too
    mids = set(trace(fig, "arc midpoints").customdata)
    assert set(mine) <= mids and gaps(trace(fig, "highlighted arcs").x) >= len(mine)
    assert len(mids) <= len(hits) + 1000  # the other shown arcs are the few small groups


def test_selected_arcs_are_red_one_by_one_or_on_their_bundle(lottery):
    few = [a.id for a in lottery.arcs if a.dst == "fc2[7]"][:12]
    fig = dag_figure(lottery, selected_arcs=few)
    assert gaps(trace(fig, "selected arcs").x) == len(few)
    assert set(few) <= set(trace(fig, "arc midpoints").customdata)
    many = [a.id for a in lottery.arcs if layer(a.src) == "fc1" and layer(a.dst) == "fc2"]  # 250,000
    fig = dag_figure(lottery, selected_arcs=many)
    assert gaps(trace(fig, "selected arcs").x) == 1  # one red line along the fc1 -> fc2 band
    hover = [h for h in trace(fig, "bundle labels").hovertext if "fc1 → fc2" in h]
    assert len(hover) == 1 and "250,000 selected" in hover[0]
    assert len(fig.to_json()) < 1_000_000


def test_a_small_graph_is_drawn_arc_by_arc():
    dag = build_dag("resnet_tiny", granularity="unit")
    fig = dag_figure(dag)
    assert len(dag.arcs) <= ARC_BUDGET and not arcs_note(fig)
    assert len(trace(fig, "arc midpoints").customdata) == len(dag.arcs)
    assert not len(trace(fig, "arc bundles").x) and not len(trace(fig, "bundle labels").x)


def _png_pixels(fig) -> np.ndarray:
    from PIL import Image

    src = fig.data[0].source
    assert src.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")
    return np.asarray(img)  # (rows, cols, 3)


def _rgb(color: str) -> np.ndarray:
    from plotly.colors import unlabel_rgb

    return np.array([float(v) for v in unlabel_rgb(color)[:3]]) if color.startswith("rgb") else np.array(
        [int(color[k:k + 2], 16) for k in (1, 3, 5)], dtype=float)


def test_a_big_matrix_is_a_picture_with_the_cells_colours():
    from plotly.colors import sample_colorscale

    rng = np.random.default_rng(0)
    n = 450  # 202,500 cells > CELLS_MAX
    T = np.tril(rng.normal(size=(n, n)) * (rng.random((n, n)) < 0.3), -1) + np.eye(n)
    ids = [f"u[{k}]" for k in range(n)]
    zeroed = [(ids[r], ids[c]) for r, c in [(5, 2), (300, 10), (449, 448)]]
    fig = matrix_figure(ids, T, zeroed=zeroed, band=ids[100:120])
    assert n * n > CELLS_MAX and fig.data[0].type == "image" and len(fig.to_json()) < 400_000
    px = _png_pixels(fig)
    assert px.shape == (n, n, 3)
    off = T[~np.eye(n, dtype=bool) & (T != 0)]
    r = np.abs(off).max()  # the signed scale is centred at 0, as for cells
    for i, j in [(7, 3), (200, 100), (449, 0)]:
        if T[i, j] != 0:
            want = _rgb(sample_colorscale("PRGn", [(T[i, j] + r) / (2 * r)])[0])
            assert np.abs(px[i, j] - want).max() <= 6, (i, j, px[i, j], want)
    zr, zc = np.nonzero(T == 0)
    lower = [(i, j) for i, j in zip(zr, zc) if j < i][:5]
    assert all((px[i, j] == 255).all() for i, j in lower)  # an exact zero is blank
    assert (px[0, n - 1] < 255).any() and (px[0, n - 1] > 200).all()  # the upper triangle is shaded grey
    for rid, cid in zeroed:
        assert tuple(px[ids.index(rid), ids.index(cid)]) == (214, 39, 40)  # SELECT_COLOR
    assert "450 × 450 entries drawn as a picture" in fig.layout.title.text and "3 zeroed" in fig.layout.title.text


def test_many_zeroed_entries_make_a_picture_and_few_stay_outlines():
    n = 120
    T = np.tril(np.ones((n, n)))
    ids = [f"u[{k}]" for k in range(n)]
    lower = [(ids[i], ids[j]) for i in range(n) for j in range(i)]
    few = matrix_figure(ids, T, zeroed=lower[:10])
    assert few.data[0].type == "heatmap" and len(few.data[1].x) == 10
    assert np.asarray(few.data[0].z).dtype == np.float32
    many = matrix_figure(ids, T, zeroed=lower[:ZEROED_MAX + 1])
    assert many.data[0].type == "image"
    px = _png_pixels(many)
    assert sum(tuple(px[ids.index(r), ids.index(c)]) == (214, 39, 40) for r, c in lower[:ZEROED_MAX + 1]) \
        == ZEROED_MAX + 1


def test_the_free_form_view_refuses_a_graph_of_too_many_arcs_and_the_page_says_why():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from explorer.figures.pyvis_view import MAX_ARCS, PyvisViewError, fits, pyvis_html

    mlp = build_dag("mlp", granularity="unit")  # 15,000 arcs: about 3 MB of vis-network edges
    assert len(mlp.arcs) > MAX_ARCS and "15,000 arcs" in fits(mlp) and "op granularity" in fits(mlp)
    with pytest.raises(PyvisViewError, match="op granularity"):
        pyvis_html(mlp)
    assert fits(build_dag("resnet_tiny", granularity="unit")) == ""
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "1_Architecture.py"),
                           default_timeout=300)
    for k, v in {"v": "1", "model": "mlp", "g": "unit", "free": "1"}.items():  # a link asking for it anyway
        at.query_params[k] = v
    at.run()
    assert not at.exception and not at.get("iframe")
    assert at.toggle(key="arch.pyvis").disabled
    assert any(c.value.startswith("Free-form view: mlp has 15,000 arcs") for c in at.caption)
