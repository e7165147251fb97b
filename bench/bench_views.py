"""Heavy views as a user meets them: the bytes Streamlit sends over the websocket for one page run, and
the time from navigation until every chart is drawn (first draw), in the real app in headless Chromium.

    python3 bench/bench_views.py [--repeats 3] [--only lottery,mlp_skip] [--against /work/main] [--shots DIR]

Each view is opened by its link in a new tab of one browser context that has loaded the app once (the
browser has plotly.js cached; the server sees a new session each time). The first visit of a view is
**cold** (the server has not built that model's graph, layout or lifting yet); the next `--repeats` are
**warm** (a second student). "Drawn" is `bench_pages.wait_quiet`: the script is not running, no spinner,
every plotly chart has its SVG, for 300 ms. Bytes are the websocket frames received from navigation
until then (or, for an action such as *Propose*, from the click). The budget (issue 17): a page payload
of at most 3 MB and a first draw of at most 3 s. `--against` serves another checkout beside this one (e.g.
main's, for the numbers before a change) and measures each view on both, one after the other, so both
see the same load on a shared machine; `--timeout` bounds one visit (main's lottery_mlp unit Prune view
takes minutes). Prune resnet_tiny op is the light reference: what any page costs on this machine now.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
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


def measure(ctx, base: str, path: str, action: str | None, repeats: int, timeout: float,
            shot: Path | None) -> dict | None:
    """The cold visit and `repeats` warm ones of one view on the server at `base` (None: it timed out)."""
    url = f"{base}/{path}"
    try:
        cold, size, err = visit(ctx, url, action, timeout, None)
        warm = []
        for k in range(repeats):
            dt, size, e = visit(ctx, url, action, timeout, shot if k == repeats - 1 else None)
            warm.append(dt)
            err += e
    except TimeoutError:
        return None
    return {"mb": size / 1e6, "cold": cold, "warm": warm, "errors": err}


def line(name: str, r: dict | None, timeout: float) -> str:
    if r is None:
        return f"{name:<46} {'—':>6} did not settle within {timeout:.0f} s"
    w = r["warm"] or [float("nan")]
    ok = r["mb"] <= BUDGET_MB and r["cold"] <= BUDGET_S and max(w) <= BUDGET_S
    return (f"{name:<46} {r['mb']:6.2f} {r['cold']:7.2f} {statistics.median(w):15.2f} {min(w):6.2f} {max(w):6.2f}  "
            f"{'OK' if ok else 'MISSED'}" + (f"  ({r['errors']} error boxes)" if r["errors"] else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="warm visits per view after the cold one")
    ap.add_argument("--only", default="", help="comma-separated words; views whose name contains one of them")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    ap.add_argument("--against", type=Path, default=None,
                    help="another checkout (e.g. main's) served beside it, each view measured on both in turn")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds one visit may take")
    ap.add_argument("--shots", type=Path, default=None, help="save a screenshot of each view's last visit here")
    a = ap.parse_args()
    words = [w for w in a.only.split(",") if w]
    views = {k: v for k, v in VIEWS.items() if not words or any(w in k for w in words)}
    if a.shots:
        a.shots.mkdir(parents=True, exist_ok=True)
    roots = [a.root] + ([a.against] if a.against else [])
    print(f"serving {', '.join(map(str, roots))}; budget {BUDGET_MB:.0f} MB and {BUDGET_S:.0f} s per view", flush=True)
    print(f"{'view':<46} {'MB':>6} {'cold s':>7} {'warm s: median':>15} {'min':>6} {'max':>6}  budget")
    with ExitStack() as stack:
        bases = [stack.enter_context(serve(Path(tempfile.mkdtemp(prefix="bench-views-")), root=r)) for r in roots]
        browser = stack.enter_context(chromium())
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        for base in bases:
            visit(ctx, base, None, a.timeout, None)  # app.py once (deep links then route through st.navigation)
        for name, (path, action) in views.items():
            shot = a.shots / f"{re.sub(r'[^A-Za-z0-9_]+', '_', name)}.png" if a.shots else None
            for k, (root, base) in enumerate(zip(roots, bases)):
                r = measure(ctx, base, path, action, a.repeats, a.timeout, shot if k == 0 else None)
                print(line(name if k == 0 else f"  {root} (against)", r, a.timeout), flush=True)
        ctx.close()


if __name__ == "__main__":
    main()
