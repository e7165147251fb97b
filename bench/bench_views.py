"""Heavy views as a user meets them: the bytes Streamlit sends over the websocket for one page run, and
the time from navigation until every chart is drawn (first draw), in the real app in headless Chromium.

    python3 bench/bench_views.py [--repeats 3] [--only lottery,mlp_skip] [--root /work/main] [--shots DIR]

Each view is opened by its link in a new tab of one browser context that has loaded the app once (the
browser has plotly.js cached; the server sees a new session each time). The first visit of a view is
**cold** (the server has not built that model's graph, layout or lifting yet); the next `--repeats` are
**warm** (a second student). "Drawn" is `bench_pages.wait_quiet`: the script is not running, no spinner,
every plotly chart has its SVG, for 300 ms. Bytes are the websocket frames received from navigation
until then (or, for an action such as *Propose*, from the click). The budget (issue 17): a page payload
of at most 3 MB and a first draw of at most 3 s. `--root` serves another checkout (e.g. main's, for the
numbers before a change); `--timeout` bounds one visit (main's lottery_mlp unit view takes minutes).
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
from bench.bench_pages import wait_quiet  # noqa: E402

BUDGET_MB, BUDGET_S = 3.0, 3.0
TICKET = "Prune?v=1&model=lottery_mlp&g=unit&crit=magnitude&target=weights&scope=layer&sp=0.8"  # the preset
VIEWS = {  # name: (link path, action after the page is drawn or None)
    "Architecture mlp_skip unit": ("Architecture?v=1&model=mlp_skip&g=unit", None),
    "Architecture mlp unit": ("Architecture?v=1&model=mlp&g=unit", None),
    "Architecture cnn1d unit": ("Architecture?v=1&model=cnn1d&g=unit", None),
    "Architecture lottery_mlp unit": ("Architecture?v=1&model=lottery_mlp&g=unit", None),
    "Decomposition mlp_skip unit": ("Decomposition?v=1&model=mlp_skip&g=unit", None),
    "Decomposition lottery_mlp unit": ("Decomposition?v=1&model=lottery_mlp&g=unit", None),
    "Decomposition lottery_mlp unit, T_2": ("Decomposition?v=1&model=lottery_mlp&g=unit&l=2", None),
    "Prune mlp_skip unit": ("Prune?v=1&model=mlp_skip&g=unit", None),
    "Prune resnet_tiny op": ("Prune?v=1&model=resnet_tiny&g=op", None),
    "Prune: a pruned ticket (preset)": (TICKET, None),
    "Prune: a pruned ticket, Propose clicked": (TICKET, "propose"),
}


class Frames:
    """Sums the bytes of the websocket frames a page receives."""

    def __init__(self, page) -> None:
        self.bytes = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._add))

    def _add(self, payload) -> None:
        self.bytes += len(payload)


def propose(page) -> None:
    page.get_by_role("tab", name="Criteria").click()
    page.get_by_role("button", name="Propose").click()
    page.wait_for_function("() => document.querySelector('[data-testid=\"stApp\"]')"
                           ".getAttribute('data-test-script-state') === 'running'", timeout=10_000, polling=10)


ACTIONS = {"propose": propose}


def visit(ctx, url: str, action: str | None, timeout: float, shot: Path | None) -> tuple[float, int, int]:
    """(seconds to drawn, websocket bytes, error boxes) of one visit (or of its action, when it has one)."""
    page = ctx.new_page()
    frames = Frames(page)
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        dt = wait_quiet(page, t0, timeout=timeout)
        if action:
            frames.bytes = 0
            t0 = time.perf_counter()
            ACTIONS[action](page)
            dt = wait_quiet(page, t0, timeout=timeout)
        errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()
        if shot is not None:
            page.screenshot(path=str(shot), full_page=True)
        return dt, frames.bytes, errors
    finally:
        page.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="warm visits per view after the cold one")
    ap.add_argument("--only", default="", help="comma-separated words; views whose name contains one of them")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds one visit may take")
    ap.add_argument("--shots", type=Path, default=None, help="save a screenshot of each view's warm visit here")
    a = ap.parse_args()
    words = [w for w in a.only.split(",") if w]
    views = {k: v for k, v in VIEWS.items() if not words or any(w in k for w in words)}
    if a.shots:
        a.shots.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="bench-views-"))
    print(f"serving {a.root}; budget {BUDGET_MB:.0f} MB and {BUDGET_S:.0f} s per view", flush=True)
    print(f"{'view':<42} {'MB':>6} {'cold s':>7} {'warm s: median':>15} {'min':>6} {'max':>6}  budget")
    with serve(data, root=a.root) as base, chromium() as browser:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        visit(ctx, base, None, a.timeout, None)  # app.py once (deep links then route through st.navigation)
        for name, (path, action) in views.items():
            url = f"{base}/{path}"
            try:
                cold, mb, err = visit(ctx, url, action, a.timeout, None)
                warm = []
                for k in range(a.repeats):
                    shot = a.shots / f"{name.replace(' ', '_').replace(':', '').replace(',', '')}.png" \
                        if a.shots and k == a.repeats - 1 else None
                    dt, mb, e = visit(ctx, url, action, a.timeout, shot)
                    warm.append(dt)
                    err += e
            except TimeoutError:
                print(f"{name:<42} {'—':>6} timed out after {a.timeout:.0f} s", flush=True)
                continue
            mb /= 1e6
            med = statistics.median(warm) if warm else float("nan")
            ok = mb <= BUDGET_MB and cold <= BUDGET_S and (not warm or max(warm) <= BUDGET_S)
            print(f"{name:<42} {mb:6.2f} {cold:7.2f} {med:15.2f} {min(warm, default=float('nan')):6.2f} "
                  f"{max(warm, default=float('nan')):6.2f}  {'OK' if ok else 'MISSED'}"
                  + (f"  ({err} error boxes)" if err else ""), flush=True)
        ctx.close()


if __name__ == "__main__":
    main()
