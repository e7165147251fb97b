"""The configuration of one training run: a frozen dataclass whose hash names the run.

Every field is a `setting` (`explorer.config`): a default and a one-line help that feeds the CLI's
`--help` and the Train page's widget tooltips, as open_lth's hparams do, and its choices.

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

import json
import math
from dataclasses import dataclass
from typing import Any

from explorer.config import Spec, SpecError, setting
from explorer.runtime.device import DEVICES
from explorer.training.optim import OPTIMIZERS, SCHEDULES
from explorer.training.roles import ROLE_NAMES as INITS


class ConfigError(SpecError):
    """A run configuration that cannot run; the message names the field and the fix."""


MAX_SEED = 2**31 - 1  # seeds torch, numpy and the data order all accept


@dataclass(frozen=True)
class RunConfig(Spec):
    """Everything that determines one training run. `run_id` is a short hash of it: `label` describes a
    run for people and is not hashed (relabelling a run does not make it another run); fields added after
    runs were first stored are hashed only when set (`hashed="when_set"`), so every stored run keeps its id."""

    error = ConfigError

    model: str = setting("mlp", "model spec as in `explorer.models.models.load`: zoo name, torchvision name or file.py:ClassName")
    pruned_dir: str = setting("", "directory exported by the Prune page (mask.safetensors + spec.json), or a mask file; empty = no mask")
    init: str = setting("dense", "initialisation: dense | ticket (dense init + mask) | reinit (fresh init + mask) | random (a random mask, or a random cut of the same kind, keeping the ticket's parameter count per layer) | rewind | saved (the export's own weights + mask, e.g. after approximate isometry)", choices=INITS)
    init_scheme: str = setting("as-built", "how the weights are drawn before any mask: as-built | orthogonal | delta-orthogonal | kaiming-normal | kaiming-uniform | xavier-normal | xavier-uniform | lecun-normal | gaussian:SIGMA2 (explorer.models.init_schemes)", hashed="when_set")
    rewind_step: int = setting(0, "rewind: the dense run's step whose weights the survivors start from (a dense run saves a checkpoint at its rewind_step); keep equal across a group")
    rewind_from: str = setting("", "for init=rewind: run id of the dense run to rewind to (default: this config's dense twin)")
    dataset: str = setting("mnist1d", "mnist1d | digits | moons | circles | spirals | xor, a variant such as mnist1d@seed=1, or a path to a .csv (last column = label) / .npz (x, y); a lab leaves it empty for the model's own")
    optimizer: str = setting("adam", "optimiser: adam | sgd", choices=OPTIMIZERS)
    lr: float = setting(1e-3, "learning rate")
    momentum: float = setting(0.9, "SGD momentum (ignored by adam)")
    weight_decay: float = setting(0.0, "L2 weight decay")
    schedule: str = setting("constant", "learning-rate schedule: constant | cosine (to 0 at the last step)", choices=SCHEDULES)
    steps: int = setting(1000, "optimiser steps (iterations) to train")
    batch_size: int = setting(100, "examples per step")
    eval_every: int = setting(100, "evaluate on the test split every this many steps (and at the end)")
    log_every: int = setting(10, "write the mean train loss/accuracy every this many steps")
    seed: int = setting(0, "seed of the initial weights (and of the random mask for init=random)")
    data_seed: int = setting(0, "seed of the data order; keep it equal across a comparison group")
    device: str = setting("auto", "auto (cuda, then mps, else cpu) | cpu | cuda | mps", choices=DEVICES)
    save_final: bool = setting(False, "also save the trained weights (a checkpoint at the last step), e.g. for the next IMP round to prune", hashed="when_set")
    group: str = setting("", "comparison group id: runs with the same group are compared in one table")
    label: str = setting("", "display name (not part of the run id)", hashed="never")

    def check(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "log_every"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1; got {getattr(self, name)}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a positive finite number; got {self.lr}")
        for name in ("seed", "data_seed"):
            v = getattr(self, name)
            if not 0 <= v <= MAX_SEED:
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
    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> RunConfig:
        return cls.from_dict(json.loads(s))

    @property
    def run_id(self) -> str:
        """12 hex digits of the SHA-256 of the config (without the display label)."""
        return self.digest()

    def dense_twin(self) -> RunConfig:
        """The dense run this masked run is compared with (and rewinds to): same everything, no mask."""
        return self.replace(init="dense", pruned_dir="", rewind_from="", label="")

    @property
    def name(self) -> str:
        return self.label or f"{self.model}/{self.init}/s{self.seed}"


# Fields hashed only when set (added after runs were first stored).
HASHED_WHEN_SET: tuple[str, ...] = tuple(s.name for s in RunConfig.settings() if s.hashed == "when_set")


def field_help(name: str) -> str:
    """The one-line help of a RunConfig field (for `--help` and widget tooltips)."""
    return RunConfig.help()[name]
