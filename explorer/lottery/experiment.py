"""The lab's experiments as configs: frozen dataclasses with a default and a one-line help per
field (the Lottery page's tooltips and the CLI's `--help`), hashed to an id (docs/science.md §7).

- `LotteryConfig`   — IMP over `rounds` (or the one-shot `sweep`), with controls, over seeds;
- `TransferConfig`  — a ticket found on one dataset trained on another;
- `StabilityConfig` — two copies from one rewind point, the error along the line between them;
- `EarlyBirdConfig` — early-bird ticket detection during dense training, then its retraining.

Each holds its training settings as a `RunConfig` (`Training.train`: the template of every run);
`run_config(...)` gives the `RunConfig` of one run. Configs are `Spec`s (`explorer.config`): they travel
as flat JSON (`to_dict` / `from_dict`; `of(**settings)` builds one from flat settings).

    >>> c = LotteryConfig.of(model="mlp", rounds=3, rate=0.2, lr=0.02)
    >>> c.train.lr, c.id == LotteryConfig.of(model="mlp", rounds=3, rate=0.2, lr=0.02).id, c.id == c.replace(rate=0.5).id
    (0.02, True, False)
    >>> [round(s, 3) for s in c.schedule()]
    [0.2, 0.36, 0.488]
    >>> LotteryConfig(rate=1.5)
    Traceback (most recent call last):
    ...
    explorer.lottery.experiment.ExperimentError: rate 1.5 must lie in (0, 1): the fraction of the surviving weights each round prunes
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from explorer.config import Spec, SpecError, embed, setting
from explorer.pruning.criteria.allocate import SCOPES
from explorer.training.config import RunConfig
from explorer.training.roles import ROLES

C = TypeVar("C", bound="Training")
CONTROLS = tuple(name for name, role in ROLES.items() if role.control)  # ("reinit", "random")
# The run settings a lab sets itself, run by run (which seed, mask, role and group each run has).
PER_RUN = ("pruned_dir", "init", "rewind_step", "rewind_from", "seed", "save_final", "group", "label")
# The run settings every experiment config stored before it embedded a `RunConfig`: always in its dict
# and id; the others (schedule, init_scheme, and any added later) only when set, so old ids hold.
STORED = ("model", "dataset", "optimizer", "lr", "momentum", "weight_decay", "steps", "batch_size",
          "eval_every", "log_every", "data_seed", "device")


class ExperimentError(SpecError):
    """An experiment config that cannot run; the message names the field and the fix."""


@dataclass(frozen=True)
class Training(Spec):
    """The training settings every run of an experiment shares: a `RunConfig` (`train`: the template of
    each run, whose seed, mask and role the experiment sets), the seeds and the target of the verdict."""

    error = ExperimentError

    train: RunConfig = embed(RunConfig, defaults={"dataset": ""}, fixed=PER_RUN, always=STORED)
    seeds: int = setting(2, "independent initialisations (seeds 0..N-1); tables give mean ± std over them")
    target_frac: float = setting(0.99, "iterations to target = first step reaching this fraction of the dense run's best train accuracy")

    def check(self) -> None:
        default = RunConfig()
        changed = [k for k in PER_RUN if getattr(self.train, k) != getattr(default, k)]
        if changed:
            raise ExperimentError(f"{', '.join(changed)}: the experiment sets these for each run; leave them "
                                  "at their defaults in its training settings")
        if self.seeds < 1:
            raise ExperimentError(f"seeds must be at least 1; got {self.seeds}")
        if not 0 < self.target_frac <= 1:
            raise ExperimentError(f"target_frac {self.target_frac} must lie in (0, 1], e.g. 0.99")

    # ---- identity ------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """12 hex digits of the SHA-256 of the config and its kind."""
        return self.digest(kind=type(self).__name__)

    def seed_list(self) -> list[int]:
        return list(range(self.seeds))

    def resolved(self: C) -> C:
        """This config with `dataset` filled in from the model's default when it is empty."""
        if self.train.dataset:
            return self
        from explorer import models

        ds = models.load_cached(self.train.model).info.dataset
        if not ds:
            raise ExperimentError(f"model {self.train.model!r} has no default dataset; set dataset to a name or a .csv/.npz path")
        return self.replace(dataset=ds)

    def run_config(self, **kw: Any) -> RunConfig:
        """The `RunConfig` of one run of this experiment (`kw`: init, seed, pruned_dir, group, ...)."""
        return self.train.replace(**kw)


@dataclass(frozen=True)
class Pruning:
    """How tickets are cut: the magnitude mask's scope and which tensors it touches."""

    scope: str = setting("global", "global: one |w| ranking over all prunable tensors (open_lth); layer: every tensor loses the same fraction of its survivors", choices=SCOPES)
    output_rate: float = setting(-1.0, "fraction of the output layer's survivors pruned per round (negative: the same as rate)")
    prune_biases: bool = setting(False, "prune biases too (the MNIST-1D notebook does); by default they are kept")
    prune_norms: bool = setting(False, "prune BatchNorm scales and shifts too; by default they are kept")
    controls: tuple[str, ...] = setting(CONTROLS, "controls trained beside each ticket: reinit (fresh init, same mask) and/or random (random mask, same per-layer sparsity)", choices=CONTROLS)

    def check_pruning(self) -> None:
        if self.output_rate >= 1:
            raise ExperimentError(f"output_rate {self.output_rate} must be below 1 (negative: the same as rate)")

    def out_rate(self, rate: float) -> float:
        return rate if self.output_rate < 0 else self.output_rate


@dataclass(frozen=True)
class LotteryConfig(Pruning, Training):
    """Iterative magnitude pruning with rewinding (or a one-shot sweep), with controls, over seeds."""

    rounds: int = setting(5, "IMP rounds after the dense run (round r keeps (1-rate)^r of the prunable weights)")
    rate: float = setting(0.2, "fraction of the surviving weights each round prunes (open_lth: 0.2)")
    sweep: tuple[float, ...] = setting((), "one-shot sweep instead of IMP: prune the trained dense weights to each of these sparsities once, e.g. 0.5,0.8,0.9")
    rewind_step: int = setting(0, "rewind the survivors to the dense run's weights at this step (0: to the initialisation)")
    batched: bool = setting(True, "train seeds x controls of a round as one batched job (torch.vmap) where the model allows")

    def check(self) -> None:
        Training.check(self)
        self.check_pruning()
        if not 0 < self.rate < 1:
            raise ExperimentError(f"rate {self.rate} must lie in (0, 1): the fraction of the surviving weights each round prunes")
        if self.rounds < 1 and not self.sweep:
            raise ExperimentError(f"rounds must be at least 1; got {self.rounds}")
        bad = [s for s in self.sweep if not 0 < s < 1]
        if bad:
            raise ExperimentError(f"sweep sparsities {bad} must lie in (0, 1), e.g. 0.5,0.8,0.9,0.95,0.97,0.99")
        if not 0 <= self.rewind_step < self.train.steps:
            raise ExperimentError(f"rewind_step {self.rewind_step} must lie in [0, steps={self.train.steps})")

    @property
    def kind(self) -> str:
        return "lottery.sweep" if self.sweep else "lottery.imp"

    def schedule(self) -> list[float]:
        """The sparsity of each round (IMP: 1-(1-rate)^r) or each sweep entry."""
        return list(self.sweep) if self.sweep else [1 - (1 - self.rate) ** r for r in range(1, self.rounds + 1)]


@dataclass(frozen=True)
class TransferConfig(Pruning, Training):
    """A ticket found on `dataset` (task A) trained on `target_dataset` (task B)."""

    target_dataset: str = setting("mnist1d@seed=1", "task B: same input shape as task A, e.g. mnist1d@seed=1, mnist1d@noise=2, digits@perm=1 or a .csv")
    sparsity: float = setting(0.9, "sparsity of the tickets (one-shot magnitude pruning of each task's trained dense network)")
    rate: float = setting(0.2, "IMP rate that sets the output layer's sparsity with output_rate (see LotteryConfig)")

    def check(self) -> None:
        Training.check(self)
        self.check_pruning()
        if not 0 < self.sparsity < 1:
            raise ExperimentError(f"sparsity {self.sparsity} must lie in (0, 1)")
        if not self.target_dataset:
            raise ExperimentError("target_dataset is empty: name task B, e.g. mnist1d@seed=1")


@dataclass(frozen=True)
class StabilityConfig(Training):
    """Two copies from one rewind point, trained with different data orders; the error along the line."""

    rewind_step: int = setting(0, "the copies start from the parent run's weights at this step (0: the initialisation)")
    pruned_dir: str = setting("", "a ticket to test (a Prune export or a round of the Lottery lab); empty: the dense network")
    order_a: int = setting(1, "data-order seed of copy A")
    order_b: int = setting(2, "data-order seed of copy B (equal to order_a: identical copies, barrier 0)")
    points: int = setting(11, "points on the straight line between the copies, ends included")
    seeds: int = setting(1, "independent parents (seeds 0..N-1); the curve is their mean")

    def check(self) -> None:
        Training.check(self)
        if not 0 <= self.rewind_step < self.train.steps:
            raise ExperimentError(f"rewind_step {self.rewind_step} must lie in [0, steps={self.train.steps})")
        if self.points < 2:
            raise ExperimentError(f"points must be at least 2 (the two ends); got {self.points}")


@dataclass(frozen=True)
class EarlyBirdConfig(Training):
    """Early-bird detection during one dense training run, then the early-bird ticket retrained."""

    ratio: float = setting(0.5, "pruning ratio of the early-bird ticket that is retrained")
    ratios: tuple[float, ...] = setting((0.3, 0.5, 0.7), "ratios watched together (the ticket's own ratio is added)")
    window: int = setting(5, "masks kept (a FIFO): a draw needs the newest within `threshold` of all the others")
    threshold: float = setting(0.1, "largest mask distance (1 - fraction of equal entries) of a draw")
    spline_window: int = setting(3, "spline early-bird: evaluations whose activation-code distance must all be small")
    spline_threshold: float = setting(0.16, "spline early-bird: the largest code distance of a draw")
    probe_size: int = setting(256, "test inputs on which activation codes are compared (the spline variant)")
    l1_gamma: float = setting(1e-4, "L1 on BatchNorm scales during the search (network slimming); 0 for none")
    seeds: int = setting(1, "seeds of the search (the heatmap shows seed 0)")

    def check(self) -> None:
        Training.check(self)
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
