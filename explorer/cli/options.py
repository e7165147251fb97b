"""Arguments shared by the lottery commands, with the help texts of the experiment configs
(`explorer.lottery.experiment`), and running an experiment as a job in this process."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

TRAINING = ("dataset", "steps", "lr", "batch_size", "optimizer", "eval_every", "log_every", "seeds", "data_seed",
            "target_frac", "device")


def add(p: argparse.ArgumentParser, cls: Any, name: str, flag: str | None = None, **kw: Any) -> None:
    """`--name` with the config field's default, type and help."""
    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    if "type" not in kw and "action" not in kw:
        kw["type"] = type(f.default) if not isinstance(f.default, tuple) else str
    if "choices" in f.metadata and "choices" not in kw:
        kw["choices"] = f.metadata["choices"]
    default = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
    p.add_argument(flag or "--" + name.replace("_", "-"), dest=name, default=kw.pop("default", default),
                   help=f.metadata.get("help", ""), **kw)


def add_training(p: argparse.ArgumentParser, cls: Any) -> None:
    p.add_argument("model", help=cls.help()["model"])
    for name in TRAINING:
        add(p, cls, name, choices=None) if name == "device" else add(p, cls, name)
    p.add_argument("--json", action="store_true", help="print the experiment's document as JSON")


def config(cls: Any, a: argparse.Namespace, **extra: Any) -> Any:
    """The experiment config from parsed arguments (fields the command did not add keep their default)."""
    names = {f.name for f in dataclasses.fields(cls)}
    kw = {k: v for k, v in vars(a).items() if k in names}
    return cls(**{**kw, **extra}).resolved()


def floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.replace(" ", "").split(",") if x)


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
