#!/usr/bin/env bash
# The GPU check of issue 19, as one prepared run on a machine with a CUDA device:
#   1. the CUDA-marked tests (tests/test_cuda.py: runs, rewind checkpoints, a batched job, a lottery
#      sweep on CUDA, checked against the CPU);
#   2. the batched K=16 benchmark on the device (bench/bench_batched.py --device cuda);
#   3. the Prune page's quick comparison end to end (bench/bench_quick.py: store + worker process,
#      device=auto, so the worker picks the GPU);
#   4. the lottery sweep (bench/bench_lottery.py --device cuda: the whole experiment, then 24 runs one
#      after another vs as one batched job).
# It writes the figures of each step and one summary, gpu_check.json, to $GPU_CHECK_OUT (default
# $OUT/gpu_check when the device tool's $OUT is set, else ./gpu_check), and exits non-zero when any
# step failed. Without a CUDA device it stops at once with exit 3 and says so.
#
#   bash bench/gpu_check.sh                                      # on the GPU machine
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_SMOKE=1 bash bench/gpu_check.sh   # check the script itself on a CPU:
#                                                                  # tiny sizes, figures meaningless
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=${GPU_CHECK_DEVICE:-cuda}
SMOKE=${GPU_CHECK_SMOKE:-0}
DEST=${GPU_CHECK_OUT:-${OUT:+$OUT/}gpu_check}
mkdir -p "$DEST"
export PYTHONUNBUFFERED=1 EXPLORER_DATA_DIR="$(mktemp -d)"

python3 - "$DEVICE" "$DEST/machine.json" <<'EOF' || exit 3
import json, sys, platform
import torch
dev, out = sys.argv[1], sys.argv[2]
if dev == "cuda" and not torch.cuda.is_available():
    sys.exit(f"gpu_check: no CUDA device here (torch {torch.__version__}, cuda build {torch.version.cuda}); "
             "run this on a machine with an NVIDIA GPU, or GPU_CHECK_DEVICE=cpu GPU_CHECK_SMOKE=1 to check the script")
info = {"device": dev, "torch": torch.__version__, "cuda": torch.version.cuda, "host": platform.node(),
        "cpu_threads": torch.get_num_threads()}
if dev == "cuda":
    p = torch.cuda.get_device_properties(0)
    info |= {"gpu": p.name, "gpu_memory_gib": round(p.total_memory / 2**30, 1), "gpus": torch.cuda.device_count()}
json.dump(info, open(out, "w"), indent=1)
print("gpu_check on", info)
EOF

if [ "$SMOKE" = 1 ]; then
  BATCHED_ARGS="--steps 20"; QUICK_MODELS="moons_mlp"; LOTTERY_ARGS="--steps 30 --seeds 1"
else
  BATCHED_ARGS="--steps 500"; QUICK_MODELS="mlp_skip,resnet_tiny,lottery_mlp,cnn1d"; LOTTERY_ARGS="--steps 1501 --seeds 2"
fi

STEPS=()
step() {  # step NAME LIMIT_S COMMAND...: run it bounded, keep its output and exit code
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  echo "== $name (at most ${limit}s): $*"
  timeout "$limit" "$@" > >(tee "$DEST/$name.log") 2>&1
  local rc=$?
  echo "== $name: exit $rc after $((SECONDS - t0))s"
  STEPS+=("$name:$rc:$((SECONDS - t0))")
}

step cuda_tests 240 env EXPLORER_CUDA_TESTS_ON="$DEVICE" python3 -m pytest -q -p no:cacheprovider -m cuda \
  tests/test_cuda.py --junitxml="$DEST/cuda_tests.xml"
step batched 240 python3 bench/bench_batched.py --k 16 --device "$DEVICE" $BATCHED_ARGS --json "$DEST/batched.json"
step quick 300 python3 bench/bench_quick.py --models "$QUICK_MODELS" --seeds 2 --json "$DEST/quick.json"
step lottery 300 python3 bench/bench_lottery.py --device "$DEVICE" $LOTTERY_ARGS --json "$DEST/lottery.json"

python3 - "$DEST" "$DEVICE" "$SMOKE" "${STEPS[@]}" <<'EOF'
import json, sys, time
from pathlib import Path
import xml.etree.ElementTree as ET
dest, dev, smoke, steps = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", sys.argv[4:]

def read(name):
    p = dest / name
    return json.loads(p.read_text()) if p.exists() else None

out = {"when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "smoke": smoke, "machine": read("machine.json"),
       "steps": {s.split(":")[0]: {"exit": int(s.split(":")[1]), "seconds": int(s.split(":")[2])} for s in steps}}
x = dest / "cuda_tests.xml"
if x.exists():
    suite = ET.parse(x).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    out["cuda_tests"] = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
out["batched"], out["quick"], out["lottery"] = read("batched.json"), read("quick.json"), read("lottery.json")
# the work ran where it was meant to: every quick-comparison run and every lottery run on the device
quick_devs = sorted({d for m in out["quick"] or [] for d in m["devices"]})
lottery_devs = (out["lottery"] or {}).get("run_devices", [])
out["ran_on_device"] = bool(quick_devs) and bool(lottery_devs) and all(
    d.startswith(dev) for d in quick_devs + lottery_devs)
out["ok"] = all(v["exit"] == 0 for v in out["steps"].values()) and out["ran_on_device"]
(dest / "gpu_check.json").write_text(json.dumps(out, indent=1))
print(json.dumps(out, indent=1))
sys.exit(0 if out["ok"] else 1)
EOF
