"""Real browser: the Signal-propagation page computes its spectra in the worker and draws them,
then "Train these" sends a trainability grid to the Train page, whose curves grow live.
Every wait is for a state, with a generous limit; screenshots go to tests/artifacts/."""

from __future__ import annotations


import pytest
from browser_harness import assert_no_errors, fill, open_page, plot_count, screenshot, wait_idle, wait_until

pytestmark = pytest.mark.browser

# the curves' arrays are sent as numpy's binary form: plotly decodes them into _fullData (data keeps the spec)
TRAIN_POINTS = """() => {
  const p = [...document.querySelectorAll('.js-plotly-plot')].find(e => (e._fullData || []).some(t => /· train/.test(t.name || '')));
  if (!p) return 0;
  return p._fullData.filter(t => /· train/.test(t.name || '')).reduce((n, t) => n + (t.x || []).length, 0);
}"""
LAST_TRAIN_X = """() => {
  const p = [...document.querySelectorAll('.js-plotly-plot')].find(e => (e._fullData || []).some(t => /· train/.test(t.name || '')));
  if (!p) return -1;
  return Math.max(...p._fullData.filter(t => /· train/.test(t.name || '')).map(t => (t.x || []).length ? t.x[t.x.length - 1] : -1));
}"""
TRACES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(p => (p.data || []).map(t => t.name || ''))"""


def test_spectra_appear_and_the_grid_trains_on_the_train_page(page, own_app_url):
    open_page(page, own_app_url, "Signal_propagation")
    assert_no_errors(page)
    fill(page, "Inputs K", "16")
    wait_until(page, "the seven lab figures", lambda: plot_count(page) >= 7, 400, shot="signal_timeout")
    wait_idle(page)
    assert_no_errors(page)
    names = page.evaluate(TRACES)
    assert ["orthogonal", "gaussian:1"] == names[0]  # the spectrum histogram, one curve per scheme
    assert page.get_by_text("find the layer where the signal dies", exact=False).count() == 1
    screenshot(page, "signal_propagation")

    # a linear net learns MNIST-1D no better than logistic regression; the activation is one click on its
    # radio button (a select box there closed on its first click in windows under about 850 px tall)
    bar = page.get_by_test_id("stSidebarUserContent")
    bar.locator('[data-testid="stRadio"]').filter(has=page.get_by_text("Activation", exact=True)) \
        .get_by_text("tanh", exact=True).click()
    wait_idle(page)
    assert bar.locator('[data-testid="stRadio"] label:has(input:checked)').filter(has_text="tanh").count() == 1
    page.get_by_test_id("stSidebarUserContent").get_by_text("MNIST-1D (40 → 10)").click()
    wait_idle(page)
    fill(page, "Seeds", "1")
    fill(page, "Steps", "400")
    fill(page, "Evaluate every", "50")
    page.get_by_role("button", name="Train these").click()
    page.wait_for_url("**/Train", timeout=120_000)
    wait_idle(page)
    # the grid's curves appear (how far they have grown by then depends on the machine: not asserted),
    # and once every run has finished they reach the last step of the run
    wait_until(page, "the grid's first points", lambda: page.evaluate(TRAIN_POINTS) > 0, 400, shot="signal_timeout")
    first = page.evaluate(TRAIN_POINTS)
    assert_no_errors(page)
    screenshot(page, "signal_train")
    wait_until(page, "the grid to finish", lambda: page.get_by_text("all finished").count() > 0, 600,
               shot="signal_timeout")
    wait_idle(page)
    assert page.evaluate(TRAIN_POINTS) >= first
    assert page.evaluate(LAST_TRAIN_X) >= 390  # logged every few steps up to step 400
    assert page.get_by_text("orthogonal: ", exact=False).count() >= 1  # the verdict, scheme by scheme
    assert_no_errors(page)
    screenshot(page, "signal_train_done")
