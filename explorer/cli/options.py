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


def model(spec: str, command: str, runs: bool = False) -> str:
    """MODEL in any form the README documents (zoo, torchvision, deep_mlp:..., path/to/file.py:Class,
    MODEL@sub.module), as `command` takes it. An .onnx file is structure only: refused, saying which command
    reads it. For commands whose work `runs` as runs and jobs, your own file is copied into the models folder
    (named by its content hash), the one place runs execute model code from."""
    from explorer.cli import CliError

    if spec.lower().endswith(".onnx"):
        raise CliError(f"{spec}: an ONNX file is read as structure only (`python -m explorer levels {spec}` draws "
                       f"its graph), with no forward to run and no weights; `{command}` needs the PyTorch model it "
                       "was exported from: give it as path/to/file.py:ClassName")
    if runs and ".py:" in spec.split("@")[0]:
        from explorer.models.user_store import adopt

        return adopt(spec)
    return spec


def config(cls: Any, a: argparse.Namespace, **extra: Any) -> Any:
    """The experiment config from parsed arguments (settings the command did not add keep their default)."""
    from explorer.config.forms import from_args

    a.model = model(a.model, a.command, runs=True)
    return from_args(cls, a, **extra).resolved()


def run_job(kind: str, cfg: Any) -> dict[str, Any]:
    """Run the experiment as a job in this process, the way every backend runs one (`InlineBackend`; its runs
    land in the run store); its result document."""
    from explorer.jobs.backends import InlineBackend
    from explorer.lottery import kinds  # noqa: F401 - registers the lab's kinds
    from explorer.training.store import RunStore

    job = InlineBackend(RunStore()).run(kind, cfg)
    if job.status != "done":
        raise ValueError(f"the {kind} job ended {job.status}: {job.error or job.note}")
    return job.result


def emit(doc: dict[str, Any], as_json: bool, text: str) -> None:
    print(json.dumps(doc, indent=1) if as_json else text)
