"""The configuration of one training run: a frozen dataclass whose hash names the run.

Every field has a default and a one-line help (in the field's metadata) that feeds the
CLI's `--help` and the Train page's widget tooltips, as open_lth's hparams do.

    >>> c = RunConfig(model="mlp", steps=100)
    >>> c.run_id == RunConfig(model="mlp", steps=100).run_id, len(c.run_id)
    (True, 12)
    >>> c.run_id == c.replace(seed=1).run_id
    False
    >>> RunConfig(model="mlp", init="ticket")
    Traceback (most recent call last):
    ...
    explorer.training.config.ConfigError: init 'ticket' needs a mask: set pruned_dir to a directory exported by the Prune page (or a mask.safetensors file), or use init='dense'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from explorer.lottery.roles import ROLE_NAMES as INITS
from explorer.training.optim import OPTIMIZERS, SCHEDULES


class ConfigError(ValueError):
    """A run configuration that cannot run; the message names the field and the fix."""


DEVICES = ("auto", "cpu", "cuda", "mps")
MAX_SEED = 2**31 - 1  # seeds torch, numpy and the data order all accept

# Fields that describe a run for people but do not change what it computes; they are
# left out of the hash so that relabelling a run does not make it a different run.
_NOT_HASHED = ("label",)
# Fields added after runs were first stored: hashed only when set to something other than
# their default, so every run stored before a field existed keeps its id.
HASHED_WHEN_SET: tuple[str, ...] = ("save_final", "init_scheme")


def _f(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one training run. `run_id` is a short hash of it."""

    model: str = _f("mlp", "model spec as in `explorer.models.models.load`: zoo name, torchvision name or file.py:ClassName")
    pruned_dir: str = _f("", "directory exported by the Prune page (mask.safetensors + spec.json), or a mask file; empty = no mask")
    init: str = _f("dense", "initialisation: dense | ticket (dense init + mask) | reinit (fresh init + mask) | random (a random mask, or a random cut of the same kind, keeping the ticket's parameter count per layer) | rewind | saved (the export's own weights + mask, e.g. after approximate isometry)", choices=INITS)
    init_scheme: str = _f("as-built", "how the weights are drawn before any mask: as-built | orthogonal | delta-orthogonal | kaiming-normal | kaiming-uniform | xavier-normal | xavier-uniform | lecun-normal | gaussian:SIGMA2 (explorer.models.init_schemes)")
    rewind_step: int = _f(0, "rewind: the dense run's step whose weights the survivors start from (a dense run saves a checkpoint at its rewind_step); keep equal across a group")
    rewind_from: str = _f("", "for init=rewind: run id of the dense run to rewind to (default: this config's dense twin)")
    dataset: str = _f("mnist1d", "mnist1d | digits | moons | circles | spirals | xor, or a path to a .csv (last column = label) / .npz (x, y)")
    optimizer: str = _f("adam", "optimiser: adam | sgd", choices=OPTIMIZERS)
    lr: float = _f(1e-3, "learning rate")
    momentum: float = _f(0.9, "SGD momentum (ignored by adam)")
    weight_decay: float = _f(0.0, "L2 weight decay")
    schedule: str = _f("constant", "learning-rate schedule: constant | cosine (to 0 at the last step)", choices=SCHEDULES)
    steps: int = _f(1000, "optimiser steps (iterations) to train")
    batch_size: int = _f(100, "examples per step")
    eval_every: int = _f(100, "evaluate on the test split every this many steps (and at the end)")
    log_every: int = _f(10, "write the mean train loss/accuracy every this many steps")
    seed: int = _f(0, "seed of the initial weights (and of the random mask for init=random)")
    data_seed: int = _f(0, "seed of the data order; keep it equal across a comparison group")
    device: str = _f("auto", "auto (cuda, then mps, else cpu) | cpu | cuda | mps", choices=DEVICES)
    save_final: bool = _f(False, "also save the trained weights (a checkpoint at the last step), e.g. for the next IMP round to prune")
    group: str = _f("", "comparison group id: runs with the same group are compared in one table")
    label: str = _f("", "display name (not part of the run id)")

    def __post_init__(self) -> None:
        for name, allowed in (("init", INITS), ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("device", DEVICES)):
            v = getattr(self, name)
            if v not in allowed:
                raise ConfigError(f"{name}={v!r} is not one of {', '.join(allowed)}")
        for name in ("steps", "batch_size", "eval_every", "log_every"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1; got {getattr(self, name)}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a positive finite number; got {self.lr}")
        for name in ("seed", "data_seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_SEED:
                raise ConfigError(f"{name} must be an integer in [0, {MAX_SEED}]; got {v!r}")
        if not self.model:
            raise ConfigError("model is empty: give a zoo name (e.g. mlp), a torchvision name or file.py:ClassName")
        if self.init != "dense" and not self.pruned_dir:
            raise ConfigError(f"init {self.init!r} needs a mask: set pruned_dir to a directory exported by the "
                              "Prune page (or a mask.safetensors file), or use init='dense'")
        if self.init_scheme != "as-built":  # torch loads only for runs that set a scheme
            from explorer.models.init_schemes import InitSchemeError, parse_scheme

            try:
                object.__setattr__(self, "init_scheme", parse_scheme(self.init_scheme).text)
            except InitSchemeError as e:
                raise ConfigError(f"init_scheme: {e}") from e
        if self.init == "rewind" and self.rewind_step < 0:
            raise ConfigError(f"rewind_step must be >= 0; got {self.rewind_step}")

    # ---- identity ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"unknown run config field(s) {sorted(unknown)}; known: {sorted(names)}")
        return cls(**d)

    @classmethod
    def from_json(cls, s: str) -> RunConfig:
        return cls.from_dict(json.loads(s))

    @property
    def run_id(self) -> str:
        """12 hex digits of the SHA-256 of the config (without the display label)."""
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        d = {k: v for k, v in self.to_dict().items()
             if k not in _NOT_HASHED and not (k in HASHED_WHEN_SET and v == defaults[k])}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def dense_twin(self) -> RunConfig:
        """The dense run this masked run is compared with (and rewinds to): same everything, no mask."""
        return self.replace(init="dense", pruned_dir="", rewind_from="", label="")

    @property
    def name(self) -> str:
        return self.label or f"{self.model}/{self.init}/s{self.seed}"


def field_help(name: str) -> str:
    """The one-line help of a RunConfig field (for `--help` and widget tooltips)."""
    return {f.name: f.metadata["help"] for f in dataclasses.fields(RunConfig)}[name]


def field_choices(name: str) -> tuple[str, ...] | None:
    return {f.name: f.metadata.get("choices") for f in dataclasses.fields(RunConfig)}[name]
