"""Helpers for browser tests (import with `from browser_harness import ...` in tests/browser/).

- `open_page(page, app_url, path="")`: go to `app_url/path` and wait until the script finished.
- `wait_idle(page)`: wait until Streamlit is not running the script (status widget gone).
- `screenshot(page, name)`: whole page to `tests/artifacts/<name>.png`; returns the path.
- `assert_no_errors(page)` / `error_texts(page)`: no `stException` and no error `stAlert`.
- `plot_count(page)`, `dag_level_colors(page)`: what plotly drew.
"""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
IDLE_TIMEOUT = 120_000  # ms for one script run (tracing a model, first lifting)


# What the page shows, in brief: Streamlit reports "notRunning" as soon as the script has finished,
# but the browser mounts the last elements a moment later (and not always in page order), so a page
# is idle only once the number of its elements has also stopped changing (their content may go on
# changing: a live curve).
SETTLE_S = 6  # s: the longest wait for the last elements to mount after a run
_SHOWN = """() => document.querySelectorAll('[data-testid="stApp"] [data-testid]').length"""


def wait_idle(page, timeout: int = IDLE_TIMEOUT, settle_ms: int = 600, live: bool = False) -> None:
    """Wait until the app has rendered and no script run is in progress (twice, `settle_ms` apart,
    since a widget change can trigger a rerun right after the first finishes), then until the page
    stopped mounting elements (twice) — for at most `SETTLE_S`, or not at all when `live` (a page that
    keeps refreshing, such as a running curve, would otherwise be waited on until it ends)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    deadline = time.monotonic() + timeout / 1000
    quiet, stable, shown, quiet_since = 0, 0, page.evaluate(_SHOWN), None
    while quiet < 2 or not (live or stable >= 2 or time.monotonic() - quiet_since > SETTLE_S):
        state = page.get_attribute('[data-testid="stApp"]', "data-test-script-state")
        running = state in ("running", "rerunRequested", "initial") or page.locator(
            '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]').count() > 0
        now = page.evaluate(_SHOWN)
        quiet = 0 if running else quiet + 1
        stable = 0 if running or now != shown else stable + 1
        quiet_since = None if running else (quiet_since or time.monotonic())
        shown = now
        if time.monotonic() > deadline:
            raise TimeoutError(f"the app was still running its script after {timeout / 1000:.0f}s")
        page.wait_for_timeout(settle_ms)


def open_page(page, app_url: str, path: str = "") -> None:
    """Open `app_url/path` (e.g. "Architecture") and wait until the script finished."""
    page.goto(f"{app_url}/{path}".rstrip("/"), wait_until="domcontentloaded")
    wait_idle(page)


def screenshot(page, name: str) -> Path:
    """Save the whole page (not just the viewport) to tests/artifacts/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    vp = page.viewport_size or {"width": 1400, "height": 1000}
    # Streamlit scrolls inside its main container, so grow the viewport to the content's height
    h = page.evaluate("""() => {
        const m = document.querySelector('[data-testid="stMain"]') || document.querySelector('section.main');
        return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight);
    }""")
    page.set_viewport_size({"width": vp["width"], "height": int(min(max(h, vp["height"]), 6000))})
    page.wait_for_timeout(400)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(vp)
    return path


def error_texts(page) -> list[str]:
    """Texts of exception boxes and error alerts on the page."""
    loc = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return [loc.nth(i).inner_text() for i in range(loc.count())]


def assert_no_errors(page) -> None:
    """No error box on the page, and (the app works offline) no request left this machine."""
    errs = error_texts(page)
    assert not errs, f"the page shows {len(errs)} error(s): {errs}"
    external = getattr(page, "external_requests", [])
    assert not external, f"the page requested {len(external)} resource(s) outside this machine: {external[:5]}"


def plot_count(page) -> int:
    return page.locator(".js-plotly-plot").count()


def dag_level_colors(page) -> set[str]:
    """Distinct fill colours of the node markers of the first DAG plot (SVG scatter points)."""
    return set(page.evaluate("""() => {
        const out = [];
        for (const plot of document.querySelectorAll('.js-plotly-plot')) {
            for (const g of plot.querySelectorAll('.scatterlayer .trace')) {
                const d = g.__data__;  // d3 binding: [calcdata point 0, ...] with .trace
                const tr = d && d[0] && d[0].trace;
                if (!tr || tr.name !== 'nodes') continue;
                for (const p of g.querySelectorAll('.point')) out.push(getComputedStyle(p).fill || p.style.fill);
            }
            if (out.length) return out;
        }
        return out;
    }"""))


def pick(page, label: str, option: str, clicks: int = 10) -> None:
    """Choose `option` in the select box labelled `label`, and wait for the rerun.

    A select box cut by the bottom edge of its scrolling pane (the sidebar, the main area) does not open on
    its first click: the click focuses its input, Chromium scrolls the pane to show the input, and that
    scroll closes the list that had just opened (Streamlit's select box is react-aria's, which closes on
    scroll). A person then clicks again; so does `pick`, up to `clicks` times — a box the test means to open
    with ONE click (a page placed it in full view) passes `clicks=1`, and `pick` fails if it did not open."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text(label, exact=True)).first
    choice = page.get_by_role("option", name=option, exact=True)
    for i in range(clicks):
        box.click()
        try:
            choice.wait_for(state="visible", timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - the list did not open (or closed again): click again
            if i == clicks - 1:
                path = screenshot(page, f"pick_{label}")
                raise AssertionError(f"the select box {label!r} did not open after {clicks} click(s) "
                                     f"(the page then: {path})") from None
    choice.click()
    wait_idle(page)


def fill(page, label: str, value: str) -> None:
    """Type `value` into the input labelled `label`, press Enter, and wait for the rerun."""
    el = page.get_by_label(label, exact=True).first
    el.fill(value)
    el.press("Enter")
    wait_idle(page)


def wait_until(page, what: str, cond, limit_s: float = 600, shot: str = "wait_timeout") -> None:
    """Poll `cond()` every 0.5 s until it holds; past `limit_s` (generous: a state, never a speed),
    fail naming `what`, with a screenshot of the page then."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        if cond():
            return
        page.wait_for_timeout(500)
    path = screenshot(page, shot)
    raise AssertionError(f"waited {limit_s:.0f} s for {what} (the page then: {path})")
