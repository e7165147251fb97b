"""What a lottery job has shown so far, rebuilt from its frames (or its result once it is done):
the page polls the store and draws a `Snapshot`; nothing here waits or trains.

Frames the jobs emit (`ctx.emit(kind, payload)`):

- `round_start` {round, label, run_ids}: the runs training now (the live curves);
- `dense` {test_acc, iters_to_target, ...}: round 0 of IMP and the sweep;
- `round` {round, sparsity, layer_density, runs, masks, ...}: a finished round (or sweep entry);
- `curve` {seed, barrier, curve}: one seed's stability curve;
- `eb` {seed, step, distances, drawn, row, spline, ...}: one evaluation of the early-bird search;
- `transfer` / `earlybird`: the finished experiment's document.

    >>> from types import SimpleNamespace as F
    >>> s = Snapshot.of([F(kind="round_start", payload={"round": 1, "label": "round 1", "run_ids": ["a"]}),
    ...                  F(kind="round", payload={"round": 1, "sparsity": 0.2})])
    >>> s.current, len(s.doc["rounds"])
    (['a'], 1)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Snapshot:
    """The document so far (`doc`), the run ids training now, and the early-bird search's records."""

    doc: dict[str, Any] = field(default_factory=dict)
    current: list[str] = field(default_factory=list)
    current_label: str = ""
    eb: list[dict[str, Any]] = field(default_factory=list)  # seed 0's evaluations, in order

    @classmethod
    def of(cls, frames: Iterable[Any], result: dict[str, Any] | None = None) -> Snapshot:
        s = cls({"dense": {}, "rounds": []})
        curves: list[dict[str, Any]] = []
        for f in frames:
            p = f.payload
            if f.kind == "round_start":
                s.current, s.current_label = list(p.get("run_ids", [])), str(p.get("label", ""))
            elif f.kind == "dense":
                s.doc["dense"] = p
            elif f.kind == "round":
                s.doc["rounds"] = [r for r in s.doc["rounds"] if r["round"] != p["round"]] + [p]
            elif f.kind == "curve":
                curves = [c for c in curves if c["seed"] != p["seed"]] + [p]
            elif f.kind == "eb" and p.get("seed", 0) == 0:
                if s.eb and p["step"] <= s.eb[-1]["step"]:  # a resumed search starts over
                    s.eb = [e for e in s.eb if e["step"] < p["step"]]
                s.eb.append(p)
            elif f.kind in ("transfer", "earlybird"):
                s.doc.update(p)
        if curves:
            s.doc["per_seed"] = curves
        if result:
            s.doc.update(result)
        return s

    def eb_matrix(self) -> tuple[list[list[float | None]], list[int]]:
        """The pairwise mask-distance matrix of the main ratio so far (lower triangle from the rows,
        mirrored), and the steps of its rows."""
        if self.doc.get("distances"):
            return self.doc["distances"], list(self.doc.get("steps", []))
        rows = [e.get("row", []) for e in self.eb]
        n = len(rows)
        m: list[list[float | None]] = [[0.0] * n for _ in range(n)]
        for i, row in enumerate(rows):
            for j, d in enumerate(row[:i]):
                m[i][j] = m[j][i] = d
        return m, [e["step"] for e in self.eb]

    def eb_draw(self, ratio: float) -> int | None:
        """The step at which the main ratio was drawn, so far."""
        if "draw_step" in self.doc:
            return self.doc["draw_step"]
        for e in self.eb:
            if e.get("drawn", {}).get(str(ratio)):
                return int(e["step"])
        return None

    def eb_spline(self) -> tuple[list[float | None], int | None]:
        if "spline_distances" in self.doc:
            return self.doc["spline_distances"], self.doc.get("spline_draw_step")
        dists = [e.get("spline") for e in self.eb[1:]]
        draw = next((e["step"] for e in self.eb if e.get("spline_drawn")), None)
        return dists, draw
