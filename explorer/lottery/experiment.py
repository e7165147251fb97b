"""The lab's experiments as configs: frozen dataclasses with a default and a one-line help per
field (the Lottery page's tooltips and the CLI's `--help`), hashed to an id (docs/science.md §7).

- `LotteryConfig`   — IMP over `rounds` (or the one-shot `sweep`), with controls, over seeds;
- `TransferConfig`  — a ticket found on one dataset trained on another;
- `StabilityConfig` — two copies from one rewind point, the error along the line between them;
- `EarlyBirdConfig` — early-bird ticket detection during dense training, then its retraining.

Each shares the training settings of `Training`; `run_config(...)` turns them into the
`RunConfig` of one run. Configs travel as JSON (`to_dict` / `from_dict`).

    >>> c = LotteryConfig(model="mlp", rounds=3, rate=0.2)
    >>> c.id == LotteryConfig(model="mlp", rounds=3, rate=0.2).id, c.id == c.replace(rate=0.5).id
    (True, False)
    >>> [round(s, 3) for s in c.schedule()]
    [0.2, 0.36, 0.488]
    >>> LotteryConfig(rate=1.5)
    Traceback (most recent call last):
    ...
    explorer.lottery.experiment.ExperimentError: rate 1.5 must lie in (0, 1): the fraction of the surviving weights each round prunes
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

SCOPES = ("global", "layer")
CONTROLS = ("reinit", "random")
OPTIMIZERS = ("adam", "sgd")
C = TypeVar("C", bound="Training")


class ExperimentError(ValueError):
    """An experiment config that cannot run; the message names the field and the fix."""


def _f(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True)
class Training:
    """The training settings every run of an experiment shares."""

    model: str = _f("mlp", "model spec: zoo name (e.g. lottery_mlp, resnet_tiny), torchvision name or file.py:ClassName")
    dataset: str = _f("", "dataset (empty: the model's own); a built-in name, a variant such as mnist1d@seed=1, or a .csv/.npz path")
    optimizer: str = _f("adam", "optimiser: adam | sgd", choices=OPTIMIZERS)
    lr: float = _f(1e-3, "learning rate")
    momentum: float = _f(0.9, "SGD momentum (ignored by adam)")
    weight_decay: float = _f(0.0, "L2 weight decay")
    steps: int = _f(1000, "optimiser steps of every training run")
    batch_size: int = _f(100, "examples per step")
    eval_every: int = _f(100, "evaluate on the test split every this many steps")
    log_every: int = _f(10, "write the mean train loss/accuracy every this many steps")
    seeds: int = _f(2, "independent initialisations (seeds 0..N-1); tables give mean ± std over them")
    data_seed: int = _f(0, "seed of the data order, the same for every run (the weak-LTH comparison needs it)")
    target_frac: float = _f(0.99, "iterations to target = first step reaching this fraction of the dense run's best train accuracy")
    device: str = _f("auto", "auto (cuda, then mps, else cpu) | cpu | cuda | mps")

    def __post_init__(self) -> None:
        if not self.model:
            raise ExperimentError("model is empty: give a zoo name (e.g. lottery_mlp), a torchvision name or file.py:ClassName")
        if self.optimizer not in OPTIMIZERS:
            raise ExperimentError(f"optimizer {self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        for name in ("steps", "batch_size", "eval_every", "log_every", "seeds"):
            if int(getattr(self, name)) < 1:
                raise ExperimentError(f"{name} must be at least 1; got {getattr(self, name)}")
        if not self.lr > 0:
            raise ExperimentError(f"lr must be positive; got {self.lr}")
        if not 0 < self.target_frac <= 1:
            raise ExperimentError(f"target_frac {self.target_frac} must lie in (0, 1], e.g. 0.99")

    # ---- identity and JSON -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls: type[C], d: dict[str, Any]) -> C:
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(d) - set(names)
        if unknown:
            raise ExperimentError(f"unknown {cls.__name__} field(s) {sorted(unknown)}; known: {sorted(names)}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kw)

    @property
    def id(self) -> str:
        """12 hex digits of the SHA-256 of the config and its kind."""
        text = json.dumps({"kind": type(self).__name__, **self.to_dict()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)

    @classmethod
    def help(cls) -> dict[str, str]:
        """Field name -> its one-line help."""
        return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}

    def seed_list(self) -> list[int]:
        return list(range(self.seeds))

    def resolved(self: C) -> C:
        """This config with `dataset` filled in from the model's default when it is empty."""
        if self.dataset:
            return self
        from explorer import models

        ds = models.load_cached(self.model).info.dataset
        if not ds:
            raise ExperimentError(f"model {self.model!r} has no default dataset; set dataset to a name or a .csv/.npz path")
        return self.replace(dataset=ds)

    def run_config(self, **kw: Any) -> Any:
        """The `RunConfig` of one run of this experiment (`kw`: init, seed, pruned_dir, group, ...)."""
        from explorer.training.config import RunConfig

        shared = {k: getattr(self, k) for k in ("model", "dataset", "optimizer", "lr", "momentum", "weight_decay",
                                                "steps", "batch_size", "eval_every", "log_every", "data_seed", "device")}
        return RunConfig(**{**shared, **kw})


@dataclass(frozen=True)
class Pruning:
    """How tickets are cut: the magnitude mask's scope and which tensors it touches."""

    scope: str = _f("global", "global: one |w| ranking over all prunable tensors (open_lth); layer: every tensor loses the same fraction of its survivors", choices=SCOPES)
    output_rate: float = _f(-1.0, "fraction of the output layer's survivors pruned per round (negative: the same as rate)")
    prune_biases: bool = _f(False, "prune biases too (the MNIST-1D notebook does); by default they are kept")
    prune_norms: bool = _f(False, "prune BatchNorm scales and shifts too; by default they are kept")
    controls: tuple[str, ...] = _f(CONTROLS, "controls trained beside each ticket: reinit (fresh init, same mask) and/or random (random mask, same per-layer sparsity)")

    def check_pruning(self) -> None:
        if self.scope not in SCOPES:
            raise ExperimentError(f"scope {self.scope!r} is not one of {', '.join(SCOPES)}")
        if self.output_rate >= 1:
            raise ExperimentError(f"output_rate {self.output_rate} must be below 1 (negative: the same as rate)")
        bad = [c for c in self.controls if c not in CONTROLS]
        if bad:
            raise ExperimentError(f"unknown control(s) {bad}; use reinit and/or random")

    def out_rate(self, rate: float) -> float:
        return rate if self.output_rate < 0 else self.output_rate


@dataclass(frozen=True)
class LotteryConfig(Pruning, Training):
    """Iterative magnitude pruning with rewinding (or a one-shot sweep), with controls, over seeds."""

    rounds: int = _f(5, "IMP rounds after the dense run (round r keeps (1-rate)^r of the prunable weights)")
    rate: float = _f(0.2, "fraction of the surviving weights each round prunes (open_lth: 0.2)")
    sweep: tuple[float, ...] = _f((), "one-shot sweep instead of IMP: prune the trained dense weights to each of these sparsities once, e.g. 0.5,0.8,0.9")
    rewind_step: int = _f(0, "rewind the survivors to the dense run's weights at this step (0: to the initialisation)")
    batched: bool = _f(True, "train seeds x controls of a round as one batched job (torch.vmap) where the model allows")

    def __post_init__(self) -> None:
        Training.__post_init__(self)
        self.check_pruning()
        if not 0 < self.rate < 1:
            raise ExperimentError(f"rate {self.rate} must lie in (0, 1): the fraction of the surviving weights each round prunes")
        if self.rounds < 1 and not self.sweep:
            raise ExperimentError(f"rounds must be at least 1; got {self.rounds}")
        bad = [s for s in self.sweep if not 0 < s < 1]
        if bad:
            raise ExperimentError(f"sweep sparsities {bad} must lie in (0, 1), e.g. 0.5,0.8,0.9,0.95,0.97,0.99")
        if not 0 <= self.rewind_step < self.steps:
            raise ExperimentError(f"rewind_step {self.rewind_step} must lie in [0, steps={self.steps})")

    @property
    def kind(self) -> str:
        return "lottery.sweep" if self.sweep else "lottery.imp"

    def schedule(self) -> list[float]:
        """The sparsity of each round (IMP: 1-(1-rate)^r) or each sweep entry."""
        return list(self.sweep) if self.sweep else [1 - (1 - self.rate) ** r for r in range(1, self.rounds + 1)]


@dataclass(frozen=True)
class TransferConfig(Pruning, Training):
    """A ticket found on `dataset` (task A) trained on `target_dataset` (task B)."""

    target_dataset: str = _f("mnist1d@seed=1", "task B: same input shape as task A, e.g. mnist1d@seed=1, mnist1d@noise=2, digits@perm=1 or a .csv")
    sparsity: float = _f(0.9, "sparsity of the tickets (one-shot magnitude pruning of each task's trained dense network)")
    rate: float = _f(0.2, "IMP rate that sets the output layer's sparsity with output_rate (see LotteryConfig)")

    def __post_init__(self) -> None:
        Training.__post_init__(self)
        self.check_pruning()
        if not 0 < self.sparsity < 1:
            raise ExperimentError(f"sparsity {self.sparsity} must lie in (0, 1)")
        if not self.target_dataset:
            raise ExperimentError("target_dataset is empty: name task B, e.g. mnist1d@seed=1")


@dataclass(frozen=True)
class StabilityConfig(Training):
    """Two copies from one rewind point, trained with different data orders; the error along the line."""

    rewind_step: int = _f(0, "the copies start from the parent run's weights at this step (0: the initialisation)")
    pruned_dir: str = _f("", "a ticket to test (a Prune export or a round of the Lottery lab); empty: the dense network")
    order_a: int = _f(1, "data-order seed of copy A")
    order_b: int = _f(2, "data-order seed of copy B (equal to order_a: identical copies, barrier 0)")
    points: int = _f(11, "points on the straight line between the copies, ends included")
    seeds: int = _f(1, "independent parents (seeds 0..N-1); the curve is their mean")

    def __post_init__(self) -> None:
        Training.__post_init__(self)
        if not 0 <= self.rewind_step < self.steps:
            raise ExperimentError(f"rewind_step {self.rewind_step} must lie in [0, steps={self.steps})")
        if self.points < 2:
            raise ExperimentError(f"points must be at least 2 (the two ends); got {self.points}")


@dataclass(frozen=True)
class EarlyBirdConfig(Training):
    """Early-bird detection during one dense training run, then the early-bird ticket retrained."""

    ratio: float = _f(0.5, "pruning ratio of the early-bird ticket that is retrained")
    ratios: tuple[float, ...] = _f((0.3, 0.5, 0.7), "ratios watched together (the ticket's own ratio is added)")
    window: int = _f(5, "masks kept (a FIFO): a draw needs the newest within `threshold` of all the others")
    threshold: float = _f(0.1, "largest mask distance (1 - fraction of equal entries) of a draw")
    spline_window: int = _f(3, "spline early-bird: evaluations whose activation-code distance must all be small")
    spline_threshold: float = _f(0.16, "spline early-bird: the largest code distance of a draw")
    probe_size: int = _f(256, "test inputs on which activation codes are compared (the spline variant)")
    l1_gamma: float = _f(1e-4, "L1 on BatchNorm scales during the search (network slimming); 0 for none")
    seeds: int = _f(1, "seeds of the search (the heatmap shows seed 0)")

    def __post_init__(self) -> None:
        Training.__post_init__(self)
        for r in (self.ratio, *self.ratios):
            if not 0 < r < 1:
                raise ExperimentError(f"ratio {r} must lie in (0, 1)")
        if self.window < 2 or self.spline_window < 1:
            raise ExperimentError("window must be at least 2 and spline_window at least 1")

    def all_ratios(self) -> list[float]:
        return sorted({*self.ratios, self.ratio})


KINDS: dict[str, type[Training]] = {"lottery.imp": LotteryConfig, "lottery.sweep": LotteryConfig,
                                    "lottery.transfer": TransferConfig, "lottery.stability": StabilityConfig,
                                    "lottery.earlybird": EarlyBirdConfig}
