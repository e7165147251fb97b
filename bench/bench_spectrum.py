"""Jacobian spectra with torch.func (vmap over jacrev) vs a per-input loop of
torch.autograd.functional.jacobian, in the same process (goal >= 10x for the MLP).

    python3 bench/bench_spectrum.py [--threads 1] [--inputs 1000] [--skip-resnet]

1. a 7-layer width-100 tanh MLP (100 -> 100), float64, over 1,000 inputs;
2. a torchvision ResNet-18 (weights=None) at 4 inputs of 3x32x32, float32 (float64 convolutions
   are several times slower on CPU and change nothing in the comparison).
For each: `explorer.propagation.spectrum.jacobians` (and `jacobian_spectrum`, with the batched SVD) against
the loop `for x: torch.autograd.functional.jacobian(f, x)` (+ torch.linalg.svdvals), default
(`vectorize=False`: one backward pass per output) and `vectorize=True`; the seconds, the ratios, and
the largest difference between the Jacobians (they must agree).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer import models  # noqa: E402
from explorer.models.generated import deep_mlp_spec  # noqa: E402
from explorer.models.init_schemes import apply_init  # noqa: E402
from explorer.propagation.spectrum import frozen_copy, jacobian_spectrum, jacobians  # noqa: E402


def loop_reference(model: torch.nn.Module, x: torch.Tensor, dtype: torch.dtype, vectorize: bool) -> torch.Tensor:
    m = frozen_copy(model, dtype)
    out = []
    for xi in x.to(dtype):
        J = torch.autograd.functional.jacobian(lambda a: m(a.unsqueeze(0)).reshape(-1), xi, vectorize=vectorize)
        out.append(J.reshape(J.shape[0], -1))
    return torch.stack(out)


def timed(f, repeats: int = 1):
    """(result, the fastest of `repeats` wall-clock runs): the minimum is the least disturbed by other load."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = f()
        best = min(best, time.perf_counter() - t0)
    return r, best


def case(name: str, model: torch.nn.Module, x: torch.Tensor, dtype: torch.dtype, repeats: int) -> None:
    print(f"\n{name}: {len(x)} inputs of {tuple(x.shape[1:])}, {dtype}; fastest of {repeats} (1 for the slow loop)")
    jacobians(model, x[:2], dtype=dtype)  # warm-up (first-call dispatch)
    J, t_ours = timed(lambda: jacobians(model, x, dtype=dtype), repeats)
    s, t_spec = timed(lambda: jacobian_spectrum(model, x, dtype=dtype), repeats)
    print(f"  torch.func vmap(jacrev)        Jacobians {t_ours:8.2f} s   spectra (with batched svdvals) {t_spec:8.2f} s")
    for vec in (False, True):
        ref, t_ref = timed(lambda: loop_reference(model, x, dtype, vec), repeats if vec else 1)
        _, t_svd = timed(lambda: [torch.linalg.svdvals(r) for r in ref], repeats)
        err = float((ref - J).abs().max())
        print(f"  loop of autograd.functional.jacobian(vectorize={vec!s:5}) {t_ref:8.2f} s (+ {t_svd:.2f} s svdvals): "
              f"{t_ref / t_ours:6.1f}x for Jacobians, {(t_ref + t_svd) / t_spec:6.1f}x for spectra; max |ΔJ| {err:.1e}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="torch threads, the same for both sides")
    ap.add_argument("--inputs", type=int, default=1000, help="inputs of the MLP case")
    ap.add_argument("--skip-resnet", action="store_true")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each fast side; the fastest counts")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} thread(s)")
    mlp = models.load(deep_mlp_spec(7, 100, "tanh")).model
    apply_init(mlp, "orthogonal", seed=0)
    g = torch.Generator().manual_seed(0)
    case("7-layer width-100 tanh MLP", mlp, torch.randn(a.inputs, 100, generator=g), torch.float64, a.repeats)
    if not a.skip_resnet:
        resnet = models.load("resnet18").model
        case("torchvision resnet18 (weights=None)", resnet, torch.randn(4, 3, 32, 32, generator=g), torch.float32, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
