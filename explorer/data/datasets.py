"""Datasets that need no download, and the user's own CSV/NPZ files (docs/science.md §8).

`load_dataset(name)` returns a `DataSplit` of float32 inputs and int64 labels with a
train/test split fixed once (not by the run's seed, so every run sees the same split).

    >>> d = load_dataset("moons")
    >>> d
    DataSplit('moons', train 800, test 200, input (2,), 2 classes)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from explorer import paths
from explorer.server.settings import serving_class
from explorer.data.user_files import DataError, read_user_file, validate
from explorer.data.variants import parse, permute_labels

BUILTIN = ("mnist1d", "digits", "moons", "circles", "spirals", "xor")
SPLIT_SEED = 0  # the train/test split is the same for every run
N_2D = 1000  # samples in each generated 2-D set


@dataclass(frozen=True)
class DataSplit:
    name: str
    x_train: torch.Tensor  # (n_train, *input_shape) float32
    y_train: torch.Tensor  # (n_train,) int64 in [0, n_classes)
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def __repr__(self) -> str:
        return (f"DataSplit({self.name!r}, train {len(self.y_train)}, test {len(self.y_test)}, "
                f"input {self.input_shape}, {self.n_classes} classes)")

    def to(self, device: torch.device | str) -> DataSplit:
        return DataSplit(self.name, self.x_train.to(device), self.y_train.to(device), self.x_test.to(device),
                         self.y_test.to(device), self.n_classes)

    def reshaped(self, input_shape: tuple[int, ...]) -> DataSplit:
        """The same data viewed as `input_shape` (e.g. digits (1,8,8) -> (64,) for an MLP).
        Raises DataError if the sizes differ."""
        input_shape = tuple(input_shape)
        if input_shape == self.input_shape:
            return self
        if math.prod(input_shape) != math.prod(self.input_shape):
            raise DataError(f"dataset {self.name!r} has inputs of shape {self.input_shape} but the model expects "
                            f"{input_shape}; pick a dataset whose samples have {math.prod(input_shape)} values "
                            f"(e.g. the model's default dataset) or a model that eats {self.input_shape}")
        return DataSplit(self.name, self.x_train.reshape(-1, *input_shape), self.y_train,
                         self.x_test.reshape(-1, *input_shape), self.y_test, self.n_classes)




def _split(x: np.ndarray, y: np.ndarray, test_frac: float = 0.2) -> tuple[np.ndarray, ...]:
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    n_test = int(round(test_frac * len(y)))
    te, tr = perm[:n_test], perm[n_test:]
    return x[tr], y[tr], x[te], y[te]


def _mnist1d(seed: int | None = None, noise: float = 1.0) -> tuple[np.ndarray, ...]:
    """MNIST-1D with its default arguments, or generated with another `seed` / noise scale (cached)."""
    tag = "".join([f"_seed{seed}" if seed is not None else "", f"_noise{noise:g}" if noise != 1.0 else ""])
    path = paths.datasets() / f"mnist1d{tag}.npz"
    if path.exists():
        try:
            z = np.load(path, allow_pickle=False)
            return z["x"], z["y"], z["x_test"], z["y_test"]
        except Exception:  # noqa: BLE001 - our own cache, damaged (e.g. truncated): make it again
            path.unlink(missing_ok=True)
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    if seed is not None:
        args.seed = int(seed)
    args.corr_noise_scale *= noise
    args.iid_noise_scale *= noise
    d = make_dataset(args)  # generated locally; never get_dataset(), which downloads
    paths.ensure_dir(path.parent)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, x=d["x"], y=d["y"], x_test=d["x_test"], y_test=d["y_test"])
    os.replace(tmp, path)  # atomic: concurrent workers never read a half-written cache
    return d["x"], d["y"], d["x_test"], d["y_test"]


def _spirals(n: int, rng: np.random.Generator, turns: float = 1.5, noise: float = 0.2) -> tuple[np.ndarray, ...]:
    k = n // 2
    t = np.sqrt(rng.uniform(0, 1, k)) * turns * 2 * np.pi
    a = np.stack([t * np.cos(t), t * np.sin(t)], 1) / (turns * 2 * np.pi)
    x = np.concatenate([a, -a]) + rng.normal(0, noise / (turns * 2 * np.pi), (2 * k, 2))
    return x, np.repeat([0, 1], k)


def _builtin(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if name == "mnist1d":
        return _mnist1d()
    from sklearn import datasets

    rng = np.random.default_rng(SPLIT_SEED)
    if name == "digits":
        d = datasets.load_digits()
        x, y = (d.data / 16.0).reshape(-1, 1, 8, 8), d.target
    elif name == "moons":
        x, y = datasets.make_moons(N_2D, noise=0.1, random_state=SPLIT_SEED)
    elif name == "circles":
        x, y = datasets.make_circles(N_2D, noise=0.05, factor=0.5, random_state=SPLIT_SEED)
    elif name == "spirals":
        x, y = _spirals(N_2D, rng)
    else:  # xor: four Gaussian blobs, label = sign(x0) xor sign(x1)
        x = rng.uniform(-1, 1, (N_2D, 2))
        y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    return _split(np.asarray(x), np.asarray(y))


def load_dataset(name: str) -> DataSplit:
    """A built-in dataset by name, or a user .csv/.npz file by path, split 80/20 (MNIST-1D: its own
    4000/1000 split); `NAME@key=value` is a variant (`explorer.data.variants`: another MNIST-1D seed or
    noise level, permuted labels). Raises DataError naming the file, row and fix for bad user data."""
    base, opts = parse(name)
    if opts:
        if base == "mnist1d" and ("seed" in opts or "noise" in opts):
            seed = int(opts["seed"]) if "seed" in opts else None
            xtr, ytr, xte, yte = (np.asarray(a) for a in _mnist1d(seed, opts.get("noise", 1.0)))
            d = DataSplit(name, *(torch.from_numpy(a) for a in validate(xtr, ytr, name) + validate(xte, yte, name)),
                          n_classes=int(max(ytr.max(), yte.max())) + 1)
        else:
            d = load_dataset(base)
        if "perm" in opts:
            k = int(opts["perm"])
            d = DataSplit(name, d.x_train, torch.from_numpy(permute_labels(d.y_train.numpy(), d.n_classes, k)),
                          d.x_test, torch.from_numpy(permute_labels(d.y_test.numpy(), d.n_classes, k)), d.n_classes)
        return DataSplit(name, d.x_train, d.y_train, d.x_test, d.y_test, d.n_classes)
    if name in BUILTIN:
        xtr, ytr, xte, yte = _builtin(name)
        xtr, ytr = validate(np.asarray(xtr), np.asarray(ytr), name)
        xte, yte = validate(np.asarray(xte), np.asarray(yte), name)
    else:
        path = Path(name)
        if serving_class():
            raise DataError(f"dataset {name!r}: a class server trains on its built-in datasets only "
                            f"({', '.join(BUILTIN)}), never on a file of the server; choose one of them")
        if not path.suffix:
            raise DataError(f"unknown dataset {name!r}; give one of {', '.join(BUILTIN)} or a path to a .csv/.npz file")
        x, y = read_user_file(path)
        xtr, ytr, xte, yte = _split(x, y)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    return DataSplit(Path(name).name if name not in BUILTIN else name, torch.from_numpy(xtr), torch.from_numpy(ytr),
                     torch.from_numpy(xte), torch.from_numpy(yte), n_classes)


