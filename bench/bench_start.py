"""How long the Lottery page's Start takes to answer, in a real browser on a fresh server: from the
click until the page shows the new experiment's progress bar (queued or running). Baseline in the same run: the time the same page takes to redraw after a click that starts
nothing (changing the Seeds field).

    python3 bench/bench_start.py [--kind sweep] [--repeats 3] [--app-root /path/to/other/checkout]

Each repeat is a fresh server and data folder (the first Start of a server is what a class meets).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from app_server import chromium, serve  # noqa: E402
from browser_harness import wait_idle  # noqa: E402

PROGRESS = '[data-testid="stProgress"]'


def stop_worker(data: Path) -> None:
    """The worker Start spawned trains for minutes in a session of its own: end it."""
    import os
    import signal

    from explorer import paths

    try:
        os.kill(int(paths.worker_lock(data).read_text().strip()), signal.SIGTERM)
    except (OSError, ValueError):
        pass


def once(browser, kind: str) -> tuple[float, float]:
    data = Path(tempfile.mkdtemp(prefix="bench-start-"))
    try:
        return _once(browser, kind, data)
    finally:
        stop_worker(data)


def _once(browser, kind: str, data: Path) -> tuple[float, float]:
    with serve(data) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/Lottery?v=1&kind={kind}&model=lottery_mlp", wait_until="domcontentloaded")
        wait_idle(page)
        seeds = page.get_by_label("Seeds", exact=True).first
        if not seeds.is_visible():  # the settings are folded once an experiment of the kind exists
            page.get_by_text("Settings", exact=True).first.click()
        t = time.perf_counter()
        seeds.fill("3")
        seeds.press("Enter")
        wait_idle(page)
        redraw = time.perf_counter() - t
        t = time.perf_counter()
        page.get_by_role("button", name="Start").click()
        page.wait_for_function(f"""() => Array.from(document.querySelectorAll('{PROGRESS}'))
            .some(e => /(queued|running) ·/.test(e.innerText))""", timeout=300_000, polling=100)
        start = time.perf_counter() - t
        page.close()
        return start, redraw


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", default="sweep", choices=["sweep", "imp"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--app-root", default="", help="another checkout's app to time (e.g. main, for the before)")
    a = p.parse_args()
    if a.app_root:
        import app_server

        app_server.ROOT = Path(a.app_root).resolve()
    import os

    print(f"load before: {os.getloadavg()[0]:.1f}")
    with chromium() as browser:
        for i in range(a.repeats):
            start, redraw = once(browser, a.kind)
            print(f"repeat {i + 1}: Start answered in {start:.2f} s (a redraw of the page: {redraw:.2f} s)", flush=True)


if __name__ == "__main__":
    main()
