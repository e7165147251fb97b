"""The 2-D slice of input space a partition is drawn on: `x(u, v) = origin + u * e1 + v * e2`.

- `Plane.rect(xmin, xmax, ymin, ymax)`: a 2-D input itself (origin 0, e1, e2 the axes);
- `Plane.through(a, b, c)`: the plane through three anchor inputs of any shape (e.g. three
  MNIST-1D samples) with `a` at (0, 0), `b` at (1, 0) and `c` at (0, 1) — SplineCam's slice;
- `Plane.embed(basis)`: a 2-D input read by a model through a fixed linear map;
- `Plane.mapped(fn, n_in)`: a 2-D input read through a *nonlinear* feature map (x₁², sin x₁):
  its regions are curved, so only the grid approximation can draw it (`linear` is False).

The partition of a piecewise-linear network restricted to a plane is again a set of convex
polygons, because `x(u, v)` is affine (docs/science.md §6).

    >>> p = Plane.rect(-1, 1, -2, 2)
    >>> p.inputs(np.array([[0.5, 1.0]])).tolist()
    [[0.5, 1.0]]
    >>> q = Plane.through(np.zeros(3), np.eye(3)[0], np.eye(3)[1])
    >>> q.inputs(np.array([[1.0, 1.0]])).tolist(), q.box
    ([[1.0, 1.0, 0.0]], (-0.25, 1.25, -0.25, 1.25))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


class PlaneError(ValueError):
    """A plane that cannot be drawn: degenerate anchors, an empty box, a size that does not fit the model."""


@dataclass(frozen=True)
class Plane:
    """`x(u, v) = origin + u e1 + v e2` for (u, v) in `box` = (umin, umax, vmin, vmax)."""

    origin: np.ndarray = field(repr=False)  # (n_in,) flat, as tensor.flatten() orders the input
    basis: np.ndarray = field(repr=False)  # (n_in, 2): e1, e2 as columns
    box: tuple[float, float, float, float]
    shape: tuple[int, ...] = ()  # per-sample input shape of the model
    labels: tuple[str, str] = ("x₁", "x₂")
    feature_map: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False, compare=False)
    feature_note: str = ""  # why the map is not linear, for the grid approximation's label

    def __post_init__(self) -> None:
        a, b, c, d = self.box
        if not (b > a and d > c):
            raise PlaneError(f"box {self.box} is empty: give XMIN < XMAX and YMIN < YMAX")
        if self.feature_map is None and np.linalg.matrix_rank(self.basis, tol=1e-12) < 2:
            raise PlaneError("the plane's two directions are parallel (the anchors lie on one line); "
                             "pick three anchors that are not collinear")

    @classmethod
    def rect(cls, xmin: float, xmax: float, ymin: float, ymax: float) -> Plane:
        """The input plane of a model with two inputs."""
        return cls(np.zeros(2), np.eye(2), (float(xmin), float(xmax), float(ymin), float(ymax)), (2,))

    @classmethod
    def embed(cls, basis: np.ndarray, box: tuple[float, float, float, float],
              origin: np.ndarray | None = None) -> Plane:
        """A 2-D input that the model reads as `origin + basis @ (u, v)` (basis (n_in, 2))."""
        basis = np.asarray(basis, dtype=np.float64)
        o = np.zeros(len(basis)) if origin is None else np.asarray(origin, dtype=np.float64).reshape(-1)
        return cls(o, basis, tuple(float(b) for b in box), (len(basis),))  # type: ignore[arg-type]

    @classmethod
    def through(cls, a: np.ndarray, b: np.ndarray, c: np.ndarray, margin: float = 0.25) -> Plane:
        """The plane through anchors a (0, 0), b (1, 0), c (0, 1); the box shows them with `margin` around."""
        a, b, c = (np.asarray(t, dtype=np.float64) for t in (a, b, c))
        if not (a.shape == b.shape == c.shape):
            raise PlaneError(f"anchors of shapes {a.shape}, {b.shape}, {c.shape}: all three must have the "
                             "model's input shape")
        basis = np.stack([(b - a).reshape(-1), (c - a).reshape(-1)], 1)
        box = (-margin, 1 + margin, -margin, 1 + margin)
        return cls(a.reshape(-1), basis, box, tuple(a.shape), ("u (anchor 0→1)", "v (anchor 0→2)"))

    @classmethod
    def mapped(cls, fn: Callable[[np.ndarray], np.ndarray], n_in: int, box: tuple[float, float, float, float],
               note: str = "") -> Plane:
        """A 2-D input the model reads through the nonlinear features `fn(uv) -> (n, n_in)`."""
        return cls(np.zeros(n_in), np.zeros((n_in, 2)), tuple(float(b) for b in box), (n_in,),  # type: ignore[arg-type]
                   feature_map=fn, feature_note=note)

    @property
    def linear(self) -> bool:
        """Whether the model's input is affine in (u, v), so its regions are polygons."""
        return self.feature_map is None

    @property
    def n_in(self) -> int:
        return len(self.origin)

    @property
    def area(self) -> float:
        a, b, c, d = self.box
        return (b - a) * (d - c)

    def inputs(self, uv: np.ndarray) -> np.ndarray:
        """(n, n_in) model inputs (flat) at plane points uv (n, 2)."""
        if self.feature_map is not None:
            return np.asarray(self.feature_map(np.asarray(uv, dtype=np.float64)), dtype=np.float64)
        return self.origin[None, :] + np.asarray(uv, dtype=np.float64) @ self.basis.T

    def grid(self, res: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel centres of a res x res grid over the box: (us (res,), vs (res,), uv (res*res, 2), row-major in v)."""
        a, b, c, d = self.box
        us = a + (np.arange(res) + 0.5) * (b - a) / res
        vs = c + (np.arange(res) + 0.5) * (d - c) / res
        U, V = np.meshgrid(us, vs)
        return us, vs, np.stack([U.ravel(), V.ravel()], 1)

    def check_fits(self, input_shape: tuple[int, ...]) -> None:
        n = int(np.prod(input_shape))
        if n != self.n_in:
            raise PlaneError(f"the plane lives in a {self.n_in}-value input space but the model eats {input_shape} "
                             f"({n} values); a 2-D box needs a 2-input model — for others give three anchors "
                             "(--plane IDX0,IDX1,IDX2 with --dataset)")
