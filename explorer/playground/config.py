"""The settings of one playground run: a frozen dataclass, every field with a default and a
one-line help (the page's tooltips and URL, the CLI), hashed to an id.

The fields follow TensorFlow Playground (docs/science.md §9: data, noise 0–50, train ratio
10–90 %, batch 1–30, learning rate, activation, L1/L2 and rate, features, up to 6 layers × 8
neurons, a seed) plus what it lacks: skip arcs between any two layers, an optimiser, a prune
list and the run it continues from.

    >>> c = PlaygroundConfig(dataset="spiral", hidden=(8, 8), skips=("0-2",))
    >>> c.depth, c.skip_pairs(), len(c.config_id)
    (2, [(0, 2)], 12)
    >>> PlaygroundConfig(skips=("1-2",))
    Traceback (most recent call last):
    ...
    explorer.playground.config.PlaygroundConfigError: skip '1-2' joins adjacent layers (an ordinary arc); a skip arc goes from layer i to layer j >= i + 2 (0 = input, 4 = output)
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.config import Spec, SpecError, setting
from explorer.training.optim import OPTIMIZERS

DATASETS = ("circle", "xor", "gauss", "spiral", "moons", "csv")
ACTIVATIONS = ("relu", "leaky_relu", "abs", "linear", "tanh", "sigmoid")
REGULARIZATIONS = ("none", "l1", "l2")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2")
MAX_LAYERS, MAX_NEURONS = 6, 16  # TensorFlow Playground stops at 8 neurons


class PlaygroundConfigError(SpecError):
    """A playground setting out of range; the message names the field and the allowed values."""


@dataclass(frozen=True)
class PlaygroundConfig(Spec):
    """Everything that determines one playground run (its data, network and training)."""

    error = PlaygroundConfigError

    dataset: str = setting("spiral", "data: circle | xor | gauss | spiral | moons | csv (your own 2-D points)", choices=DATASETS)
    noise: int = setting(0, "noise added to the data, 0-50 (percent, as in TensorFlow Playground)")
    train_ratio: int = setting(50, "share of the points used for training, 10-90 %; the rest is the test set")
    n_points: int = setting(500, "points generated (TensorFlow Playground: 500)")
    batch_size: int = setting(10, "examples per training step, 1-30")
    optimizer: str = setting("adam", "optimiser: adam | sgd (TensorFlow Playground's)", choices=OPTIMIZERS)
    learning_rate: float = setting(0.01, "learning rate")
    activation: str = setting("relu", "activation of every hidden unit: relu | leaky_relu | abs | linear are piecewise "
                         "linear (exact regions); tanh | sigmoid are smooth (grid approximation)", choices=ACTIVATIONS)
    regularization: str = setting("none", "weight penalty: none | l1 | l2", choices=REGULARIZATIONS)
    reg_rate: float = setting(0.0, "regularisation rate (the penalty's weight in the loss)")
    features: tuple[str, ...] = setting(("x1", "x2"), "input features: x1, x2, x1^2, x2^2, x1x2, sin_x1, sin_x2 "
                                   "(only x1, x2 keep the regions polygons)")
    hidden: tuple[int, ...] = setting((8, 8, 8), "neurons per hidden layer (up to 6 layers of up to 16)")
    skips: tuple[str, ...] = setting((), "skip arcs 'i-j' from layer i to layer j >= i + 2 (0 = the input features, "
                                "depth + 1 = the output), added before j's activation")
    seed: int = setting(0, "seed of the data, the split, the initial weights and the batch order")
    steps: int = setting(3000, "training steps in all")
    frame_every: int = setting(20, "draw a frame (regions, boundaries, metrics) every this many steps")
    eb_threshold: float = setting(0.02, "early-bird: drawn when the last 3 partition distances (one epoch back) are all below "
                             "this (the spline early-bird paper uses 0.16 between ImageNet-size epochs)")
    points: tuple[tuple[float, float, int], ...] = setting((), "dataset csv: the points (x1, x2, label)", url=False)
    pruned: tuple[str, ...] = setting((), "unit ids (h2[3]) and arc ids (h1[0]->h2[3]) removed from the network", url=False)
    parent: str = setting("", "job id of the run this one continues (after a prune); empty = from its init", url=False)
    parent_step: int = setting(0, "the parent's step this run starts from", url=False)
    trial: int = setting(0, "restart counter: Reset starts a fresh run of the same settings", url=False)

    def check(self) -> None:
        bad = [f for f in self.features if f not in FEATURES]
        if bad or not self.features or len(set(self.features)) != len(self.features):
            raise PlaygroundConfigError(f"features {list(self.features)}: pick one or more distinct of "
                                        f"{', '.join(FEATURES)}")
        if len(self.hidden) > MAX_LAYERS or any(not 1 <= int(h) <= MAX_NEURONS for h in self.hidden):
            raise PlaygroundConfigError(f"hidden {list(self.hidden)}: up to {MAX_LAYERS} layers of 1 to "
                                        f"{MAX_NEURONS} neurons")
        for name, lo, hi in (("noise", 0, 50), ("train_ratio", 10, 90), ("batch_size", 1, 30),
                             ("n_points", 20, 5000), ("steps", 1, 1_000_000), ("frame_every", 1, 100_000)):
            if not lo <= int(getattr(self, name)) <= hi:
                raise PlaygroundConfigError(f"{name}={getattr(self, name)} must lie in {lo}..{hi}")
        if not self.learning_rate > 0 or self.reg_rate < 0:
            raise PlaygroundConfigError("learning_rate must be > 0 and reg_rate >= 0")
        if self.dataset == "csv" and len(self.points) < 4:
            raise PlaygroundConfigError("dataset csv needs your points: upload a CSV of x1, x2, label rows "
                                        "(at least 4)")
        self.skip_pairs()

    @property
    def depth(self) -> int:
        return len(self.hidden)

    @property
    def widths(self) -> list[int]:
        """Layer sizes: input features, hidden layers, and the output (the number of classes)."""
        return [len(self.features), *map(int, self.hidden), self.n_classes]

    @property
    def n_classes(self) -> int:
        return max(2, 1 + max((int(p[2]) for p in self.points), default=1)) if self.dataset == "csv" else 2

    def skip_pairs(self) -> list[tuple[int, int]]:
        """The skip arcs as (i, j) layer pairs, sorted."""
        out = set()
        for s in self.skips:
            try:
                i, j = (int(t) for t in str(s).split("-"))
            except ValueError:
                raise PlaygroundConfigError(f"skip {s!r} must read 'i-j' with two layer numbers, e.g. '0-2'") from None
            if j - i == 1:
                raise PlaygroundConfigError(f"skip {s!r} joins adjacent layers (an ordinary arc); a skip arc goes from "
                                            f"layer i to layer j >= i + 2 (0 = input, {self.depth + 1} = output)")
            if not 0 <= i < j <= self.depth + 1:
                raise PlaygroundConfigError(f"skip {s!r} must go from layer i to a later layer j within 0..{self.depth + 1} "
                                            f"(0 = input, {self.depth + 1} = output), j >= i + 2")
            out.add((i, j))
        return sorted(out)

    # ---- identity ---------------------------------------------------------------------
    @property
    def config_id(self) -> str:
        return self.digest()


def field_help(name: str) -> str:
    return PlaygroundConfig.help()[name]


def url_fields() -> list[str]:
    """The fields a shared link carries (everything but the data points, prunes and the run chain)."""
    return [s.name for s in PlaygroundConfig.settings() if s.url]
