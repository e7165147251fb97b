"""The IMP flow (docs/science.md §7): the per-layer density across rounds, and its convergence.

Read as a renormalisation-group flow, each IMP round maps the network's per-layer density
vector to a new one; the flow converges when the *shape* of that vector stops changing —
every layer keeps a fixed share of what the whole network keeps — even as the total density
keeps falling. Two distances between successive rounds measure it:

- `step`:  ||d_r - d_(r-1)||_2, the density vectors themselves (falls as the layers empty);
- `shape`: ||d_r / D_r - d_(r-1) / D_(r-1)||_2 with D_r the overall density of round r: the
  relative profile, which goes to 0 at a fixed structure.

`flow(doc)` reads them from an experiment document (round 0 = the dense network, density 1).

    >>> doc = {"rounds": [{"round": 1, "sparsity": 0.5, "layer_density": {"a": 0.5, "b": 0.5}},
    ...                   {"round": 2, "sparsity": 0.75, "layer_density": {"a": 0.25, "b": 0.25}}]}
    >>> f = flow(doc)
    >>> f.layers, f.rounds, f.density[0], [round(x, 3) for x in f.step], f.shape
    (['a', 'b'], [0, 1, 2], [1.0, 0.5, 0.25], [0.707, 0.354], [0.0, 0.0])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Flow:
    """Per-layer density by round: `density[i][j]` is layer `layers[i]` at round `rounds[j]`."""

    layers: list[str]
    rounds: list[int]
    density: list[list[float]]
    total: list[float]  # overall density of each round
    step: list[float]  # distance between successive density vectors (len(rounds) - 1 values)
    shape: list[float]  # distance between successive relative profiles

    def records(self) -> list[dict[str, Any]]:
        """One row per layer and round (the table behind the heatmap)."""
        return [{"layer": l, "round": r, "density": self.density[i][j]}
                for i, l in enumerate(self.layers) for j, r in enumerate(self.rounds)]


def _dist(a: list[float], b: list[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def flow(doc: Mapping[str, Any]) -> Flow:
    """The flow of the rounds of `doc` (an IMP document: `rounds[i]["layer_density"]`)."""
    rounds = [r for r in doc.get("rounds", []) if r.get("layer_density")]
    layers = list(rounds[0]["layer_density"]) if rounds else []
    cols = [[1.0] * len(layers)] + [[float(r["layer_density"].get(l, float("nan"))) for l in layers] for r in rounds]
    total = [1.0] + [1.0 - float(r["sparsity"]) for r in rounds]
    step = [_dist(a, b) for a, b in zip(cols, cols[1:])]
    prof = [[x / t if t > 0 else 0.0 for x in c] for c, t in zip(cols, total)]
    shape = [_dist(a, b) for a, b in zip(prof, prof[1:])]
    density = [[c[i] for c in cols] for i in range(len(layers))]
    return Flow(layers, [0] + [int(r["round"]) for r in rounds], density, total, step, shape)
