"""Real browser: the readable figures. resnet50 at op level opens Decomposition on a labelled
window of T_l (operator labels in the cells, row and column labels), and a click on a node of
the block view opens the node inspector; shortcuts stay drawn in the block view."""

from __future__ import annotations

import pytest
from browser_harness import assert_no_errors, open_page, screenshot, wait_idle

pytestmark = pytest.mark.browser


def _pick_torchvision(page, name: str, granularity: str) -> None:
    sb = page.locator('[data-testid="stSidebar"]')
    sb.get_by_text("torchvision (random init)", exact=True).click()
    wait_idle(page)
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text("torchvision model", exact=True))
    box.first.click()
    page.keyboard.type(name)
    page.get_by_role("option", name=name, exact=True).click()
    wait_idle(page)
    radio = sb.locator('[data-testid="stRadio"]').filter(has=page.get_by_text("Granularity"))
    radio.get_by_text(granularity, exact=True).click()
    wait_idle(page)


def _windows(page) -> list[dict]:
    """Title, cell texts and tick visibility of every drawn window of T_l."""
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(p => {
        const t = ((p.layout && p.layout.title && p.layout.title.text) || '').replace(/<[^>]+>/g, '');
        const h = (p._fullData || []).find(d => d.type === 'heatmap');
        return {title: t, texts: h && h.text ? [].concat(...h.text).filter(Boolean) : [],
                drawn: p.querySelectorAll('.heatmaplayer text, .textpoint, .hm text').length,
                ticks: p.querySelectorAll('.ytick text').length, xticks: p.querySelectorAll('.xtick text').length};
    }).filter(w => w.title.startsWith('T_') && w.title.includes('window'))""")


def test_resnet50_op_decomposition_opens_on_a_labelled_window(page, app_url):
    open_page(page, app_url, "Decomposition")
    _pick_torchvision(page, "resnet50", "op")
    page.wait_for_selector(".js-plotly-plot", timeout=180_000)
    assert_no_errors(page)
    slider = page.locator('[data-testid="stMain"] [data-testid="stSlider"]').first.locator(
        'input[type="range"], [role="slider"]').first
    slider.focus()
    for _ in range(11):  # level 12: the first bottleneck's last batch norm
        slider.press("ArrowRight")
    wait_idle(page)
    assert_no_errors(page)
    wins = _windows(page)
    assert len(wins) == 2, f"expected T_l and its product as windows, got {[w['title'] for w in wins]}"
    T = next(w for w in wins if "⋯" not in w["title"])  # T_l itself, not the product
    assert any("<br>" in t for t in T["texts"]), T["texts"]  # a two-line operator label in its cell
    assert T["ticks"] >= 5 and T["xticks"] >= 5, "row and column labels are drawn"
    screenshot(page, "decomposition_resnet50_window")


def test_block_view_keeps_shortcuts_and_a_click_opens_the_inspector(page, app_url):
    open_page(page, app_url, "Architecture")
    _pick_torchvision(page, "resnet50", "block")
    page.wait_for_selector(".js-plotly-plot", timeout=180_000)
    assert_no_errors(page)
    title = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .map(p => (p.layout && p.layout.title && p.layout.title.text) || '').join('|')""")
    assert "shortcut" in title, title
    box = page.evaluate("""(id) => { for (const plot of document.querySelectorAll('.js-plotly-plot')) {
        const fd = plot._fullData || []; const t = fd.findIndex(tr => tr.name === 'nodes'); if (t < 0) continue;
        const k = Array.from(fd[t].customdata).map(String).indexOf(id); if (k < 0) continue;
        const g = [...plot.querySelectorAll('.scatterlayer .trace')].find(
            g => g.__data__ && g.__data__[0] && g.__data__[0].trace && g.__data__[0].trace.name === 'nodes');
        const pt = g && g.querySelectorAll('.point')[k]; if (!pt) continue;
        pt.scrollIntoView({block: 'center'}); const r = pt.getBoundingClientRect();
        return [r.x + r.width / 2, r.y + r.height / 2]; } return null; }""", "layer1.1")
    assert box, "the node layer1.1 is not drawn"
    page.mouse.click(*box)
    wait_idle(page)
    assert_no_errors(page)
    panel = page.locator(".st-key-arch-inspector")
    panel.wait_for(timeout=60_000)
    text = panel.inner_text()
    assert "Bottleneck · 256×56×56" in text and "in arcs" in text and "MACs" in text, text
    screenshot(page, "architecture_block_inspector")
