"""Real browser: on the Prune page, switch the plotly modebar to box select, drag a box
around nodes of the DAG, see the selection, counts and zeroed matrix entries change,
prune, and see the dense/masked/compacted table. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from browser_harness import assert_no_errors, open_page, screenshot, wait_idle

pytestmark = pytest.mark.browser

# per default model: two consecutive nodes of a residual branch (the skip keeps the add fed), and the
# node that is the only way to the output
TARGETS = {"resnet_tiny": (("block1_conv1", "block1_bn1"), "fc"), "mlp_skip": (("fc2", "relu_1"), "out")}


def _model(page) -> str:
    title = page.evaluate("""() => {
        for (const p of document.querySelectorAll('.js-plotly-plot'))
            if ((p.data || []).some(t => t.name === 'nodes'))
                return (p.layout.title && (p.layout.title.text || p.layout.title)) || '';
        return '';
    }""")
    name = next((m for m in TARGETS if m in title), None)
    assert name, f"the Prune page opened on a model this test does not know: {title!r}"
    return name


def _metric(page, label: str) -> str:
    m = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return m.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _matrix_title(page) -> str:
    return page.evaluate("""() => {
        for (const p of document.querySelectorAll('.js-plotly-plot')) {
            if ((p.data || []).some(t => t.type === 'heatmap'))
                return (p.layout.title && (p.layout.title.text || p.layout.title)) || '';
        }
        return '';
    }""")


def _node_box(page, ids) -> dict:
    """Page-pixel box around the markers of `ids` on the DAG plot."""
    return page.evaluate("""(ids) => {
        for (const p of document.querySelectorAll('.js-plotly-plot')) {
            const k = (p._fullData || []).findIndex(t => t.name === 'nodes');
            if (k < 0) continue;
            const t = p._fullData[k], fl = p._fullLayout, r = p.getBoundingClientRect();
            const xs = [], ys = [];
            t.customdata.forEach((c, i) => {
                const id = Array.isArray(c) ? c[0] : c;
                if (ids.includes(id)) {
                    xs.push(r.left + fl.xaxis._offset + fl.xaxis.l2p(Number(t.x[i])));
                    ys.push(r.top + fl.yaxis._offset + fl.yaxis.l2p(Number(t.y[i])));
                }
            });
            return {x0: Math.min(...xs) - 12, x1: Math.max(...xs) + 12,
                    y0: Math.min(...ys) - 12, y1: Math.max(...ys) + 12, n: xs.length};
        }
        return null;
    }""", list(ids))


def test_box_select_on_the_dag_then_prune(page, app_url):
    open_page(page, app_url, "Prune")
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    wait_idle(page)
    assert_no_errors(page)
    assert _metric(page, "nodes removed") == "0"
    title_before = _matrix_title(page)

    dag_plot = page.locator(".js-plotly-plot").first
    dag_plot.scroll_into_view_if_needed()
    dag_plot.hover()
    page.locator('.modebar-btn[data-title="Box Select"]').first.click()
    targets = TARGETS[_model(page)][0]
    box = _node_box(page, targets)
    assert box and box["n"] == len(targets), box
    page.mouse.move(box["x0"], box["y0"])
    page.mouse.down()
    page.mouse.move((box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2, steps=5)
    page.mouse.move(box["x1"], box["y1"], steps=8)
    page.mouse.up()
    page.wait_for_timeout(800)
    wait_idle(page)
    assert_no_errors(page)
    screenshot(page, "prune_box_selected")

    # the box picked the two nodes: counts and the zeroed entries of T_l change
    assert page.get_by_text(re.compile(r"Selection: 2 nodes")).count() >= 1
    removed = int(_metric(page, "nodes removed"))
    assert removed >= 3  # the rest of the branch goes with them (its input is gone)
    assert _metric(page, "params removed") != "0"
    title_after = _matrix_title(page)
    assert title_after != title_before and re.search(r"[1-9]\d* (entries|entry) zeroed", title_after), title_after

    page.get_by_role("button", name="Prune", exact=True).click()
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=180_000)
    wait_idle(page)
    assert_no_errors(page)
    assert page.get_by_text("do not speed anything up").count() >= 1
    assert page.get_by_role("button", name="Export (zip)").count() == 1
    screenshot(page, "prune_pruned")

    # the export is zipped when clicked (not on every run of the page): the file a person gets holds it
    import io
    import json
    import zipfile

    with page.expect_download(timeout=120_000) as dl:
        page.get_by_role("button", name="Export (zip)").click()
    z = zipfile.ZipFile(io.BytesIO(open(dl.value.path(), "rb").read()))
    files = {n.split("/", 1)[-1]: n for n in z.namelist()}  # the export's folder, zipped with its name
    assert {"spec.json", "selection.json", "mask.safetensors"} <= set(files), z.namelist()
    assert json.loads(z.read(files["selection.json"]))["nodes"], "the exported selection is not the one pruned"
    with page.expect_download(timeout=120_000) as dl:
        page.get_by_role("button", name="Compacted ONNX").click()
    assert open(dl.value.path(), "rb").read(64).startswith(b"\x08"), "not an ONNX protobuf"


def test_lasso_on_an_invalid_region_is_refused_with_a_suggestion(page, app_url):
    open_page(page, app_url, "Prune")
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    wait_idle(page)
    dag_plot = page.locator(".js-plotly-plot").first
    dag_plot.scroll_into_view_if_needed()
    dag_plot.hover()
    page.locator('.modebar-btn[data-title="Lasso Select"]').first.click()
    only = TARGETS[_model(page)][1]
    box = _node_box(page, (only,))  # the only way to the output
    assert box and box["n"] == 1, box
    cx, cy = (box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2
    page.mouse.move(cx - 14, cy - 14)
    page.mouse.down()
    for dx, dy in ((14, -14), (14, 14), (-14, 14), (-14, -14)):
        page.mouse.move(cx + dx, cy + dy, steps=4)
    page.mouse.up()
    page.wait_for_timeout(800)
    wait_idle(page)
    alerts = page.locator('[data-testid="stAlertContentError"]')
    assert alerts.count() >= 1 and "Refused" in alerts.first.inner_text()
    assert "node output would have no input" in alerts.first.inner_text()
    assert page.get_by_role("button", name="Prune", exact=True).is_disabled()
    screenshot(page, "prune_refused")


def test_box_select_on_architecture_hands_the_selection_to_prune(page, app_url):
    open_page(page, app_url, "Architecture")
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    wait_idle(page)
    assert_no_errors(page)
    dag_plot = page.locator(".js-plotly-plot").first
    dag_plot.scroll_into_view_if_needed()
    dag_plot.hover()
    page.locator('.modebar-btn[data-title="Box Select"]').first.click()
    name = _model(page)
    box = _node_box(page, TARGETS[name][0])
    assert box and box["n"] == 2, box
    page.mouse.move(box["x0"], box["y0"])
    page.mouse.down()
    page.mouse.move((box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2, steps=5)
    page.mouse.move(box["x1"], box["y1"], steps=5)
    page.mouse.up()
    page.get_by_text("Selected:").first.wait_for(timeout=60_000)
    wait_idle(page)
    screenshot(page, "architecture_selected")
    page.get_by_role("button", name="Prune this selection").click()
    page.get_by_text("nodes removed").first.wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_errors(page)
    assert int(_metric(page, "nodes removed")) >= 2
    screenshot(page, "prune_from_architecture")
