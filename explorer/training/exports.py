"""A comparison group's metrics and configs as CSV and JSON, for the Train page's downloads and the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any


def metrics_rows(runs: Sequence[Any], metrics: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    return [{"run_id": r.id, "label": r.label, "init": r.config.init, "seed": r.config.seed, **m}
            for r in runs for m in metrics.get(r.id, ())]


def metrics_csv(runs: Sequence[Any], metrics: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["run_id", "label", "init", "seed", "step", "split", "loss", "acc", "wall_time"])
    w.writeheader()
    w.writerows(metrics_rows(runs, metrics))
    return buf.getvalue()


def metrics_json(runs: Sequence[Any], metrics: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    return json.dumps({r.id: {"label": r.label, "status": r.status, "metrics": list(metrics.get(r.id, ()))}
                       for r in runs}, indent=1)


def configs_json(runs: Sequence[Any]) -> str:
    return json.dumps([{"run_id": r.id, "status": r.status, "device": r.device, "torch_version": r.torch_version,
                        "error": r.error, "summary": r.summary, "config": r.config.to_dict()} for r in runs], indent=1)
