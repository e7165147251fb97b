"""Real browser: start a short run from the Train page, watch its curve grow and its status reach done."""

from __future__ import annotations

import time

import pytest
from browser_harness import assert_no_errors, open_page, screenshot, wait_idle

pytestmark = pytest.mark.browser

CURVE_POINTS = """() => {
  const p = [...document.querySelectorAll('.js-plotly-plot')].find(e => (e.data || []).some(t => /train$/.test(t.name || '')));
  if (!p) return 0;
  return p.data.filter(t => /train$/.test(t.name || '')).reduce((n, t) => n + (t.x || []).length, 0);
}"""


def _pick(page, label: str, option: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text(label, exact=True)).first
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def _fill(page, label: str, value: str) -> None:
    el = page.get_by_label(label, exact=True).first
    el.fill(value)
    el.press("Enter")
    wait_idle(page)


def test_start_a_run_and_watch_it_finish(page, app_url):
    open_page(page, app_url, "Train")
    assert_no_errors(page)
    if page.get_by_label("Steps", exact=True).count() == 0:  # expander closed when runs exist already
        page.get_by_text("New run(s)").click()
    _pick(page, "Model", "moons_mlp")
    _fill(page, "Steps", "4000")
    _fill(page, "Group", "browser-run")
    page.get_by_role("button", name="Submit").click()
    wait_idle(page, settle_ms=300)

    seen, t0, shot_mid = [], time.monotonic(), False
    while time.monotonic() - t0 < 240:
        n = page.evaluate(CURVE_POINTS)
        if not seen or n != seen[-1]:
            seen.append(n)
        if n > 0 and not shot_mid:
            screenshot(page, "train_running")
            shot_mid = True
        if page.get_by_text("all finished").count() > 0 and n > 0:
            break
        page.wait_for_timeout(300)
    assert page.get_by_text("all finished").count() > 0, f"run did not finish; curve sizes seen {seen}"
    # Long curves are downsampled to a fixed number of points, so once the cap is reached the
    # count may wobble; what matters is that the page drew the curve growing in several steps.
    grew = sum(b > a for a, b in zip(seen, seen[1:]))
    assert grew >= 2 and seen[-1] > seen[0], f"the curve should grow live in several steps, saw {seen}"
    wait_idle(page)
    assert page.get_by_text("done · step 4000/4000").count() >= 1
    assert page.get_by_text("Verdict.").count() >= 1
    assert_no_errors(page)
    screenshot(page, "train_done")
