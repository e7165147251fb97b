"""What the lab commands share: their arguments generated from the experiment's settings
(`explorer.config.forms`), the MODEL argument in every form the README documents, and running an
experiment as a job in this process."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_experiment(p: argparse.ArgumentParser, cls: Any, **kw: Any) -> None:
    """MODEL and an option per setting of experiment config `cls` (`kw`: flags, skip, ... as
    `explorer.config.forms.add_arguments` takes them), and --json."""
    from explorer.config.forms import add_arguments

    add_arguments(p, cls, positional=("model",), **kw)
    p.add_argument("--json", action="store_true", help="print the experiment's document as JSON")


def model(spec: str) -> str:
    """MODEL as the runs and jobs take it: your own `file.py:Class` is copied into the models folder (named
    by its content hash), the one place the worker runs model code from; any other form as it is."""
    if ".py:" in spec.split("@")[0]:
        from explorer.models.user_store import adopt

        return adopt(spec)
    return spec


def config(cls: Any, a: argparse.Namespace, **extra: Any) -> Any:
    """The experiment config from parsed arguments (settings the command did not add keep their default)."""
    from explorer.config.forms import from_args

    a.model = model(a.model)
    return from_args(cls, a, **extra).resolved()


def run_job(kind: str, cfg: Any) -> dict[str, Any]:
    """Run the experiment as a job in this process (its runs land in the run store); its result document."""
    from explorer.training.jobs.context import run_inline
    from explorer.training.store import RunStore

    job = run_inline(kind, cfg.to_dict(), RunStore())
    if job.status != "done":
        raise ValueError(f"the {kind} job ended {job.status}: {job.error or job.note}")
    return job.result


def emit(doc: dict[str, Any], as_json: bool, text: str) -> None:
    print(json.dumps(doc, indent=1) if as_json else text)
