"""How long each lesson step takes to draw on the Learn page (AppTest, this process), cold (first
visit: the step's zoo graph built, its figure drawn) and warm (again, as a student clicking back),
against the Home page drawn in the same process as the baseline. The issue's bar: every step in
under 3 s on the zoo models.

    python3 bench/bench_lessons.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EXPLORER_DATA_DIR", tempfile.mkdtemp())

from streamlit.testing.v1 import AppTest  # noqa: E402

from explorer.lessons import LESSONS  # noqa: E402


def timed(path: str, query: dict[str, str]) -> tuple[float, float]:
    at = AppTest.from_file(str(ROOT / path), default_timeout=300)
    for k, v in query.items():
        at.query_params[k] = v
    t = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t
    assert not at.exception, [e.value for e in at.exception]
    t = time.perf_counter()
    at.run()
    return cold, time.perf_counter() - t


def main() -> None:
    timed("pages/8_Learn.py", {})  # imports, once
    _, home = timed("app.py", {})
    print(f"baseline: the Home page redraws in {home:.2f} s")
    print(f"{'step':<44} {'cold s':>7} {'warm s':>7} {'warm / Home':>12}")
    worst = 0.0
    for les in LESSONS:
        for n, step in enumerate(les.steps, 1):
            cold, warm = timed("pages/8_Learn.py", les.link(n).query)
            worst = max(worst, cold)
            print(f"{les.number}.{n} {step.title[:38]:<40} {cold:7.2f} {warm:7.2f} {warm / home:12.2f}")
    print(f"slowest first draw: {worst:.2f} s")


if __name__ == "__main__":
    main()
