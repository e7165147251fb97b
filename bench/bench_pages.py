"""Page speed as a user sees it: the real app (`streamlit run app.py`) in headless Chromium, timed
from navigation (or a key press) until the script run is over and every chart is drawn.

    python3 bench/bench_pages.py [--repeats 5] [--only home,zoo,interact,prune,torchvision]

Every visit opens the page by its link (`explorer.links`: the model and view are in the URL), in a
fresh browser context — a new session, as a new student would arrive. The first visit of a page is
its **first visit** (the server's caches are cold for that model: trace, lifting, layout); the
later ones are **warm** (a second student). The interaction is one step of the level slider on
Decomposition (the keyboard), timed until the page is idle again.

"Idle" is polled every 25 ms: the app says its script is not running, no spinner or skeleton is
on the page, every plotly chart has drawn its SVG, and this held for 300 ms (the time reported is
the first moment of that quiet stretch, not its end). Goals (issue 9): Home ≤ 2 s, every zoo page
≤ 2 s, an interaction ≤ 1 s, a torchvision model's Architecture and Decomposition ≤ 3 s on first
visit, Prune on a zoo model ≤ 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.app_server import chromium, serve  # noqa: E402

IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return false;
  const st = app.getAttribute('data-test-script-state');
  if (st === 'running' || st === 'rerunRequested' || st === 'initial') return false;
  if (document.querySelector('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"],'
      + ' [data-testid="stSpinner"], [data-testid="stSkeleton"]')) return false;
  if (!document.querySelector('[data-testid="stMain"] h1, [data-testid="stMain"] h2')) return false;
  for (const p of document.querySelectorAll('.js-plotly-plot')) if (!p.querySelector('.main-svg')) return false;
  return true;
}"""
QUIET_S = 0.3
ZOO = ("mlp", "mlp_skip", "cnn1d", "resnet_tiny", "densenet_tiny", "inception_tiny", "unet_tiny", "transformer_tiny")
UNIT = {"mlp", "mlp_skip", "cnn1d", "resnet_tiny", "densenet_tiny", "inception_tiny", "moons_mlp"}
TORCHVISION = ("resnet50", "densenet121", "efficientnet_b0", "vit_b_16")


def wait_quiet(page, t0: float, timeout: float = 300.0) -> float:
    """Seconds from `t0` to the start of the first quiet stretch (module doc)."""
    quiet_since = None
    while True:
        now = time.perf_counter()
        if page.evaluate(IDLE_JS):
            quiet_since = quiet_since or now
            if now - quiet_since >= QUIET_S:
                return quiet_since - t0
        else:
            quiet_since = None
        if now - t0 > timeout:
            raise TimeoutError(f"{page.url} still busy after {timeout:.0f} s")
        time.sleep(0.025)


def started(page) -> None:
    """Wait until the key press or click has made the app start a script run."""
    page.wait_for_function("() => document.querySelector('[data-testid=\"stApp\"]')"
                           ".getAttribute('data-test-script-state') === 'running'", timeout=10_000, polling=10)


def visit(browser, url: str, ctx=None) -> tuple[float, object, object]:
    """Open `url` in a new tab — of `ctx` (a returning user: the browser has the app's JavaScript
    cached, the server a new session) or of a fresh context (a first-time visitor) — and time it."""
    own = ctx is None
    ctx = ctx or browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    dt = wait_quiet(page, t0)
    errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()
    if errors:
        print(f"  !! {url}: {errors} error box(es) on the page", flush=True)
    return dt, (ctx if own else _Tab(page)), page


class _Tab:
    """Closing a visit in a shared context closes its tab only."""

    def __init__(self, page) -> None:
        self.page = page

    def close(self) -> None:
        self.page.close()


def row(name: str, first: float, warm: list[float], goal: float, first_goal: bool = False) -> dict:
    ws = sorted(warm)
    p50 = statistics.median(ws) if ws else float("nan")
    p90 = ws[min(len(ws) - 1, int(round(0.9 * (len(ws) - 1))))] if ws else float("nan")
    judged = first if first_goal else p50
    mark = "OK" if judged <= goal else "MISSED"
    print(f"{name:<46} first {first:6.2f} s   warm p50 {p50:6.2f}  p90 {p90:6.2f}   goal {goal:.0f} s "
          f"({'first' if first_goal else 'p50'}) {mark}", flush=True)
    return {"name": name, "first": first, "p50": p50, "p90": p90, "goal": goal, "ok": judged <= goal}


def page_rows(browser, base: str, path: str, name: str, repeats: int, goal: float, first_goal: bool = False,
              returning=None) -> dict:
    """The first visit (the server's caches cold for this model) and `repeats` warm ones, each a new
    session in a tab of `returning` (the app's JavaScript in the browser cache)."""
    times = []
    for _ in range(repeats + 1):
        dt, tab, _ = visit(browser, f"{base}/{path}", returning)
        tab.close()
        times.append(dt)
    return row(name, times[0], times[1:], goal, first_goal)


def nav_rows(browser, base: str, model: str, g: str, src: str, pages: tuple[str, ...], repeats: int, goal: float,
             returning, first_goal: bool = False) -> list[dict]:
    """A user moving between pages in one tab (the sidebar's links: same session, plotly.js already
    loaded): the model's link opens on the Train page (which sets the model without drawing it), then
    each page is visited `repeats + 1` times in turn; the first visit of each page is cold for this model."""
    tab = returning.new_page()
    q = f"v=1&model={model}&g={g}" + (f"&src={src}" if src != "zoo" else "")
    tab.goto(f"{base}/Train?{q}", wait_until="commit")
    wait_quiet(tab, time.perf_counter())
    times: dict[str, list[float]] = {p: [] for p in pages}
    try:
        for _ in range(repeats + 1):
            for p in pages:
                link = tab.locator(f'[data-testid="stSidebarNav"] a[href$="/{p}"]').first
                t0 = time.perf_counter()
                link.click()
                tab.wait_for_function(f"() => location.pathname.endsWith('/{p}')", timeout=30_000, polling=10)
                times[p].append(wait_quiet(tab, t0))
    finally:
        tab.close()
    return [row(f"{p} {model} ({g}), in-tab", t[0], t[1:], goal, first_goal) for p, t in times.items()]


def interaction(browser, base: str, model: str, repeats: int, returning) -> dict:
    g = "unit" if model in UNIT else "op"
    _, ctx, page = visit(browser, f"{base}/Decomposition?v=1&model={model}&g={g}", returning)
    times = []
    try:
        for k in range(repeats + 1):
            page.get_by_role("slider").first.focus()
            t0 = time.perf_counter()
            page.keyboard.press("ArrowRight" if k % 2 == 0 else "ArrowLeft")
            started(page)
            times.append(wait_quiet(page, t0))
    finally:
        ctx.close()
    return row(f"interaction: Decomposition level ±1 ({model})", times[0], times[1:], 1.0)


def prune(browser, base: str, repeats: int, returning) -> dict:
    from explorer.links import encode_selection
    from explorer.pruning.selection import Selection

    sel = encode_selection(Selection("op", ("block2_conv1",), (), "resnet_tiny"))
    times = []
    for _ in range(repeats + 1):
        _, ctx, page = visit(browser, f"{base}/Prune?v=1&model=resnet_tiny&g=op&sel={sel}", returning)
        try:
            btn = page.get_by_role("button", name="Prune", exact=True)
            t0 = time.perf_counter()
            btn.click()
            started(page)
            times.append(wait_quiet(page, t0))
        finally:
            ctx.close()
    return row("Prune button, resnet_tiny op (prune+compact+time+export)", times[0], times[1:], 2.0)


# Baselines for Home, in the same run: Streamlit itself with nothing of this app in it.
FLOOR_SCRIPTS = {
    "an empty Streamlit page (a title)": "import streamlit as st\nst.title('Empty')\n",
    "a Streamlit page with one 3-point plotly chart": (
        "import plotly.graph_objects as go\nimport streamlit as st\nst.title('One chart')\n"
        "st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2])))\n"),
}


def floor_rows(browser, data: Path, repeats: int) -> list[dict]:
    """What a first-time visitor's browser pays before any of this app's work: the same visit
    (fresh context, until idle and every chart drawn) to a bare Streamlit page and to one with a
    single tiny plotly chart (the chart's JavaScript is fetched and compiled on the first chart)."""
    rows = []
    for k, (name, code) in enumerate(FLOOR_SCRIPTS.items()):
        script = data / f"floor_{k}.py"
        script.write_text(code)
        with serve(data / f"floor_{k}", script=str(script)) as base:
            visit(browser, base)[1].close()  # the server's first run
            times = []
            for _ in range(repeats + 1):
                dt, ctx, _ = visit(browser, base)
                ctx.close()
                times.append(dt)
        rows.append(row(f"baseline: {name}, fresh browser", times[0], times[1:], 2.0))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="warm visits per page after the first")
    ap.add_argument("--only", default="floor,home,zoo,interact,prune,torchvision")
    ap.add_argument("--models", default=",".join(ZOO), help="zoo models for the page visits")
    a = ap.parse_args()
    only = set(a.only.split(","))
    data = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    rows = []
    if "floor" in only:
        with chromium() as browser:
            floor = floor_rows(browser, data, a.repeats)
    with serve(data) as base, chromium() as browser:
        _, ctx, _ = visit(browser, base)  # app.py once: the server then routes deep links through st.navigation
        ctx.close()
        returning = browser.new_context(viewport={"width": 1400, "height": 1000})
        _, tab, _ = visit(browser, base, returning)
        tab.close()
        if "home" in only:
            fresh = [visit(browser, f"{base}/home")[0:2] for _ in range(a.repeats)]
            for _, c in fresh:
                c.close()
            rows.append(row("Home, a first-time visitor (fresh browser)", fresh[0][0], [t for t, _ in fresh[1:]], 2.0))
            rows.append(page_rows(browser, base, "home", "Home, a returning visitor", a.repeats, 2.0,
                                  returning=returning))
        if "zoo" in only:
            for m in a.models.split(","):
                rows += nav_rows(browser, base, m, "unit" if m in UNIT else "op", "zoo",
                                 ("Architecture", "Decomposition", "Prune"), a.repeats, 2.0, returning)
        if "interact" in only:
            for m in ("mlp_skip", "resnet_tiny"):
                rows.append(interaction(browser, base, m, a.repeats, returning))
        if "prune" in only:
            rows.append(prune(browser, base, a.repeats, returning))
        if "torchvision" in only:
            for m in TORCHVISION:
                rows += nav_rows(browser, base, m, "op", "torchvision", ("Architecture", "Decomposition"),
                                 min(a.repeats, 2), 3.0, returning, first_goal=True)
    rows = (floor if "floor" in only else []) + rows  # baselines are context, not goals
    missed = [r["name"] for r in rows if not r["ok"] and not r["name"].startswith("baseline")]
    goals = [r for r in rows if not r["name"].startswith("baseline")]
    print(f"\n{len(goals) - len(missed)}/{len(goals)} goals met" + (f"; missed: {', '.join(missed)}" if missed else ""))


if __name__ == "__main__":
    main()
