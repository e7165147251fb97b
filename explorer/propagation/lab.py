"""The lab document: for each init scheme, the Jacobian spectra of a model at K inputs after
initialisation, after pruning at init and after the isometry step, with per-layer spectra,
kept fractions and the penalty curve (docs/science.md §5). The page (as a background job),
the CLI (`python -m explorer spectrum`) and the tests all call `run_lab(LabConfig(...))`.

    >>> cfg = LabConfig(model="deep_mlp:depth=3,width=10,act=linear", schemes=("orthogonal",), inputs=4,
    ...                 criterion="snip", sparsity=0.5, isometry_steps=20, per_layer="autograd")
    >>> doc = run_lab(cfg)
    >>> s = doc["schemes"][0]
    >>> [st["stage"] for st in s["stages"]], round(s["stages"][0]["stats"]["std"], 6)
    (['init', 'pruned', 'isometry'], 0.0)
    >>> len(s["isometry"]["penalty"]), sorted(s["pruning"]["kept_fraction"])
    (21, ['fc1', 'fc2', 'fc3'])
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from explorer import models
from explorer.config import Spec, SpecError, setting
from explorer.models.generated import deep_mlp_spec
from explorer.models.init_schemes import apply_init, parse_scheme
from explorer.propagation.at_init import CRITERIA, TWIN, agreement, prune_at_init
from explorer.propagation.isometry import IsometryConfig, approximate_isometry, isometry_penalty
from explorer.pruning.criteria.allocate import SCOPES
from explorer.training.optim import SCHEDULES
from explorer.propagation.layers import LayerSpectrum, autograd_layer_spectra
from explorer.propagation.spectrum import jacobian_spectrum

Emit = Callable[[str, dict[str, Any]], None]
ROUTES = ("auto", "lifting", "autograd", "none")
LIFTING_MAX_PARAMS = 200_000  # auto: above this the unit-level graph is too big to build per stage
DEFAULT_MODEL = deep_mlp_spec(7, 100, "linear")


class LabError(SpecError):
    """A lab setting that cannot run; the message names the field and the fix."""


@dataclass(frozen=True)
class LabConfig(Spec):
    """What one lab computation depends on; `help` feeds the page's tooltips and the CLI's --help."""

    error = LabError

    model: str = setting(DEFAULT_MODEL, "model spec: zoo / torchvision name, file.py:Class, or deep_mlp:depth=..,width=..,act=..")
    schemes: tuple[str, ...] = setting(("orthogonal", "kaiming-normal", "gaussian:1"), "init schemes to compare (as-built keeps the model's own)")
    seed: int = setting(0, "seed of the weights (each scheme draws with it) and of the inputs")
    inputs: int = setting(32, "K: inputs the input-output Jacobian is taken at")
    dataset: str = setting("", "where the K inputs come from: '' = the model's dataset if it fits, else Gaussian noise; 'noise'; or a dataset name")
    float64: bool = setting(True, "take Jacobians in float64 (slower, exact to ~1e-15)")
    per_layer: str = setting("auto", "per-layer maps from: lifting (unit level, D_l(x) T_l), autograd (op level), auto, or none", choices=ROUTES)
    per_layer_inputs: int = setting(8, "inputs the per-layer spectra are taken at (the first of the K)")
    criterion: str = setting("", "prune at init with: snip | snip_unsupervised | random | magnitude ('' = no pruning)", choices=("", *CRITERIA))
    sparsity: float = setting(0.9, "fraction of the Linear/Conv weights to prune")
    scope: str = setting("global", "global: one ranking over all layers (SNIP's); layer: the same rate in each layer", choices=SCOPES)
    snip_batch: int = setting(1000, "samples SNIP's connection sensitivity is summed over")
    isometry_steps: int = setting(0, "SGD steps of approximate isometry after pruning (0 = none)")
    isometry_lr: float = setting(0.1, "SGD learning rate of the isometry step")
    isometry_schedule: str = setting("constant", "isometry learning rate: constant | cosine", choices=SCHEDULES)
    image_size: int = setting(0, "image models: inputs of this height and width (0 = the model's own; torchvision nets pool adaptively, so 32 works)")

    def check(self) -> None:
        object.__setattr__(self, "schemes", tuple(parse_scheme(s).text for s in self.schemes))
        if not self.schemes:
            raise LabError("give at least one init scheme, e.g. orthogonal")
        if self.inputs < 1 or self.per_layer_inputs < 1:
            raise LabError(f"inputs and per_layer_inputs must be >= 1; got {self.inputs}, {self.per_layer_inputs}")
        if not 0.0 <= self.sparsity < 1.0:
            raise LabError(f"sparsity {self.sparsity} must lie in [0, 1)")
        if self.isometry_steps and not self.criterion:
            raise LabError("the isometry step repairs a pruned network: set a criterion (e.g. snip) or 0 steps")
        IsometryConfig(self.isometry_steps, self.isometry_lr, 1.0, self.isometry_schedule)
        if self.image_size < 0:
            raise LabError(f"image_size must be >= 0 (0 = the model's own); got {self.image_size}")

    @property
    def isometry(self) -> IsometryConfig:
        return IsometryConfig(self.isometry_steps, self.isometry_lr, 1.0, self.isometry_schedule)


MAX_JACOBIAN = 50_000_000  # entries of one input's Jacobian (n_out * n_in) the lab will form


def sized(lm: Any, image_size: int) -> Any:
    """`lm` with image inputs of `image_size` × `image_size` (unchanged for 0 or non-image inputs), and
    refused when one Jacobian would be too big to form."""
    shape = tuple(lm.info.input_shape)
    if image_size and len(shape) == 3:
        shape = (shape[0], image_size, image_size)
        lm = dataclasses.replace(lm, example_input=torch.zeros(1, *shape),
                                 info=dataclasses.replace(lm.info, input_shape=shape))
    with torch.no_grad():
        n_out = lm.model.eval()(lm.example_input).numel()
    n = n_out * math.prod(shape)
    if n > MAX_JACOBIAN:
        hint = " — give a smaller image size (e.g. 32)" if len(shape) == 3 else ""
        raise LabError(f"one Jacobian of {lm.info.name} has {n:,} entries ({n_out} outputs × {math.prod(shape):,} "
                       f"inputs), over the lab's {MAX_JACOBIAN:,}{hint}")
    return lm


def probe_inputs(lm: Any, k: int, dataset: str, seed: int) -> tuple[torch.Tensor, str]:
    """K inputs for the Jacobian: test samples of `dataset` (default the model's) when they fit the
    model's input, else N(0, 1) noise. Returns (x (K, *input_shape), where they came from)."""
    from explorer.data import DataError, load_dataset

    shape = tuple(lm.info.input_shape)
    name = lm.info.dataset if dataset == "" else (None if dataset == "noise" else dataset)
    g = torch.Generator().manual_seed(seed)
    if name:
        try:
            d = load_dataset(name)
        except DataError:
            d = None
        if d is not None and math.prod(d.input_shape) == math.prod(shape):
            idx = torch.randperm(len(d.x_test), generator=g)[:k]
            return d.x_test[idx].reshape(-1, *shape).float(), f"{name} test samples"
        if dataset not in ("", "noise"):
            raise LabError(f"dataset {name!r} has inputs of {d.input_shape if d else '?'} values, the model eats "
                           f"{shape}; pick the model's dataset or 'noise'")
    return torch.randn(k, *shape, generator=g), "Gaussian noise N(0, 1)"


def _round(v: np.ndarray) -> list[float]:
    return np.asarray(v, dtype=np.float32).ravel().tolist()


def _layer_docs(spectra: list[LayerSpectrum]) -> list[dict[str, Any]]:
    out = []
    for s in spectra:
        st = s.stats()
        out.append({"layer": s.layer, "shape": list(s.shape), "activation": s.activation, "note": s.note,
                    **(st.to_json() if st is not None else {})})
    return out


def _per_layer(model: torch.nn.Module, x: torch.Tensor, route: str, dtype: torch.dtype,
               name: str) -> tuple[str, list[LayerSpectrum]]:
    """(route used, spectra). auto: the lifting where the model has a unit level of several levels."""
    if route == "none":
        return "none", []
    if route in ("auto", "lifting"):
        from explorer.graph.unit import UnitLevelError
        from explorer.propagation.lifted import lifting_level_spectra

        small = sum(p.numel() for p in model.parameters()) <= LIFTING_MAX_PARAMS
        if route == "lifting" or small:
            try:
                levels = lifting_level_spectra(model, x, name=name)
                if route == "lifting" or len(levels) > 1:
                    return "lifting", levels
            except UnitLevelError:
                if route == "lifting":
                    raise
    return "autograd", autograd_layer_spectra(model, x, dtype=dtype)


def stage_doc(model: torch.nn.Module, x: torch.Tensor, cfg: LabConfig, stage: str) -> dict[str, Any]:
    """The spectra of one stage: every singular value over the K inputs, their stats, per-layer stats."""
    dtype = torch.float64 if cfg.float64 else torch.float32
    spec = jacobian_spectrum(model, x, dtype=dtype)
    route, layers = _per_layer(model, x[: cfg.per_layer_inputs], cfg.per_layer, dtype, cfg.model)
    return {"stage": stage, "shape": list(spec.shape), "singular_values": _round(spec.flat),
            "stats": spec.stats().to_json(), "route": route, "per_layer": _layer_docs(layers)}


def run_lab(cfg: LabConfig, emit: Emit | None = None, should_stop: Callable[[], bool] = lambda: False,
            progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """Compute the lab document of `cfg` (see the module doc). `emit(kind, payload)` receives each
    stage as it is done ("stage", "pruning", "penalty" frames); `should_stop()` ends early."""
    say = emit or (lambda kind, payload: None)
    tick = progress or (lambda frac, note: None)
    base = sized(models.load(cfg.model, cfg.seed), cfg.image_size)
    x, source = probe_inputs(base, cfg.inputs, cfg.dataset, cfg.seed)
    stages = 1 + bool(cfg.criterion) + bool(cfg.criterion and cfg.isometry_steps)
    units, done = len(cfg.schemes) * stages, 0
    doc: dict[str, Any] = {"config": cfg.to_dict(), "model": {"spec": cfg.model, "description": base.info.description,
                                                            "input_shape": list(base.info.input_shape)},
                           "inputs": {"n": len(x), "source": source}, "schemes": [], "stopped": False}
    for scheme in cfg.schemes:
        if should_stop():
            doc["stopped"] = True
            break
        lm = sized(models.load(cfg.model, cfg.seed), cfg.image_size)
        report = apply_init(lm.model, scheme, cfg.seed)
        entry: dict[str, Any] = {"init": scheme, "layers": [dataclasses.asdict(r) for r in report], "stages": [],
                                 "pruning": None, "isometry": None}
        doc["schemes"].append(entry)

        def add(stage: str, model: torch.nn.Module) -> None:
            nonlocal done
            tick(done / units, f"{scheme}: spectra {stage}")
            st = stage_doc(model, x, cfg, stage)
            entry["stages"].append(st)
            say("stage", {"init": scheme, **st})
            done += 1

        add("init", lm.model)
        if not cfg.criterion or should_stop():
            continue
        tick(done / units, f"{scheme}: pruning with {cfg.criterion}")
        p = prune_at_init(lm, cfg.criterion, cfg.sparsity, seed=cfg.seed, scope=cfg.scope, batch_size=cfg.snip_batch)
        pr: dict[str, Any] = {"criterion": p.criterion, "sparsity": p.sparsity, "achieved": p.achieved,
                              "kept_fraction": p.kept, "notes": list(p.notes)}
        if p.criterion in TWIN:  # supervised vs unsupervised: the other SNIP's mask beside it
            q = prune_at_init(lm, TWIN[p.criterion], cfg.sparsity, seed=cfg.seed, scope=cfg.scope,
                              batch_size=cfg.snip_batch)
            pr["other"] = {"criterion": q.criterion, "kept_fraction": q.kept, "agreement": agreement(p.mask, q.mask)}
        entry["pruning"] = pr
        say("pruning", {"init": scheme, **pr})
        pruned = p.mask.apply_(lm.model)
        add("pruned", pruned)
        if not cfg.isometry_steps or should_stop():
            continue
        every = max(1, cfg.isometry_steps // 200)
        tick(done / units, f"{scheme}: approximate isometry, {cfg.isometry_steps} SGD steps")

        def on_step(step: int, value: float) -> None:
            if step % every == 0 or step == cfg.isometry_steps:
                say("penalty", {"init": scheme, "step": step, "value": value})

        r = approximate_isometry(pruned, p.mask, cfg.isometry, on_step, should_stop)
        entry["isometry"] = {"penalty": r.penalty, "reduction": r.reduction if math.isfinite(r.reduction) else None,
                             "per_layer": isometry_penalty(r.model, p.mask, per_layer=True), "stopped": r.stopped}
        add("isometry", r.model)
    tick(1.0, "done")
    return doc


def final_stage(entry: dict[str, Any]) -> dict[str, Any]:
    """The last stage computed for a scheme (isometry, else pruned, else init)."""
    return entry["stages"][-1]



def doc_from_frames(frames: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The lab document so far, rebuilt from a running job's frames (kind, payload): what the page
    draws before the result is in. The isometry penalty holds the steps emitted so far.

    >>> d = doc_from_frames([("stage", {"init": "orthogonal", "stage": "init"}), ("penalty",
    ...                      {"init": "orthogonal", "step": 5, "value": 2.0})])
    >>> [s["init"] for s in d["schemes"]], d["schemes"][0]["isometry"]
    (['orthogonal'], {'penalty': [2.0], 'steps': [5]})
    """
    entries: dict[str, dict[str, Any]] = {}
    for kind, p in frames:
        e = entries.setdefault(p["init"], {"init": p["init"], "layers": [], "stages": [], "pruning": None,
                                           "isometry": None})
        if kind == "stage":
            e["stages"].append({k: v for k, v in p.items() if k != "init"})
        elif kind == "pruning":
            e["pruning"] = {k: v for k, v in p.items() if k != "init"}
        elif kind == "penalty":
            iso = e["isometry"] or {"penalty": [], "steps": []}
            iso["penalty"].append(p["value"])
            iso["steps"].append(p["step"])
            e["isometry"] = iso
    return {"schemes": list(entries.values())}
