"""The input features of the playground (TensorFlow Playground's x1, x2, x1², x2², x1x2, sin x1,
sin x2) and the plane they put the network on.

The network sees the feature vector `f(x)`, not `x`. With only x1 and x2 the features are a
linear map of the input, `f(x) = B x`, so the network's regions over the input square are the
exact polygons of `explorer.regions` (`Plane.embed(B)`). Any of the others bends the map, the
regions over the input square become curved, and only the grid approximation can draw them
(`Plane.mapped`, labelled as such).

    >>> features(np.array([[2.0, 3.0]]), ("x1", "x1^2", "x1x2")).tolist()
    [[2.0, 4.0, 6.0]]
    >>> feature_plane(("x2", "x1"), (-6, 6, -6, 6)).linear, feature_plane(("x1", "sin_x1"), (-6, 6, -6, 6)).linear
    (True, False)
"""

from __future__ import annotations

import numpy as np

from explorer.regions.plane import Plane

FN = {
    "x1": lambda x: x[:, 0],
    "x2": lambda x: x[:, 1],
    "x1^2": lambda x: x[:, 0] ** 2,
    "x2^2": lambda x: x[:, 1] ** 2,
    "x1x2": lambda x: x[:, 0] * x[:, 1],
    "sin_x1": lambda x: np.sin(x[:, 0]),
    "sin_x2": lambda x: np.sin(x[:, 1]),
}
LABELS = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1x2": "x₁x₂", "sin_x1": "sin x₁", "sin_x2": "sin x₂"}
LINEAR = {"x1": (1.0, 0.0), "x2": (0.0, 1.0)}


def features(x: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """(n, len(names)) the features of points x (n, 2)."""
    x = np.asarray(x, dtype=np.float64)
    return np.stack([FN[n](x) for n in names], 1)


def feature_plane(names: tuple[str, ...], box: tuple[float, float, float, float]) -> Plane:
    """The plane (x1, x2) in `box` as the network sees it through the features `names`."""
    if all(n in LINEAR for n in names):
        return Plane.embed(np.array([LINEAR[n] for n in names]), box)
    curved = ", ".join(LABELS[n] for n in names if n not in LINEAR)
    return Plane.mapped(lambda uv: features(uv, names), len(names), box, f"{curved} of the input")
