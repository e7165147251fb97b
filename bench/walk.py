"""The walk (tests/browser/test_walk_browser.py) with its wall time per step: teacher, researcher and
demo-giver in the real app in headless Chromium, as the suite runs them (the fast form), or with
`--long` more models (mobilenet_v3_small beside resnet18, a second class of the model file).

    python3 bench/walk.py [--long] [--only teacher|researcher|demo]

Prints each user's steps with seconds, each user's total, the whole run's wall time and the machine's load
average before and after (the machine is shared: read the times with the load). Times are figures, never
asserted; the walk's assertions (what a person checks) are the test's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE = "tests/browser/test_walk_browser.py"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long", action="store_true", help="more models and model-file classes")
    ap.add_argument("--only", choices=("teacher", "researcher", "demo"), help="walk one user only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = Path(tmp) / "walk.json"
        env = {**os.environ, "WALK_TIMES": str(times), "WALK_LONG": "1" if args.long else "0"}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", MODULE] + (["-k", args.only] if args.only else [])
        load0, t0 = os.getloadavg()[0], time.monotonic()
        rc = subprocess.call(cmd, cwd=ROOT, env=env)
        wall, load1 = time.monotonic() - t0, os.getloadavg()[0]
        steps = json.loads(times.read_text()) if times.is_file() else []
    per = defaultdict(list)
    for user, what, s in steps:
        per[user].append((what, s))
    for user, rows in per.items():
        print(f"\n{user}: {sum(s for _, s in rows):.1f} s in {len(rows)} steps")
        for what, s in rows:
            print(f"  {s:7.1f} s  {what}")
    print(f"\nwalk: {wall:.0f} s wall (pytest exit {rc}, servers' start included); load average {load0:.1f} before, "
          f"{load1:.1f} after; {'long' if args.long else 'fast'} form")
    return rc


if __name__ == "__main__":
    sys.exit(main())
