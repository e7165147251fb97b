"""The trainability grid (docs/science.md §5): init scheme × {dense, pruned, pruned + isometry},
over seeds, as one comparison group of ordinary runs — does faithful propagation make the
pruned network train?

`prepare_grid` writes, per (scheme, seed), two pruned exports (`explorer.pruning.export`):
the mask pruned at init on that scheme's weights, and the same mask with the weights after
approximate isometry. The runs are then plain `RunConfig`s:

- dense:            `init="dense"`,  `init_scheme=scheme`;
- pruned:           `init="ticket"`, `init_scheme=scheme`, the first export (the scheme's weights, masked);
- pruned+isometry:  `init="saved"`,  `init_scheme=scheme`, the second export (its saved weights).

All share model, data order and optimiser, so they train as one batched job where the model
allows (`explorer.training.sweep`). Exports are named by what they hold, so preparing the
same grid again reuses them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from explorer import models, paths
from explorer.graph import build_dag
from explorer.models.init_schemes import apply_init
from explorer.propagation.at_init import prune_at_init
from explorer.propagation.isometry import approximate_isometry
from explorer.propagation.lab import LabConfig, LabError
from explorer.pruning.apply import from_mask
from explorer.pruning.export import FILES, export
from explorer.training.config import RunConfig

VARIANTS = {"dense": "dense", "ticket": "pruned", "saved": "pruned+isometry"}  # role -> label in the grid


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:10]


def group_name(lab: LabConfig, base: RunConfig, seeds: Sequence[int]) -> str:
    """A group id naming the whole grid (model, schemes, pruning, isometry, training, seeds)."""
    short = lab.model.split(":")[0]
    return f"{short}-spp-{_key(lab.to_dict(), base.run_id, sorted(seeds))[:6]}"


def _exports(lab: LabConfig, scheme: str, seed: int, root: Path) -> tuple[Path, Path]:
    k = _key(lab.model, scheme, seed, lab.criterion, lab.sparsity, lab.scope, lab.snip_batch)
    iso = _key(k, lab.isometry_steps, lab.isometry_lr, lab.isometry_schedule)
    return paths.exports(root) / f"spp-{k}", paths.exports(root) / f"spp-{k}-iso-{iso}"


def _complete(d: Path) -> bool:
    return all((d / f).is_file() for f in FILES)


def write_exports(lab: LabConfig, scheme: str, seed: int, root: Path,
                  should_stop: Callable[[], bool] = lambda: False) -> tuple[Path, Path, dict[str, Any]]:
    """The pruned and pruned+isometry exports of (scheme, seed), written unless already there."""
    pruned_dir, iso_dir = _exports(lab, scheme, seed, root)
    facts: dict[str, Any] = {"init": scheme, "seed": seed}
    if _complete(pruned_dir) and _complete(iso_dir):
        facts.update(json.loads((iso_dir / "spec.json").read_text()).get("isometry", {}))
        return pruned_dir, iso_dir, facts
    lm = models.load(lab.model, seed)
    apply_init(lm.model, scheme, seed)
    p = prune_at_init(lm, lab.criterion, lab.sparsity, seed=seed, scope=lab.scope, batch_size=lab.snip_batch)
    dag = build_dag(lm, "op")
    common = {"init_scheme": scheme, "criterion": lab.criterion, "sparsity_requested": lab.sparsity,
              "kept_fraction": p.kept, "mask_only": True}
    masked = from_mask(lm.model, dag, p.mask, lm.example_input)
    export(masked, pruned_dir, spec=lab.model, seed=seed, x=lm.example_input, dense=lm.model, onnx=False,
           extra={**common, "weights_note": f"{scheme} weights (seed {seed}) pruned at init by {lab.criterion}"})
    r = approximate_isometry(masked.model, p.mask, lab.isometry, should_stop=should_stop)
    iso = {"steps": len(r.penalty) - 1, "penalty_before": r.penalty[0], "penalty_after": r.penalty[-1]}
    note = (f"{scheme} weights pruned by {lab.criterion}, then {iso['steps']} SGD steps of approximate isometry "
            f"(penalty {r.penalty[0]:.3g} -> {r.penalty[-1]:.3g})")
    export(from_mask(r.model, dag, p.mask, lm.example_input), iso_dir, spec=lab.model, seed=seed,
           x=lm.example_input, dense=lm.model, onnx=False, extra={**common, "isometry": iso, "weights_note": note})
    facts.update(iso)
    return pruned_dir, iso_dir, facts


def grid_configs(lab: LabConfig, base: RunConfig, seeds: Sequence[int], dirs: dict[tuple[str, int], tuple[Path, Path]],
                 group: str) -> list[RunConfig]:
    """The grid's run configs, in (seed, scheme, variant) order."""
    out = []
    for s in seeds:
        for scheme in lab.schemes:
            pruned_dir, iso_dir = dirs[(scheme, s)]
            for role, variant in VARIANTS.items():
                d = {"dense": "", "ticket": str(pruned_dir), "saved": str(iso_dir)}[role]
                out.append(base.replace(init=role, init_scheme=scheme, pruned_dir=d, seed=s, group=group,
                                        label=f"{scheme} · {variant} s{s}"))
    return out


def _check_data(spec: str, dataset: str) -> None:
    """Refuse up front a dataset the model cannot train on (before any export is written)."""
    from explorer.data import load_dataset

    info = models.load_cached(spec).info
    d = load_dataset(dataset).reshaped(info.input_shape)  # DataError naming both shapes
    if info.num_classes is not None and info.num_classes < d.n_classes:
        raise LabError(f"{spec} has {info.num_classes} outputs but {dataset} has {d.n_classes} classes; "
                       "give the network as many outputs (e.g. deep_mlp:...,d_out=10)")


def prepare_grid(lab: LabConfig, base: RunConfig, seeds: Sequence[int], root: str | Path | None = None,
                 progress: Callable[[float, str], None] | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """Write every export and return {"group", "configs" (RunConfig dicts), "exports" (facts per
    scheme and seed)}. `base` holds the training settings (model, dataset, optimiser, steps, ...)."""
    if not lab.criterion:
        raise LabError("the trainability grid prunes at init: set a criterion (e.g. snip)")
    if base.model != lab.model:
        raise LabError(f"the runs' model {base.model!r} is not the lab's {lab.model!r}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise LabError("give at least one seed")
    _check_data(lab.model, base.dataset)
    root = Path(root) if root is not None else paths.data_dir()
    dirs: dict[tuple[str, int], tuple[Path, Path]] = {}
    facts = []
    todo = [(sc, s) for s in seeds for sc in lab.schemes]
    for i, (scheme, s) in enumerate(todo):
        if progress is not None:
            progress(i / len(todo), f"pruning and isometry: {scheme}, seed {s}")
        a, b, f = write_exports(lab, scheme, s, root, should_stop)
        dirs[(scheme, s)] = (a, b)
        facts.append(f)
    group = group_name(lab, base, seeds)
    configs = grid_configs(lab, base, seeds, dirs, group)
    return {"group": group, "configs": [c.to_dict() for c in configs], "exports": facts}
