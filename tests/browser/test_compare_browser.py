"""Real browser: the Compare page draws two panes that share their level axis and zoom (a drag-zoom in A
moves B), a click on a node in A selects it and its match in B, and the Architecture page's overlay choice
recolours the graph with a colour bar in the metric's unit. Screenshots: compare_models, compare_rounds,
architecture_overlay."""

from __future__ import annotations

import re

import pytest
from browser_harness import assert_no_errors, open_page, screenshot, wait_idle

pytestmark = pytest.mark.browser

PANES_JS = """() => {
    for (const p of document.querySelectorAll('.js-plotly-plot')) {
        const nodes = (p._fullData || []).filter(t => t.name === 'nodes');
        if (nodes.length !== 2) continue;
        const fl = p._fullLayout;
        return {a: Array.from(nodes[0].customdata), b: Array.from(nodes[1].customdata),
                xa: fl.xaxis.range.slice(), xb: fl.xaxis2.range.slice(), ya: fl.yaxis.range.slice(),
                yb: fl.yaxis2.range.slice()};
    }
    return null;
}"""

POINT_A_JS = """(id) => {
    for (const p of document.querySelectorAll('.js-plotly-plot')) {
        const nodes = (p._fullData || []).filter(t => t.name === 'nodes');
        if (nodes.length !== 2) continue;
        const t = nodes[0], k = Array.from(t.customdata).indexOf(id);
        const fl = p._fullLayout, r = p.getBoundingClientRect();
        return {x: r.left + fl.xaxis._offset + fl.xaxis.l2p(Number(t.x[k])),
                y: r.top + fl.yaxis._offset + fl.yaxis.l2p(Number(t.y[k])),
                x0: r.left + fl.xaxis._offset, w: fl.xaxis._length, y0: r.top + fl.yaxis._offset, h: fl.yaxis._length};
    }
    return null;
}"""


def test_two_panes_share_zoom_and_selection(page, app_url):
    open_page(page, app_url, "Compare?v=1&kind=models&a=mlp&b=mlp_skip&g=op")
    assert_no_errors(page)
    panes = page.evaluate(PANES_JS)
    assert panes and "fc1" in panes["b"] and "hidden_0" in panes["a"]
    assert panes["xa"] == panes["xb"], "one level axis"
    screenshot(page, "compare_models")
    # a click on the input node of A selects it, and its match in B
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    xy = page.evaluate(POINT_A_JS, "x")
    page.mouse.move(xy["x"] - 20, xy["y"] - 20)
    page.mouse.move(xy["x"], xy["y"], steps=4)
    page.wait_for_timeout(300)
    page.mouse.click(xy["x"], xy["y"])
    page.wait_for_timeout(600)
    wait_idle(page)
    assert page.get_by_text(re.compile(r"Selected: A: x · B: x")).count() == 1
    # a drag-zoom over the left half of pane A zooms pane B the same way
    xy = page.evaluate(POINT_A_JS, "x")
    page.mouse.move(xy["x0"] + 5, xy["y0"] + 5)
    page.mouse.down()
    page.mouse.move(xy["x0"] + xy["w"] / 2, xy["y0"] + xy["h"] - 5, steps=8)
    page.mouse.up()
    page.wait_for_timeout(800)
    after = page.evaluate(PANES_JS)
    assert after["xa"] != panes["xa"] and after["xa"] == after["xb"], (panes, after)
    assert after["ya"] == after["yb"]


def test_imp_rounds_side_by_side(page, app_url):
    open_page(page, app_url, "Compare?v=1&kind=rounds&i=0&j=5&g=op&metric=kept")
    assert_no_errors(page)
    panes = page.evaluate(PANES_JS)
    assert panes and panes["a"] == panes["b"], "one graph, two masks"
    assert page.get_by_text("pruned A→B").count() >= 1, "the per-layer mask diff"
    screenshot(page, "compare_rounds")


def test_architecture_overlay_choice(page, app_url):
    open_page(page, app_url, "Architecture?v=1&model=resnet_tiny&g=op&metric=macs")
    assert_no_errors(page)
    title = page.evaluate("""() => {
        for (const p of document.querySelectorAll('.js-plotly-plot')) {
            const t = (p._fullData || []).find(t => t.name === 'nodes');
            if (t) return t.marker.colorbar.title.text;
        }
        return null;
    }""")
    assert title == "macs (MACs), log scale"
    screenshot(page, "architecture_overlay")
