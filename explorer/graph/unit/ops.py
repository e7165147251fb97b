"""Block operators of the unit level: the sparse matrices of linear layers and the node activations.

At unit level a value of one sample is a flat float64 vector (channel-major, like
`tensor.flatten()`), and every linear layer is a `scipy.sparse` matrix acting on it:

- `linear_matrix`: a `Linear` layer, the weight itself;
- `conv_matrix`: a `Conv1d`/`Conv2d`/`ConvTranspose1d`/`ConvTranspose2d`, assembled as
  `sum_k kron(W[:, :, k], S_k)` where `S_k` is the 0/1 shift-selection of kernel tap `k`
  (so the block of output channel `o` and input channel `i` is the `k x k` kernel
  `W[o, i]` spread over positions);
- `channel_matrix`: any channel-wise linear map (average pools, spatial means) measured
  on one channel and repeated with `kron(I_C, P)`;
- `index_matrix`: pure re-indexing (view, flatten, permute, slicing, zero padding);
- `maxpool_selection`: the max-pool linearised at an input, a 0/1 selection matrix.

`PHIS` holds the node activations with their slopes, which give `D_l(x)`.

    >>> import torch
    >>> conv = torch.nn.Conv1d(1, 1, 3, padding=1, bias=False)
    >>> M = conv_matrix(conv, (1, 5), (1, 5))
    >>> x = torch.randn(1, 1, 5, dtype=torch.float64)
    >>> bool(abs(M @ x.flatten().numpy() - conv.double()(x).flatten().detach().numpy()).max() < 1e-12)
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn


class UnitLevelError(ValueError):
    """A model (or op) the unit level cannot decompose; the message names it and suggests "op" granularity."""


# ---- activations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Phi:
    """A node activation `phi` and its slope `phi'` (both elementwise on float64 tensors).

    `kinks` are the breakpoints of a piecewise-linear `phi` (relu: (0,), hardtanh: (lo, hi)):
    between two kinks `phi` is affine, which is what the exact linear regions split along."""

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    slope: Callable[[torch.Tensor], torch.Tensor]
    piecewise_linear: bool
    kinks: tuple[float, ...] = ()

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return self.fn(t)


def _gelu_slope(t: torch.Tensor, approximate: str) -> torch.Tensor:
    t = t.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.gelu(t, approximate=approximate).sum(), t)
    return g


def _sig_slope(t: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(t)
    return s * (1 - s)


def leaky_relu(slope: float) -> Phi:
    return Phi(f"leaky_relu({slope:g})", lambda t: F.leaky_relu(t, slope),
               lambda t: torch.where(t > 0, torch.ones_like(t), torch.full_like(t, slope)), True, (0.0,))


def gelu(approximate: str = "none") -> Phi:
    name = "gelu" if approximate == "none" else f"gelu({approximate})"
    return Phi(name, lambda t: F.gelu(t, approximate=approximate), lambda t: _gelu_slope(t, approximate), False)


def hardtanh(lo: float, hi: float) -> Phi:
    name = "relu6" if (lo, hi) == (0.0, 6.0) else f"hardtanh({lo:g},{hi:g})"
    return Phi(name, lambda t: t.clamp(lo, hi), lambda t: ((t > lo) & (t < hi)).to(t.dtype), True,
               (float(lo), float(hi)))


PHIS: dict[str, Phi] = {
    "identity": Phi("identity", lambda t: t, torch.ones_like, True),
    "relu": Phi("relu", torch.relu, lambda t: (t > 0).to(t.dtype), True, (0.0,)),
    "abs": Phi("abs", torch.abs, lambda t: torch.where(t > 0, torch.ones_like(t), -torch.ones_like(t)), True, (0.0,)),
    "tanh": Phi("tanh", torch.tanh, lambda t: 1 - torch.tanh(t) ** 2, False),
    "sigmoid": Phi("sigmoid", torch.sigmoid, _sig_slope, False),
    "gelu": gelu(),
    "relu6": hardtanh(0.0, 6.0),
    "silu": Phi("silu", F.silu, lambda t: _sig_slope(t) * t + torch.sigmoid(t), False),
    "softplus": Phi("softplus", F.softplus, torch.sigmoid, False),
    "elu": Phi("elu", F.elu, lambda t: torch.where(t > 0, torch.ones_like(t), torch.exp(t)), False),
}


def phi_of_module(m: nn.Module) -> Phi | None:
    """The node activation of an activation module, or None if `m` is not one."""
    if isinstance(m, nn.ReLU):
        return PHIS["relu"]
    if isinstance(m, nn.LeakyReLU):
        return leaky_relu(float(m.negative_slope))
    if isinstance(m, nn.ReLU6):
        return PHIS["relu6"]
    if isinstance(m, nn.Hardtanh):
        return hardtanh(float(m.min_val), float(m.max_val))
    if isinstance(m, nn.GELU):
        return gelu(m.approximate)
    for cls, name in ((nn.Tanh, "tanh"), (nn.Sigmoid, "sigmoid"), (nn.SiLU, "silu"), (nn.ELU, "elu"),
                      (nn.Softplus, "softplus")):
        if isinstance(m, cls):
            if name == "elu" and float(m.alpha) != 1.0 or name == "softplus" and (m.beta != 1 or m.threshold != 20):
                return None
            return PHIS[name]
    return None


def phi_of_function(target: object, args: tuple, kwargs: dict) -> Phi | None:
    """The node activation of a functional call (`torch.relu`, `F.leaky_relu(x, 0.1)`, `x.relu()`)."""
    name = target if isinstance(target, str) else getattr(target, "__name__", "")
    name = name.rstrip("_")
    if name in ("relu", "abs", "tanh", "sigmoid", "silu", "relu6", "elu", "softplus") and len(args) <= 1 and not {
            k for k in kwargs if k != "inplace"}:
        return PHIS[name]
    if name == "leaky_relu":
        slope = args[1] if len(args) > 1 else kwargs.get("negative_slope", 0.01)
        return leaky_relu(float(slope))
    if name == "gelu" and len(args) <= 1:
        return gelu(kwargs.get("approximate", "none"))
    return None


# ---- linear layers ----------------------------------------------------------------------


def _t(p: torch.Tensor | None) -> np.ndarray | None:
    return None if p is None else p.detach().to(torch.float64).cpu().numpy()


def linear_matrix(m: nn.Linear) -> tuple[sp.csr_matrix, np.ndarray]:
    """`(W, b)` of a Linear layer on a flat feature vector."""
    W = sp.csr_matrix(_t(m.weight))  # (out, in)
    b = _t(m.bias) if m.bias is not None else np.zeros(m.out_features)
    return W, b


def _pads(m: nn.Module, ksize: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(m.padding, str):
        if m.padding == "valid":
            return (0,) * len(ksize)
        # "same": PyTorch pads total d*(k-1), the smaller half on the left
        return tuple(d * (k - 1) // 2 for d, k in zip(m.dilation, ksize))
    return tuple(m.padding)


MAX_CONV_ENTRIES = 5_000_000


def conv_matrix(m: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> sp.csr_matrix:
    """The (C_out*prod(out_sp), C_in*prod(in_sp)) matrix of a 1-d/2-d (transposed) convolution, no bias.

    `in_shape`/`out_shape` are per-sample shapes `(C, *spatial)`.
    """
    transposed = isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d))
    if getattr(m, "padding_mode", "zeros") != "zeros":
        raise UnitLevelError(f"{type(m).__name__} with padding_mode={m.padding_mode!r} is not supported at unit "
                             "level (only zero padding); use granularity 'op'")
    ksize = tuple(m.kernel_size)
    nd = len(ksize)
    if len(in_shape) != nd + 1 or len(out_shape) != nd + 1:
        raise UnitLevelError(f"{type(m).__name__} expects per-sample shape (C, {nd} spatial dims), got {in_shape}")
    pads = _pads(m, ksize)
    entries = out_shape[0] * (in_shape[0] // m.groups) * prod(ksize) * prod((in_shape if transposed else out_shape)[1:])
    if entries > MAX_CONV_ENTRIES:
        raise UnitLevelError(f"{type(m).__name__} {tuple(in_shape)} -> {tuple(out_shape)} has ~{entries:,} unit-level "
                             f"matrix entries (limit {MAX_CONV_ENTRIES:,}); the unit level is for small networks — "
                             "use granularity 'op' or 'block'")
    W = _t(m.weight)  # conv: (Co, Ci/G, *k); transposed: (Ci, Co/G, *k)
    G = m.groups
    ci, co = in_shape[0], out_shape[0]
    n_in, n_out = prod(in_shape[1:]), prod(out_shape[1:])
    # the conv reads position b = a*stride - pad + k*dil of its input for output position a; a transposed
    # conv is the adjoint of the conv from its output space to its input space (a: its input position)
    short, long = (in_shape[1:], out_shape[1:]) if transposed else (out_shape[1:], in_shape[1:])
    Wk = np.zeros((co, ci) + ksize)  # (Co, Ci, *k) full channel matrix, block-diagonal over groups
    for g in range(G):
        o0, o1 = g * co // G, (g + 1) * co // G
        i0, i1 = g * ci // G, (g + 1) * ci // G
        Wk[o0:o1, i0:i1] = np.swapaxes(W[i0:i1], 0, 1) if transposed else W[o0:o1]
    rows, cols, vals = [], [], []
    for tap in np.ndindex(*ksize):
        a_flat, b_flat = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        for d in range(nd):  # valid (a, b) position pairs, dimension by dimension (row-major flattening)
            a = np.arange(short[d])
            b = a * m.stride[d] - pads[d] + tap[d] * m.dilation[d]
            ok = (b >= 0) & (b < long[d])
            a_flat = (a_flat[:, None] * short[d] + a[ok][None, :]).ravel()
            b_flat = (b_flat[:, None] * long[d] + b[ok][None, :]).ravel()
        q, p = (b_flat, a_flat) if transposed else (a_flat, b_flat)  # output, input positions
        w = Wk[(slice(None), slice(None)) + tap]
        o_idx, i_idx = np.nonzero(w)
        rows.append((o_idx[:, None] * n_out + q[None, :]).ravel())
        cols.append((i_idx[:, None] * n_in + p[None, :]).ravel())
        vals.append(np.repeat(w[o_idx, i_idx], len(q)))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(co * n_out, ci * n_in))


def conv_bias(m: nn.Module, out_shape: tuple[int, ...]) -> np.ndarray:
    n = int(np.prod(out_shape[1:]))
    if m.bias is None:
        return np.zeros(out_shape[0] * n)
    return np.repeat(_t(m.bias), n)


def batchnorm_affine(m: nn.Module, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per-element `(scale, shift)` of an eval-mode BatchNorm (running statistics) on a per-sample shape."""
    if m.running_mean is None:
        raise UnitLevelError(f"{type(m).__name__} without running statistics cannot be written as a fixed "
                             "affine map; use granularity 'op'")
    var, mean = _t(m.running_var), _t(m.running_mean)
    scale = 1.0 / np.sqrt(var + m.eps)
    shift = -mean * scale
    if m.affine:
        scale, shift = scale * _t(m.weight), shift * _t(m.weight) + _t(m.bias)
    n = int(np.prod(shape[1:]))
    return np.repeat(scale, n), np.repeat(shift, n)


MAX_DENSE_BASIS = 8192


def channel_matrix(fn: Callable[[torch.Tensor], torch.Tensor], in_shape: tuple[int, ...],
                   what: str) -> tuple[sp.csr_matrix, tuple[int, ...]]:
    """The matrix of a channel-wise linear map `fn` (same map on every channel): measured on one channel
    with a basis of one-hot inputs, repeated as `kron(I_C, P)`. Returns (matrix, per-sample out shape)."""
    c, sp_shape = in_shape[0], in_shape[1:]
    n = int(np.prod(sp_shape)) if sp_shape else 1
    if n > MAX_DENSE_BASIS:
        raise UnitLevelError(f"{what}: a channel of {n} positions is too large for the unit level "
                             f"(limit {MAX_DENSE_BASIS}); use granularity 'op'")
    basis = torch.eye(n, dtype=torch.float64).reshape(n, 1, *sp_shape)
    with torch.no_grad():
        out = fn(basis)  # (n, 1, *out_sp)
    out_sp = tuple(out.shape[2:])
    P = sp.csr_matrix(out.reshape(n, -1).T.numpy())  # (n_out, n)
    P.eliminate_zeros()
    return sp.kron(sp.identity(c, format="csr"), P, format="csr"), (c, *out_sp)


def index_matrix(source_index: torch.Tensor, n_in: int) -> sp.csr_matrix:
    """0/1 matrix of a pure re-indexing op, from the op applied to `arange(1, n_in+1)`:
    output position q reads input `source_index[q] - 1` (0 means a zero, e.g. padding)."""
    src = source_index.flatten().to(torch.float64).numpy()
    if not np.all(np.equal(np.mod(src, 1), 0)) or src.min(initial=0) < 0 or src.max(initial=0) > n_in:
        raise UnitLevelError("op is not a pure re-indexing (it changes values); use granularity 'op'")
    q = np.nonzero(src)[0]
    return sp.csr_matrix((np.ones(len(q)), (q, src[q].astype(np.int64) - 1)), shape=(len(src), n_in))


# ---- max-pool: a nonlinear arc per channel ----------------------------------------------


@dataclass(frozen=True)
class MaxPool:
    """A channel-wise max-pool (the nonlinear arc function), with its linearisation at an input."""

    nd: int  # 1 or 2 spatial dims
    kwargs: tuple[tuple[str, object], ...]  # kernel_size, stride, padding, dilation, ceil_mode / output_size
    adaptive: bool
    label: str

    def _call(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        kw = dict(self.kwargs)
        if self.adaptive:
            fn = F.adaptive_max_pool1d if self.nd == 1 else F.adaptive_max_pool2d
        else:
            fn = F.max_pool1d if self.nd == 1 else F.max_pool2d
        return fn(t, return_indices=True, **kw)

    def __call__(self, z: np.ndarray, in_shape: tuple[int, ...]) -> np.ndarray:
        """Max-pool of flat per-sample values `z` (n,) or (n, B) of shape `in_shape`."""
        Z = np.asarray(z).reshape(int(np.prod(in_shape)), -1)
        t = torch.from_numpy(np.ascontiguousarray(Z.T)).reshape(-1, *in_shape)
        v, _ = self._call(t)
        return v.reshape(t.shape[0], -1).numpy().T.reshape((-1,) + Z.shape[1:]) if z.ndim > 1 else \
            v.reshape(-1).numpy()

    def selection(self, z: np.ndarray, in_shape: tuple[int, ...]) -> sp.csr_matrix:
        """The 0/1 matrix S with `S z = maxpool(z)` at this `z` (one sample): max-pool linearised at x."""
        t = torch.from_numpy(np.ascontiguousarray(z)).reshape(1, *in_shape)
        v, idx = self._call(t)
        c = in_shape[0]
        n_in = int(np.prod(in_shape[1:]))
        idx = idx.reshape(c, -1).numpy()
        n_out = idx.shape[1]
        rows = np.arange(c * n_out)
        cols = (np.arange(c)[:, None] * n_in + idx).reshape(-1)
        return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(c * n_out, c * n_in))


def maxpool_of_module(m: nn.Module) -> MaxPool | None:
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
        nd = 1 if isinstance(m, nn.MaxPool1d) else 2
        kw = (("kernel_size", m.kernel_size), ("stride", m.stride), ("padding", m.padding),
              ("dilation", m.dilation), ("ceil_mode", m.ceil_mode))
        k = m.kernel_size if isinstance(m.kernel_size, int) else "x".join(map(str, m.kernel_size))
        return MaxPool(nd, kw, False, f"maxpool {k}")
    if isinstance(m, (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)):
        nd = 1 if isinstance(m, nn.AdaptiveMaxPool1d) else 2
        return MaxPool(nd, (("output_size", m.output_size),), True, f"adaptive maxpool {m.output_size}")
    return None


def maxpool_of_function(target: object, args: tuple, kwargs: dict) -> MaxPool | None:
    name = getattr(target, "__name__", "")
    if name in ("adaptive_max_pool1d", "adaptive_max_pool2d") and not kwargs.get("return_indices"):
        size = args[1] if len(args) > 1 else kwargs["output_size"]
        return MaxPool(1 if name.endswith("1d") else 2, (("output_size", size),), True, f"adaptive maxpool {size}")
    if name not in ("max_pool1d", "max_pool2d") or kwargs.get("return_indices"):
        return None
    keys = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    kw = dict(zip(keys, args[1:]))
    kw.update({k: v for k, v in kwargs.items() if k in keys})
    if kw.get("stride") in (None, []):
        kw["stride"] = kw["kernel_size"]
    return MaxPool(1 if name.endswith("1d") else 2, tuple(kw.items()), False, f"maxpool {kw['kernel_size']}")


def kernel_label(values: np.ndarray, limit: int = 9) -> str:
    """`k=[0.1, -0.2, 0.3]` (rounded, truncated with … beyond `limit` entries)."""
    flat = np.asarray(values).reshape(-1)
    shown = ", ".join(f"{v:.2g}" for v in flat[:limit])
    return f"k=[{shown}{', …' if flat.size > limit else ''}]"


def prod(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape))
