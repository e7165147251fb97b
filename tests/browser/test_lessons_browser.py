"""Teaching in a real browser: every lesson's every step opens without an error element; lessons 1–5
open their views on the right pages ("Open this view"); a preset sets the view in one click; classroom
mode is legible at 1280×720 (screenshots)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from browser_harness import ARTIFACTS, assert_no_errors, open_page, screenshot, wait_idle

from explorer.lessons import LESSONS

PROJECTOR = {"width": 1280, "height": 720}


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def _header(page) -> str:
    return page.locator('[data-testid="stMain"] h2').first.inner_text()


def test_every_lesson_step_opens_without_an_error(page, app_url):
    for les in LESSONS:
        for n, step in enumerate(les.steps, 1):
            open_page(page, app_url, les.link(n).path)
            assert_no_errors(page)
            assert step.title in _header(page), (les.slug, n)
            assert _query(page.url).get("lesson") == les.slug


def test_lessons_one_to_five_open_their_views(page, app_url):
    for les in LESSONS[:5]:
        for n, step in enumerate(les.steps, 1):
            if step.link is None:
                continue
            open_page(page, app_url, les.link(n).path)
            page.get_by_role("button", name=f"Open this view on {step.link.page}").click()
            page.wait_for_url(f"**/{step.link.path.split('?')[0]}**", timeout=60_000)
            wait_idle(page)
            assert_no_errors(page)
            got = _query(page.url)
            assert all(got.get(k) == v for k, v in step.link.query.items()), (les.slug, n, page.url)


def test_a_preset_sets_the_view_in_one_click(page, app_url):
    open_page(page, app_url, "Decomposition")
    page.get_by_role("combobox", name="Presets").click()
    page.get_by_role("option", name="a skip arc").click()
    wait_idle(page)
    assert_no_errors(page)
    q = _query(page.url)
    assert q.get("model") == "mlp_skip" and q.get("l") == "4", q
    assert page.locator('[data-testid="stSliderThumbValue"]').first.inner_text() == "4"


def test_classroom_mode_is_legible_at_1280x720(browser, app_url):
    ctx = browser.new_context(viewport=PROJECTOR)
    try:
        p = ctx.new_page()
        for name, path in [("home", "?classroom=1"),
                           ("architecture", "Architecture?v=1&model=resnet_tiny&g=op&classroom=1"),
                           ("decomposition", "Decomposition?v=1&model=mlp_skip&g=unit&l=2&classroom=1"),
                           ("learn", "Learn?v=1&lesson=lifting&step=1&classroom=1")]:
            open_page(p, app_url, path)
            assert_no_errors(p)
            sizes = p.evaluate("""() => Array.from(document.querySelectorAll(
                '[data-testid="stMain"] [data-testid="stMarkdownContainer"] p, [data-testid="stMain"] li'))
                .filter(e => e.offsetParent !== null && e.innerText.trim())
                .map(e => parseFloat(getComputedStyle(e).fontSize))""")
            assert sizes and min(sizes) >= 18, f"{name}: text as small as {min(sizes)}px on the projector"
            assert max(sizes) >= 20, f"{name}: no body text at 20px or more ({max(sizes)}px)"
            assert p.get_by_role("switch", name="Classroom mode").first.is_checked()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            p.screenshot(path=str(ARTIFACTS / f"classroom_{name}.png"))  # the first screen, as projected
            if name == "learn":
                screenshot(p, "classroom_learn_full")  # the whole step: text, figure, question
    finally:
        ctx.close()
