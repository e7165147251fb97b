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


FITS = """(vp) => {
    const main = document.querySelector('[data-testid="stMain"]');
    const box = e => e.getBoundingClientRect();
    const inView = r => r.top >= -1 && r.left >= -1 && r.bottom <= vp.height + 1 && r.right <= vp.width + 1;
    const out = [];
    for (const plot of main.querySelectorAll('.js-plotly-plot')) {
        const svg = box(plot.querySelector('svg.main-svg'));
        for (const t of plot.querySelectorAll('svg.main-svg text')) {   // tick labels, titles, cell texts
            const r = box(t);
            if (!t.textContent.trim() || !r.width) continue;
            if (r.left < svg.left - 2 || r.right > svg.right + 2 || r.top < svg.top - 2 || r.bottom > svg.bottom + 2)
                out.push(`text "${t.textContent}" leaves its figure`);
        }
        for (const leg of plot.querySelectorAll('g.legend')) {              // legend entries inside the legend box
            const bg = leg.querySelector('rect.bg');
            if (!bg) continue;
            const b = box(bg);
            for (const t of leg.querySelectorAll('.legendtext')) {
                const r = box(t);
                if (r.right > b.right + 2 || r.left < b.left - 2) out.push(`legend "${t.textContent}" is cut`);
            }
        }
    }
    return out;
}"""


def _box_in_view(page, locator, what: str) -> None:
    loc = locator.first
    loc.wait_for(timeout=30_000)
    b = loc.bounding_box()
    assert b is not None, f"{what}: not drawn"
    assert b["y"] >= 0 and b["y"] + b["height"] <= PROJECTOR["height"] + 1 and b["x"] + b["width"] <= \
        PROJECTOR["width"] + 1, f"{what} lies outside the 1280×720 screen: {b}"


def _plain(markdown: str, words: int = 5) -> str:
    import re

    return " ".join(re.sub(r"[*`]", "", markdown).split()[:words])


def test_classroom_learn_fits_one_projector_screen(browser, app_url):
    """Every lesson step in classroom mode at 1280×720: the step's text, its figure, the try-this and the
    question are on the first screen, without scrolling; no figure's label or legend is cut."""
    ctx = browser.new_context(viewport=PROJECTOR)
    try:
        p = ctx.new_page()
        for les in LESSONS:
            for n, step in enumerate(les.steps, 1):
                where = f"lesson {les.number} step {n}"
                open_page(p, app_url, les.link(n).path + "&classroom=1")
                assert_no_errors(p)
                main = p.locator('[data-testid="stMain"]')
                _box_in_view(p, main.locator("h2").filter(has_text=step.title), f"{where}: the title")
                _box_in_view(p, main.locator('[data-testid="stMarkdownContainer"]').filter(
                    has_text=_plain(step.text)), f"{where}: the text")
                _box_in_view(p, main.get_by_text("Try this.", exact=False), f"{where}: try this")
                _box_in_view(p, main.get_by_text("Question.", exact=False), f"{where}: the question")
                if step.link is not None:
                    _box_in_view(p, main.get_by_role("button", name=f"Open this view on {step.link.page}"),
                                 f"{where}: the view's button")
                if step.figure is not None:
                    _box_in_view(p, main.locator(".js-plotly-plot"), f"{where}: the figure")
                problems = p.evaluate(FITS, PROJECTOR)
                assert not problems, f"{where}: {problems}"
                if (les.number, n) in ((1, 3), (2, 1), (2, 3), (5, 1)):
                    ARTIFACTS.mkdir(parents=True, exist_ok=True)
                    p.screenshot(path=str(ARTIFACTS / f"classroom_learn_{les.slug}_{n}.png"))
    finally:
        ctx.close()
