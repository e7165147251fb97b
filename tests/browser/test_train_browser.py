"""Real browser: start a short run from the Train page, watch its curve grow and its status reach done."""

from __future__ import annotations

import time

import pytest
from browser_harness import assert_no_errors, fill, open_page, pick, screenshot, wait_idle

pytestmark = pytest.mark.browser

# The last step the train curves reach (not their point count: a long run is downsampled to a fixed
# number of points per curve, explorer.figures.curves.MAX_POINTS, so the count stops growing). The arrays are
# sent in numpy's binary form: plotly's decoded traces are in _fullData (data keeps the spec).
CURVE_END = """() => {
  const p = [...document.querySelectorAll('.js-plotly-plot')].find(e => (e._fullData || []).some(t => /train$/.test(t.name || '')));
  if (!p) return 0;
  return Math.max(0, ...p._fullData.filter(t => /train$/.test(t.name || '')).flatMap(t => Array.from(t.x || [])));
}"""


def test_start_a_run_watch_it_grow_and_cancel_it(page, app_url):
    """The run is long (200k steps) so that the page sees it grow whatever the machine's load;
    the test then cancels it and waits for the page to say so. Nothing here depends on speed:
    every wait is for a state, with a generous limit."""
    open_page(page, app_url, "Train")
    assert_no_errors(page)
    if not page.get_by_label("Steps", exact=True).first.is_visible():  # expander closed when runs exist already
        # (the shared server's store may hold the shipped lesson results another module's Lottery visit put there)
        page.get_by_text("New run(s)").click()
    pick(page, "Model", "moons_mlp")
    fill(page, "Steps", "200000")
    fill(page, "Group", "browser-run")
    page.get_by_role("button", name="Submit").click()
    wait_idle(page, settle_ms=300, live=True)  # the page refreshes while the run goes on

    seen, t0 = [], time.monotonic()
    while time.monotonic() - t0 < 300:
        n = page.evaluate(CURVE_END)
        if not seen or n != seen[-1]:
            seen.append(n)
        if sum(b > a for a, b in zip(seen, seen[1:])) >= 2:
            break
        page.wait_for_timeout(300)
    grew = sum(b > a for a, b in zip(seen, seen[1:]))
    assert grew >= 2, f"the curve should grow live in several steps, saw {seen}"
    screenshot(page, "train_running")
    page.get_by_role("button", name="Cancel").first.click()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120 and page.get_by_text("all finished").count() == 0:
        page.wait_for_timeout(300)
    assert page.get_by_text("all finished").count() > 0, "the cancelled run never showed as finished"
    wait_idle(page)
    assert page.get_by_text("cancelled · step", exact=False).count() >= 1
    assert page.get_by_text("Verdict.").count() >= 1
    assert_no_errors(page)
    screenshot(page, "train_done")
