"""Real browser: the graph is the selection tool. In the Prune graph's default drag mode a click on a
node, then on an arc's diamond, selects exactly that node and that arc (the summary names them), and
box select still adds to it; on Architecture a click opens the node inspector; on the bundled unit-level
lottery_mlp (280,000 arcs drawn as bands, nodes in WebGL) a drag zooms in and a click selects a unit
and draws its own arcs one by one. Marker positions come from the plotly figure in the page (`_fullLayout` axes)."""

from __future__ import annotations

import re

import pytest
from browser_harness import assert_no_errors, open_page, screenshot, wait_idle

pytestmark = pytest.mark.browser

POINT_JS = """([trace, id]) => {
    for (const p of document.querySelectorAll('.js-plotly-plot')) {
        const t = (p._fullData || []).find(t => t.name === trace);
        if (!t || !(p._fullData || []).some(t => t.name === 'nodes')) continue;
        const k = Array.from(t.customdata || []).map(c => Array.isArray(c) ? c[0] : c).indexOf(id);
        if (k < 0) return null;
        const fl = p._fullLayout, r = p.getBoundingClientRect();
        return {x: r.left + fl.xaxis._offset + fl.xaxis.l2p(Number(t.x[k])),
                y: r.top + fl.yaxis._offset + fl.yaxis.l2p(Number(t.y[k]))};
    }
    return null;
}"""

MIDPOINTS_JS = """() => {
    for (const p of document.querySelectorAll('.js-plotly-plot')) {
        const t = (p._fullData || []).find(t => t.name === 'arc midpoints');
        if (t) return Array.from(t.customdata || []);
    }
    return null;
}"""


def click_marker(page, trace: str, item: str) -> None:
    """Hover, then click, the marker of `item` (a node id or an arc id) on the page's DAG plot."""
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    xy = page.evaluate(POINT_JS, [trace, item])
    assert xy, f"{item} is not on the {trace} trace of the graph"
    page.mouse.move(xy["x"] - 30, xy["y"] - 30)
    page.mouse.move(xy["x"], xy["y"], steps=4)  # plotly picks what a click selects from the hover
    page.wait_for_timeout(300)
    page.mouse.click(xy["x"], xy["y"])
    page.wait_for_timeout(600)
    wait_idle(page)


def selection_heading(page) -> str:
    return page.locator("h3").filter(has_text=re.compile(r"^Selection:")).first.inner_text().strip()


def selected_caption(page) -> str:
    return page.get_by_text(re.compile(r"^Selected: ")).first.inner_text().strip()


def test_a_click_selects_a_node_then_an_arc_and_box_select_adds(page, app_url):
    open_page(page, app_url, "Prune?v=1&model=resnet_tiny&g=op")
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    wait_idle(page)
    assert_no_errors(page)
    assert selection_heading(page) == "Selection: 0 nodes, 0 arcs"

    click_marker(page, "nodes", "block2_conv1")  # the modebar untouched: the default drag mode
    assert selection_heading(page) == "Selection: 1 node, 0 arcs"
    assert selected_caption(page) == "Selected: 1 node (block2_conv1)"

    click_marker(page, "arc midpoints", "block1_bn2->add")
    assert selection_heading(page) == "Selection: 1 node, 1 arc"
    assert "1 arc (block1 bn2 → add)" in selected_caption(page)
    screenshot(page, "prune_click_selected")

    page.locator(".js-plotly-plot").first.hover()
    page.locator('.modebar-btn[data-title="Box Select"]').first.click()
    box = page.evaluate("""(ids) => ids.map(id => (%s)(['nodes', id]))""" % POINT_JS, ["fc", "output"])
    x0, x1 = min(b["x"] for b in box) - 12, max(b["x"] for b in box) + 12
    y0, y1 = min(b["y"] for b in box) - 12, max(b["y"] for b in box) + 12
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
    page.wait_for_timeout(800)
    wait_idle(page)
    heading = selection_heading(page)
    assert heading.startswith("Selection: 3 nodes") or heading.startswith("Selection: 4 nodes"), heading
    assert "fc" in selected_caption(page) and "block2_conv1" in selected_caption(page)


def test_a_click_on_architecture_opens_the_node_inspector(page, app_url):
    open_page(page, app_url, "Architecture?v=1&model=resnet_tiny&g=op")
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    wait_idle(page)
    click_marker(page, "nodes", "block1_conv1")
    panel = page.locator(".st-key-arch-inspector")
    panel.wait_for(timeout=60_000)
    assert panel.inner_text().startswith("block1_conv1")
    assert page.get_by_text(re.compile(r"Selected: 1 node, 0 arcs")).count() >= 1
    assert_no_errors(page)


def test_a_click_on_a_bundled_unit_graph_selects_the_unit_and_draws_its_arcs(page, app_url):
    open_page(page, app_url, "Prune?v=1&model=lottery_mlp&g=unit")
    page.wait_for_selector(".js-plotly-plot", timeout=300_000)
    wait_idle(page)
    assert_no_errors(page)
    assert page.get_by_text(re.compile(r"280,000 arcs are too many to draw one by one")).count() == 1
    assert not page.evaluate(MIDPOINTS_JS)  # every arc in a band: nothing to click but nodes
    # 500 units in a column sit 2 px apart: zoom in on the middle one first (a drag, the default mode), then click
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    xy = page.evaluate(POINT_JS, ["nodes", "fc2[250]"])
    page.mouse.move(xy["x"] - 60, xy["y"] - 25)
    page.mouse.down()
    page.mouse.move(xy["x"], xy["y"], steps=4)
    page.mouse.move(xy["x"] + 60, xy["y"] + 25, steps=4)
    page.mouse.up()
    page.wait_for_timeout(800)
    click_marker(page, "nodes", "fc2[250]")
    assert selection_heading(page) == "Selection: 1 node, 0 arcs"
    assert selected_caption(page) == "Selected: 1 node (fc2[250])"
    mids = page.evaluate(MIDPOINTS_JS)
    assert sorted(mids) == sorted({m for m in mids if "fc2[250]" in m.split("->")}) and len(mids) == 510
    screenshot(page, "prune_lottery_unit_click")
