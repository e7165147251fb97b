"""Tables of the lab's documents: what the page shows and downloads as CSV/JSON, and what the
figures draw — per round and role, the mean ± std over seeds (docs/science.md §4).

    >>> doc = {"dense": {"test_acc": [0.6, 0.7], "iters_to_target": [100, 120]},
    ...        "rounds": [{"round": 1, "sparsity": 0.5, "remaining": 0.5, "runs": {
    ...            "ticket": {"test_acc": [0.7, 0.8], "best_train_acc": [0.9, 1.0], "iters_to_target": [80, None]}}}]}
    >>> [(r["round"], r["role"], r["test acc %"]) for r in rounds_table(doc)]
    [(0, 'dense', '65.0 ± 7.1'), (1, 'ticket', '75.0 ± 7.1')]
    >>> series(doc, "ticket", "iters_to_target")
    [(0.5, 80.0, 0.0, 1)]
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

ROLES = ("ticket", "reinit", "random")
TITLES = {"dense": "dense", "ticket": "ticket", "reinit": "reinit control", "random": "random-mask control",
          "earlybird": "early-bird ticket", "end": "end-of-training ticket"}


def mean_std(xs: Sequence[Any]) -> tuple[float, float, int]:
    """(mean, std, n) over the finite values of `xs` (std 0 for one value, NaN for none)."""
    v = [float(x) for x in xs if x is not None and math.isfinite(float(x))]
    if not v:
        return float("nan"), float("nan"), 0
    return statistics.fmean(v), (statistics.stdev(v) if len(v) > 1 else 0.0), len(v)


def fmt(xs: Sequence[Any], pct: bool = True) -> str:
    m, s, n = mean_std(xs)
    if n == 0:
        return "–"
    return f"{100 * m:.1f} ± {100 * s:.1f}" if pct else f"{m:.0f} ± {s:.0f}"


def _row(r: int, sparsity: float, role: str, d: Mapping[str, Any]) -> dict[str, Any]:
    its = d.get("iters_to_target", [])
    return {"round": r, "sparsity %": round(100 * sparsity, 2), "remaining %": round(100 * (1 - sparsity), 2),
            "role": role, "seeds": len(d.get("test_acc", [])), "test acc %": fmt(d.get("test_acc", [])),
            "best train acc %": fmt(d.get("best_train_acc", [])),
            "iterations to target": fmt(its, pct=False),
            "reached target": f"{sum(i is not None for i in its)}/{len(its)}"}


def rounds_table(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per round and role: mean ± std over seeds (round 0: the dense network)."""
    rows = [_row(0, 0.0, "dense", doc["dense"])] if doc.get("dense") else []
    for entry in doc.get("rounds", []):
        for role, d in entry["runs"].items():
            rows.append(_row(entry["round"], entry["sparsity"], role, d))
    return rows


def per_run_table(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per run: round, sparsity, role, seed index and its numbers (the CSV download)."""
    out = []
    parts = [(0, 0.0, {"dense": doc.get("dense") or {}})] + [(e["round"], e["sparsity"], e["runs"])
                                                            for e in doc.get("rounds", [])]
    for r, sp, runs in parts:
        for role, d in runs.items():
            for i, acc in enumerate(d.get("test_acc", [])):
                out.append({"round": r, "sparsity": sp, "role": role, "seed": i, "test_acc": acc,
                            **{k: d[k][i] for k in ("best_train_acc", "best_test_acc", "final_train_acc",
                                                    "iters_to_target", "run_ids") if k in d and i < len(d[k])}})
    return out


def series(doc: Mapping[str, Any], role: str, key: str = "test_acc") -> list[tuple[float, float, float, int]]:
    """(remaining fraction, mean, std, n) of `key` for `role` over the rounds that have it."""
    out = []
    for e in doc.get("rounds", []):
        d = e["runs"].get(role)
        if d is None:
            continue
        m, s, n = mean_std(d.get(key, []))
        if n:
            out.append((float(e.get("remaining", 1 - e["sparsity"])), m, s, n))
    return out


def roles(doc: Mapping[str, Any]) -> list[str]:
    """The roles the rounds of `doc` trained, tickets first."""
    seen = {r for e in doc.get("rounds", []) for r in e["runs"]}
    return [r for r in ROLES if r in seen] + sorted(seen - set(ROLES))


def transfer_table(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per transfer role (A's ticket on B, B's own, controls, dense on B)."""
    return [{"row": r["title"], "seeds": len(r.get("test_acc", [])), "test acc %": fmt(r.get("test_acc", [])),
             "best train acc %": fmt(r.get("best_train_acc", [])),
             "iterations to target": fmt(r.get("iters_to_target", []), pct=False)} for r in doc.get("rows", [])]


def earlybird_table(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The early-bird ticket against the end-of-training ticket at the same sparsity, and dense."""
    out = []
    for role in ("earlybird", "end", "dense"):
        d = doc.get("runs", {}).get(role)
        if d is None:
            continue
        found = {"earlybird": f"step {doc.get('draw_step')}" if doc.get("draw_step") is not None else "not drawn",
                 "end": f"step {doc.get('config', {}).get('steps')}", "dense": "–"}[role]
        out.append({"ticket": TITLES[role], "drawn at": found, "test acc %": fmt(d.get("test_acc", [])),
                    "best train acc %": fmt(d.get("best_train_acc", [])),
                    "iterations to target": fmt(d.get("iters_to_target", []), pct=False)})
    return out


def to_csv(records: Sequence[Mapping[str, Any]]) -> str:
    """CSV text of a list of flat records (keys of the first one, then any new ones)."""
    keys: list[str] = []
    for r in records:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in records:
        w.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in r.items()})
    return buf.getvalue()
