"""The playground's data, generated as TensorFlow Playground does (docs/science.md §9): points in
the square [-6, 6]², two classes, `noise` 0–50 and a train/test split at `train_ratio` percent,
all drawn from the run's seed — or the user's own 2-D points (`dataset="csv"`).

- circle: an inner disc (class 1) inside a ring (class 0);
- xor: the four quadrants, class = sign(x1 * x2) > 0;
- gauss: two Gaussian blobs at (2, 2) and (-2, -2), wider with noise;
- spiral: two interleaved spirals;
- moons: scikit-learn's two moons, scaled to the square.

    >>> from explorer.playground.config import PlaygroundConfig
    >>> d = make_data(PlaygroundConfig(dataset="xor", train_ratio=60))
    >>> d
    PlaygroundData(xor: 300 train, 200 test, 2 classes, box (-6.0, 6.0, -6.0, 6.0))
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch

from explorer.playground.config import PlaygroundConfig

BOX = (-6.0, 6.0, -6.0, 6.0)  # TensorFlow Playground's square
CSV_LIMIT = 5000


class PlaygroundDataError(ValueError):
    """User points that cannot be used (not 2-D, bad labels); the message says which row and the fix."""


@dataclass(frozen=True)
class PlaygroundData:
    name: str
    x_train: torch.Tensor  # (n, 2) float32
    y_train: torch.Tensor  # (n,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    box: tuple[float, float, float, float]

    def __repr__(self) -> str:
        return (f"PlaygroundData({self.name}: {len(self.y_train)} train, {len(self.y_test)} test, "
                f"{self.n_classes} classes, box {self.box})")


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r_max = 5.0
    k = n // 2
    r = np.concatenate([rng.uniform(0, 0.5 * r_max, k), rng.uniform(0.7 * r_max, r_max, n - k)])
    a = rng.uniform(0, 2 * np.pi, n)
    x = np.stack([r * np.sin(a), r * np.cos(a)], 1) + rng.uniform(-r_max, r_max, (n, 2)) * noise
    y = (np.hypot(x[:, 0], x[:, 1]) < 0.5 * r_max).astype(np.int64)
    return x, y


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-5, 5, (n, 2))
    x += np.where(x > 0, 0.3, -0.3)  # keep the points off the axes, as Playground does
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x + rng.uniform(-5, 5, (n, 2)) * noise, y


def _gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    sd = np.sqrt(0.5 + (4.0 - 0.5) * noise / 0.5)
    k = n // 2
    x = np.concatenate([rng.normal(2, sd, (k, 2)), rng.normal(-2, sd, (n - k, 2))])
    return x, np.repeat([1, 0], [k, n - k]).astype(np.int64)


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    k = n // 2
    xs, ys = [], []
    for label, dt in ((1, 0.0), (0, np.pi)):
        i = np.arange(k)
        r = i / k * 5
        t = 1.75 * i / k * 2 * np.pi + dt
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], 1) + rng.uniform(-1, 1, (k, 2)) * noise)
        ys.append(np.full(k, label))
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


def _moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    x, y = make_moons(n, noise=0.04 + 0.5 * noise, random_state=int(rng.integers(2**31)))
    return (x - np.array([0.5, 0.25])) * 3.2, y.astype(np.int64)


GENERATORS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral, "moons": _moons}


def read_points(data: bytes, name: str = "upload.csv") -> tuple[tuple[float, float, int], ...]:
    """The rows (x1, x2, label) of a 2-D CSV (a header row is allowed; labels 0..K-1), validated by
    `explorer.data.user_files`, for `PlaygroundConfig(dataset="csv", points=...)`."""
    import tempfile
    from pathlib import Path

    from explorer.data.user_files import read_user_file

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / (Path(name).stem + ".csv")
        p.write_bytes(data)
        x, y = read_user_file(p)
    if x.shape[1:] != (2,):
        raise PlaygroundDataError(f"{name}: the playground draws 2-D data; found {x.shape[1] if x.ndim > 1 else 1} "
                                  "feature columns — give rows x1, x2, label")
    if len(y) > CSV_LIMIT:
        raise PlaygroundDataError(f"{name}: {len(y)} rows; the playground takes at most {CSV_LIMIT} (subsample it)")
    if len(np.unique(y)) < 2:
        raise PlaygroundDataError(f"{name}: every row has label {y[0]}; give at least two classes")
    return tuple((round(float(a), 6), round(float(b), 6), int(c)) for (a, b), c in zip(x, y))


def _box_of(x: np.ndarray) -> tuple[float, float, float, float]:
    lo, hi = x.min(0), x.max(0)
    c, half = (lo + hi) / 2, (hi - lo).max() / 2 * 1.1 + 1e-6  # a square, 10 % margin
    return (float(c[0] - half), float(c[0] + half), float(c[1] - half), float(c[1] + half))


def make_data(cfg: PlaygroundConfig) -> PlaygroundData:
    """The data of `cfg`: generated from `cfg.seed`, shuffled and split at `cfg.train_ratio`."""
    rng = np.random.default_rng(cfg.seed)
    if cfg.dataset == "csv":
        pts = np.asarray(cfg.points, dtype=np.float64)
        x, y, box = pts[:, :2], pts[:, 2].astype(np.int64), _box_of(pts[:, :2])
    else:
        x, y = GENERATORS[cfg.dataset](cfg.n_points, cfg.noise / 100.0, rng)
        box = BOX
    perm = rng.permutation(len(y))
    n_train = max(1, min(len(y) - 1, int(round(len(y) * cfg.train_ratio / 100))))
    tr, te = perm[:n_train], perm[n_train:]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    return PlaygroundData(cfg.dataset, t(x[tr].astype(np.float32)), t(y[tr]), t(x[te].astype(np.float32)), t(y[te]),
                          cfg.n_classes, box)


def csv_bytes(points: tuple[tuple[float, float, int], ...]) -> bytes:
    """The points back as CSV text (for downloads)."""
    buf = io.StringIO()
    buf.write("x1,x2,label\n")
    for a, b, c in points:
        buf.write(f"{a},{b},{c}\n")
    return buf.getvalue().encode()
