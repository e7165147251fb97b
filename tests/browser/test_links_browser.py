"""Shareable links in a real browser: change a view with the mouse and keyboard, take the link the
page put in the address bar (and in its "Share this view" box), open it in a fresh browser context
— no cookies, no session — and see the same widgets and figures; a malformed link shows a notice."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from browser_harness import assert_no_errors, open_page, plot_count, screenshot, wait_idle


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def _fresh(browser, url: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = ctx.new_page()
    p.goto(url, wait_until="domcontentloaded")
    wait_idle(p)
    return ctx, p


def _level(page) -> int:
    """The value the level slider shows (its thumb's label; the page has a second slider, the window's)."""
    slider = page.locator('[data-testid="stSlider"]').filter(has=page.get_by_text("level l", exact=True))
    return int(slider.locator('[data-testid="stSliderThumbValue"]').first.inner_text())


def _selectbox(page, label: str) -> str:
    """The option a select box shows (the value of its combobox input)."""
    return page.get_by_role("combobox", name=label).first.input_value()


def _share_link(page) -> str:
    page.get_by_text("Share this view").first.click()
    code = page.locator('[data-testid="stPopoverBody"] code').first
    code.wait_for(timeout=10_000)
    link = code.inner_text().strip()
    page.keyboard.press("Escape")
    return link


def test_a_decomposition_view_travels_in_its_link(page, browser, app_url):
    open_page(page, app_url, "Decomposition?v=1&model=mlp_skip&g=unit&seed=2")
    assert_no_errors(page)
    thumb = page.get_by_role("slider").first
    thumb.focus()
    for _ in range(2):
        page.keyboard.press("ArrowRight")
        wait_idle(page)
    level = _level(page)
    q = _query(page.url)
    assert q.get("model") == "mlp_skip" and q.get("seed") == "2" and q.get("l") == str(level) and level == 3, q
    link = _share_link(page)
    assert _query(link) == q, (link, page.url)
    n_plots = plot_count(page)

    ctx, fresh = _fresh(browser, link)
    try:
        assert_no_errors(fresh)
        assert _level(fresh) == 3
        assert fresh.get_by_role("spinbutton", name="Seed (init)").input_value() == "2"
        screenshot(fresh, "links_fresh_decomposition")
        assert _selectbox(fresh, "Zoo model") == "mlp_skip"
        fresh.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {n_plots}",
                                timeout=60_000)  # plotly draws after the script has finished
        assert plot_count(fresh) == n_plots
        assert _query(fresh.url) == q  # it writes back the same view
        screenshot(fresh, "links_fresh_decomposition")
    finally:
        ctx.close()


def test_an_architecture_search_travels_in_its_link(page, browser, app_url):
    open_page(page, app_url, "Architecture?v=1&model=resnet_tiny&g=op")
    box = page.get_by_role("textbox", name="Search nodes (id, op or module)")
    box.fill("conv")
    box.press("Enter")
    wait_idle(page)
    q = _query(page.url)
    assert q.get("q") == "conv", q
    ctx, fresh = _fresh(browser, page.url)
    try:
        assert_no_errors(fresh)
        assert fresh.get_by_role("textbox", name="Search nodes (id, op or module)").input_value() == "conv"
    finally:
        ctx.close()


def test_a_prune_selection_travels_in_its_link(page, browser, app_url):
    from explorer.links import encode_selection
    from explorer.pruning.selection import Selection

    sel = encode_selection(Selection("op", ("block1_conv2",), (), "resnet_tiny"))
    open_page(page, app_url, f"Prune?v=1&model=resnet_tiny&g=op&sel={sel}")
    assert_no_errors(page)
    assert "Selection: 1 node" in page.locator('[data-testid="stMain"]').inner_text()
    ctx, fresh = _fresh(browser, page.url)
    try:
        assert_no_errors(fresh)
        assert "Selection: 1 node" in fresh.locator('[data-testid="stMain"]').inner_text()
        assert _query(fresh.url).get("sel") == sel
    finally:
        ctx.close()


def test_a_malformed_link_shows_a_notice_not_an_exception(page, app_url):
    open_page(page, app_url, "Decomposition?v=1&model=no_such_net&l=banana&colour=red")
    assert_no_errors(page)
    text = page.locator('[data-testid="stAlertContentWarning"]').first.inner_text()
    assert "no_such_net" in text and "level must be a whole number" in text and "colour" in text
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0", timeout=120_000)
    screenshot(page, "links_malformed_notice")


def _open_settings(page) -> None:
    """The Lottery form folds while an experiment (on a fresh install, the shipped example) is on show."""
    if page.get_by_role("spinbutton", name="Steps").count() == 0:
        page.get_by_text("Settings", exact=True).first.click()
        page.get_by_role("spinbutton", name="Steps").first.wait_for(timeout=10_000)


def test_a_lottery_view_travels_in_its_link(page, browser, app_url):
    open_page(page, app_url, "Lottery?v=1&model=lottery_mlp&kind=imp")
    _open_settings(page)
    box = page.get_by_role("spinbutton", name="Rounds").first
    box.fill("3")
    box.press("Enter")
    wait_idle(page)
    q = _query(page.url)
    assert q.get("rounds") == "3" and q.get("model") == "lottery_mlp", q
    ctx, fresh = _fresh(browser, page.url)
    try:
        assert_no_errors(fresh)
        _open_settings(fresh)
        assert fresh.get_by_role("spinbutton", name="Rounds").first.input_value() == "3"
        assert fresh.get_by_role("combobox", name="Model").first.input_value() == "lottery_mlp"
        assert _query(fresh.url) == q
    finally:
        ctx.close()


def test_a_link_opened_in_sessions_at_once_shows_its_view_in_each(browser, app_url):
    """Three people open one Decomposition link at the same moment: each page shows the link's level, and its
    address bar keeps it (the Playground's widgets once fell back to their defaults this way)."""
    link = f"{app_url}/Decomposition?v=1&model=mlp_skip&g=unit&seed=2&l=3"
    ctxs = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(3)]
    try:
        pages = [c.new_page() for c in ctxs]
        for p in pages:  # all start before any settles
            p.goto(link, wait_until="domcontentloaded")
        for p in pages:
            wait_idle(p)
            assert_no_errors(p)
            assert _level(p) == 3 and _query(p.url).get("l") == "3", (_level(p), p.url)
    finally:
        for c in ctxs:
            c.close()
