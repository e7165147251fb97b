"""Trainer overhead and masked-ticket cost.

    python3 bench/bench_trainer.py [--steps 1500] [--repeats 3] [--device cpu|cuda|auto] [--model mlp]

1. our trainer (`runner.execute`: loop + callbacks: train metrics, divergence, eval, checkpoint,
   cancel check, metric writer) in training steps/s over a bare PyTorch loop with the same model,
   init, data, batch size, optimiser and device (goal >= 0.95);
2. masked ticket training time over dense training time, both through `execute` (goal <= 1.05).

Runs are interleaved and repeated; the median of each is reported (the machine is shared).
Evaluation is set to once at the start and once at the end in both trainer runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from explorer import models  # noqa: E402
from explorer.data import Batches, load_dataset  # noqa: E402
from explorer.pruning.mask import Mask  # noqa: E402
from explorer.training.config import RunConfig  # noqa: E402
from explorer.runtime.device import resolve  # noqa: E402
from explorer.training.loop import Callback  # noqa: E402
from explorer.training.runner import execute  # noqa: E402


class CpuTimer(Callback):
    """Process CPU time across the loop (from after the step-0 evaluation to after the final one)."""

    def on_start(self, s):
        self.t0 = time.process_time()

    def on_end(self, s):
        self.cpu = time.process_time() - self.t0


def bare_loop(cfg: RunConfig) -> tuple[float, float]:
    """Steps/s of the plainest loop: same model/init, data on the device, same batch order, Adam."""
    dev = resolve(cfg.device)
    model = models.load(cfg.model, cfg.seed).model.to(dev).train()
    d = load_dataset(cfg.dataset).reshaped(models.load(cfg.model).info.input_shape).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    it = iter(Batches(d.x_train, d.y_train, cfg.batch_size, cfg.data_seed))
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(cfg.steps):
        x, y = next(it)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    loss.item()  # wait for the device
    return cfg.steps / (time.perf_counter() - t0), cfg.steps / (time.process_time() - c0)


def trainer(cfg: RunConfig, ck: str) -> tuple[float, float]:
    rows: list = []
    timer = CpuTimer()
    r = execute(cfg, rows.extend, checkpoint_root=ck, extra_callbacks=[timer])
    assert r.status == "done", r
    return r.steps_per_s, cfg.steps / timer.cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sparsity", type=float, default=0.8)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.environ.setdefault("EXPLORER_DATA_DIR", tempfile.mkdtemp())
    ck = tempfile.mkdtemp()
    ds = models.load(a.model).info.dataset or "mnist1d"
    dense = RunConfig(model=a.model, dataset=ds, steps=a.steps, batch_size=a.batch_size, eval_every=10**9,
                      device=a.device)
    # a magnitude mask at the requested sparsity, as the Prune page would export
    m = models.load(a.model, 0).model
    mask = {}
    for n, p in m.named_parameters():
        if p.dim() >= 2:
            k = max(1, int((1 - a.sparsity) * p.numel()))
            thr = p.abs().flatten().kthvalue(p.numel() - k + 1).values
            mask[n] = (p.abs() >= thr).float()
    pdir = Path(tempfile.mkdtemp())
    Mask(mask).save(pdir / "mask.safetensors")
    (pdir / "spec.json").write_text(json.dumps({"model": a.model}))
    ticket = dense.replace(init="ticket", pruned_dir=str(pdir))

    bare_loop(dense.replace(steps=100))  # warm-up (allocator, dataset cache)
    trainer(dense.replace(steps=100), ck)
    res: dict[str, list[float]] = {"bare": [], "trainer": [], "ticket": []}
    cpu: dict[str, list[float]] = {"bare": [], "trainer": [], "ticket": []}
    for _ in range(a.repeats):
        for k, f in (("bare", lambda: bare_loop(dense)), ("trainer", lambda: trainer(dense, ck)),
                     ("ticket", lambda: trainer(ticket, ck))):
            w, c = f()
            res[k].append(w)
            cpu[k].append(c)
    med = {k: statistics.median(v) for k, v in res.items()}
    medc = {k: statistics.median(v) for k, v in cpu.items()}
    dev = resolve(a.device)
    print(f"device {dev} ({torch.cuda.get_device_name() if dev.type == 'cuda' else 'cpu'}), model {a.model} on {ds}, "
          f"batch {a.batch_size}, adam, {a.steps} steps x {a.repeats} repeats, torch threads {a.threads}")
    for k, v in res.items():
        print(f"  {k:8s} steps/s wall: median {med[k]:9.1f} (runs {', '.join(f'{x:.0f}' for x in v)});  "
              f"per CPU-second: median {medc[k]:9.1f}")
    print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall figures are noisy when loaded)")
    for name, m in (("wall clock", med), ("CPU time", medc)):
        r1 = m["trainer"] / m["bare"]
        r2 = m["trainer"] / m["ticket"]  # time ratio ticket/dense = inverse of the speed ratio
        print(f"[{name}] trainer / bare loop speed:  {r1:.3f}  (goal >= 0.95) {'OK' if r1 >= 0.95 else 'MISSED'};  "
              f"masked ticket / dense time: {r2:.3f}  (goal <= 1.05) {'OK' if r2 <= 1.05 else 'MISSED'}  "
              f"(sparsity {a.sparsity:.0%})")


if __name__ == "__main__":
    main()
