"""Why the thread counts in `explorer.runtime.device` are what they are.

    python3 bench/bench_threads.py [--seconds 3] [--repeats 15]

Each case runs in a fresh child process (OpenMP's wait policy is fixed when torch loads), once on
a quiet machine and once beside a busy process this script starts (a pure-Python spin loop, the
stand-in for a training worker), on 1 and on 2 torch threads, and with `OMP_WAIT_POLICY=PASSIVE`:

- MLP: training steps/s of a 40-100-100-10 MLP, batch 128 (the zoo's size of model);
- resnet18: median forward latency in ms of torchvision's resnet18 at 1x3x224x224.

Ratios are within one machine state: read "1 thread vs 2 threads" in each column.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CHILD = r"""
import json, statistics, sys, time, torch
from torch import nn
threads, seconds, repeats = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
m = nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10))
opt = torch.optim.SGD(m.parameters(), 0.01)
x, y = torch.randn(128, 40), torch.randint(0, 10, (128,))
def step():
    opt.zero_grad(); nn.functional.cross_entropy(m(x), y).backward(); opt.step()
for _ in range(20):
    step()
t0, n = time.perf_counter(), 0
while time.perf_counter() - t0 < seconds:
    step(); n += 1
sps = n / (time.perf_counter() - t0)
import torchvision
r = torchvision.models.resnet18().eval()
img = torch.randn(1, 3, 224, 224)
with torch.inference_mode():
    for _ in range(3):
        r(img)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); r(img); ts.append(1000 * (time.perf_counter() - t))
print(json.dumps({"mlp_steps_s": sps, "resnet18_ms": statistics.median(ts)}))
"""

CASES = (("1 thread", 1, None), ("2 threads", 2, None), ("2 threads, PASSIVE", 2, "PASSIVE"))


def run_case(threads: int, policy: str | None, seconds: float, repeats: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(seconds), str(repeats)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args()
    results = {}
    for state in ("quiet", "busy"):
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if state == "busy" else None
        try:
            if hog:
                time.sleep(0.5)
            for name, thr, pol in CASES:
                results[(state, name)] = run_case(thr, pol, a.seconds, a.repeats)
        finally:
            if hog:
                hog.kill()
                hog.wait()
    print(f"{'case':<22} {'MLP steps/s quiet':>18} {'busy':>8} {'resnet18 ms quiet':>18} {'busy':>8}")
    for name, _, _ in CASES:
        q, b = results[("quiet", name)], results[("busy", name)]
        print(f"{name:<22} {q['mlp_steps_s']:>18.0f} {b['mlp_steps_s']:>8.0f} {q['resnet18_ms']:>18.0f} "
              f"{b['resnet18_ms']:>8.0f}")
    print("(the machine's own load adds to 'quiet'; load average now "
          f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
