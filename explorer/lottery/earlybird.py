"""Early-bird tickets (docs/science.md §6): the pruning mask settles long before training ends.

At every evaluation the `EarlyBird` callback computes the mask a pruning at ratio p would cut
now — a global threshold on all BatchNorm |γ| (channels) when the model has BatchNorm, else
on all weight magnitudes |w| — for each watched ratio. A `Detector` keeps the last `window`
masks (a FIFO) and draws the ticket the first time the distances (1 − fraction of equal
entries) of the newest mask to each of the others are all ≤ `threshold` (You et al.: 5 masks,
0.1). The spline variant (`SplineDetector`) compares the ReLU activation codes of a fixed probe
set between successive evaluations (the fraction of differing bits, averaged over layers) and
draws when the last `window` distances are all < `threshold` (3 evaluations, 0.16).

    >>> import torch
    >>> d = Detector(window=3, threshold=0.1)
    >>> a, b = torch.tensor([1, 1, 0, 0, 1, 1, 1, 1, 1, 1], dtype=torch.bool), torch.ones(10, dtype=torch.bool)
    >>> [d.push(m)[1] for m in (a, b, b, b)]
    [False, False, False, True]
    >>> d.push(a)[0]  # the newest against the two others kept
    [0.2, 0.2]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from explorer.lottery.magnitude import prunable
from explorer.pruning.coupling import NORMS, PRUNABLE
from explorer.pruning.mask import Mask
from explorer.training.loop import Callback, LoopState


def distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """1 − the fraction of equal entries of two boolean masks."""
    return float((a != b).double().mean())


class Detector:
    """The mask FIFO of one ratio; `push(mask)` returns (distances of it to the others kept, drawn)."""

    def __init__(self, window: int = 5, threshold: float = 0.1):
        self.window, self.threshold = window, threshold
        self.fifo: deque[torch.Tensor] = deque(maxlen=window)

    def push(self, mask: torch.Tensor) -> tuple[list[float], bool]:
        self.fifo.append(mask)
        d = [distance(mask, m) for m in list(self.fifo)[:-1]]
        return d, len(self.fifo) == self.window and max(d) <= self.threshold


class SplineDetector:
    """Activation-code distances between successive evaluations; a draw once the last `window` are < threshold."""

    def __init__(self, window: int = 3, threshold: float = 0.16):
        self.window, self.threshold = window, threshold
        self.prev: list[torch.Tensor] | None = None
        self.history: list[float] = []

    def push(self, codes: list[torch.Tensor]) -> tuple[float | None, bool]:
        d = None
        if self.prev is not None:
            d = sum(distance(a, b) for a, b in zip(codes, self.prev)) / max(1, len(codes))
            self.history.append(d)
        self.prev = codes
        recent = self.history[-self.window:]
        return d, len(recent) == self.window and max(recent) < self.threshold


def norm_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, NORMS) and m.weight is not None]


def scores(model: nn.Module) -> tuple[str, dict[str, torch.Tensor]]:
    """("bn", {bn weight name: |γ|}) when the model has BatchNorm, else ("magnitude", {weight: |w|})."""
    bns = norm_layers(model)
    if bns:
        return "bn", {f"{n}.weight": m.weight.detach().abs() for n, m in bns}
    params = dict(model.named_parameters())
    return "magnitude", {n: params[n].detach().abs() for n in prunable(model)}


def keep_vector(s: dict[str, torch.Tensor], ratio: float) -> torch.Tensor:
    """The flat boolean keep-mask of a global threshold pruning `ratio` of all scores (ties by position).
    A tensor the threshold would empty keeps its largest entry: a layer with no channel left would cut
    the network in two (the ratio is then met up to one entry per such layer)."""
    flat = torch.cat([v.flatten().float().cpu() for v in s.values()])
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    keep[torch.sort(flat, stable=True).indices[:int(round(ratio * flat.numel()))]] = False
    i = 0
    for v in s.values():
        seg = slice(i, i + v.numel())
        if not keep[seg].any():
            keep[i + int(flat[seg].argmax())] = True
        i += v.numel()
    return keep


def to_mask(kind: str, s: dict[str, torch.Tensor], keep: torch.Tensor) -> Mask:
    """The `Mask` of a keep vector: weights as they are; BatchNorm channels as their scale and shift."""
    out, i = {}, 0
    for name, v in s.items():
        k = keep[i:i + v.numel()].float().reshape(v.shape)
        i += v.numel()
        out[name] = k
        if kind == "bn":
            out[name.rsplit(".", 1)[0] + ".bias"] = k.clone()
    return Mask(out)


class EarlyBird(Callback):
    """Watch masks (and activation codes on `probe`) at step 0, every `every` steps and at the end.

    `on_eval(record)` is called with each evaluation's record: step, the distances per ratio,
    whether each ratio has drawn, the pairwise row of the main ratio's mask against every earlier
    one, and the spline distance. `l1_gamma` > 0 adds λ·sign(γ) to BatchNorm scale gradients
    (network slimming's sparsity term) while training."""

    def __init__(self, ratios: Sequence[float], ratio: float, every: int, probe: torch.Tensor | None = None, *,
                 window: int = 5, threshold: float = 0.1, spline_window: int = 3, spline_threshold: float = 0.16,
                 l1_gamma: float = 0.0, on_eval: Callable[[dict[str, Any]], None] | None = None):
        self.ratios, self.ratio, self.every, self.probe = sorted(set(ratios) | {ratio}), ratio, every, probe
        self.detectors = {r: Detector(window, threshold) for r in self.ratios}
        self.spline = SplineDetector(spline_window, spline_threshold)
        self.l1, self.on_eval = l1_gamma, on_eval
        self.draws: dict[float, int] = {}
        self.masks: dict[float, Mask] = {}  # the mask at each ratio's draw
        self.spline_draw: int | None = None
        self.history: list[torch.Tensor] = []  # keep vectors of the main ratio, one per evaluation
        self.steps: list[int] = []
        self.records: list[dict[str, Any]] = []
        self.kind = ""
        self.final: Mask | None = None  # the main ratio's mask at the end of training
        self.last_step = -1
        self.hooks: list[Any] = []

    def on_start(self, s: LoopState) -> None:
        if self.l1 > 0:
            for _, m in norm_layers(s.model):
                self.hooks.append(m.weight.register_hook(lambda g, w=m.weight: g + self.l1 * torch.sign(w.detach())))
        self._watch(s)

    def on_step(self, s: LoopState) -> None:
        if s.step % self.every == 0:
            self._watch(s)

    def on_end(self, s: LoopState) -> None:
        self._watch(s)
        for h in self.hooks:
            h.remove()
        self.hooks.clear()
        self.kind, sc = scores(s.model)
        self.final = to_mask(self.kind, sc, keep_vector(sc, self.ratio))

    @torch.no_grad()
    def codes(self, model: nn.Module) -> list[torch.Tensor]:
        """Which units are on for each probe input: the sign of every BatchNorm output (with BatchNorm),
        else of every hidden Linear/Conv output (the output layer excluded)."""
        if self.probe is None:
            return []
        mods = [m for _, m in norm_layers(model)] or [m for m in model.modules() if isinstance(m, PRUNABLE)][:-1]
        out: list[torch.Tensor] = []
        hooks = [m.register_forward_hook(lambda mod, i, o: out.append((o > 0).flatten(1).cpu())) for m in mods]
        was = model.training
        try:
            model.eval()
            model(self.probe.to(next(model.parameters()).device))
        finally:
            model.train(was)
            for h in hooks:
                h.remove()
        return out

    def _watch(self, s: LoopState) -> None:
        if s.step == self.last_step:
            return
        self.last_step = s.step
        self.kind, sc = scores(s.model)
        rec: dict[str, Any] = {"step": s.step, "distances": {}, "drawn": {}}
        for r in self.ratios:
            keep = keep_vector(sc, r)
            d, drawn = self.detectors[r].push(keep)
            rec["distances"][str(r)] = d
            if drawn and r not in self.draws:
                self.draws[r], self.masks[r] = s.step, to_mask(self.kind, sc, keep)
            rec["drawn"][str(r)] = r in self.draws
            if r == self.ratio:
                rec["row"] = [distance(keep, h) for h in self.history]
                self.history.append(keep)
        sd, sdrawn = self.spline.push(self.codes(s.model))
        if sdrawn and self.spline_draw is None:
            self.spline_draw = s.step
        rec.update(spline=sd, spline_drawn=self.spline_draw is not None, kind=self.kind)
        self.steps.append(s.step)
        self.records.append(rec)
        if self.on_eval is not None:
            self.on_eval(rec)

    def matrix(self) -> list[list[float]]:
        """Pairwise distances of the main ratio's masks over all evaluations (symmetric, 0 diagonal)."""
        return [[distance(a, b) for b in self.history] for a in self.history]
