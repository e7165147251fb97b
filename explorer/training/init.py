"""Where a run's initial weights and mask come from (SCIENCE.md §4, §7).

- `dense`:  `zoo.load(model, seed)`, no mask.
- `ticket`: the dense network's own init (same seed) with the pruned mask.
- `reinit`: a fresh init (a different, derived seed) with the same mask (control).
- `random`: the dense init with a random mask of equal per-layer sparsity (control).
- `rewind`: the surviving weights of the dense run's checkpoint at `rewind_step`.

A mask comes from PRUNE's export directory (`explorer.pruning.export.load_pruned` when
that module exists; otherwise `mask.safetensors` + `spec.json` {"model": spec}) or from
a bare `.safetensors` mask file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from explorer import zoo
from explorer.mask import Mask
from explorer.training.config import RunConfig

REINIT_SEED_OFFSET = 1_000_003  # reinit control: a seed no dense run of a small sweep uses


class InitError(ValueError):
    """An initialisation that cannot be built: missing mask, checkpoint or mismatched model."""


@dataclass
class Initial:
    model: nn.Module
    mask: Mask | None
    info: zoo.ZooInfo
    init_seed: int  # the seed the weights were drawn with
    source: str  # one line for people: where the weights and mask came from


def reinit_seed(seed: int) -> int:
    return seed + REINIT_SEED_OFFSET


def checkpoint_path(checkpoint_root: str | Path, run_id: str, step: int) -> Path:
    return Path(checkpoint_root) / run_id / f"step_{step}.safetensors"


def save_checkpoint(model: nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    tmp.replace(path)


def load_checkpoint(model: nn.Module, path: Path) -> None:
    from safetensors.torch import load_file

    if not path.exists():
        raise InitError(f"rewind checkpoint {path} does not exist: run the dense twin first (same config with "
                        "init=dense and the same rewind_step), or set rewind_from to a dense run that saved it")
    state = load_file(str(path))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise InitError(f"checkpoint {path} does not fit {type(model).__name__}: missing {missing[:3]}, "
                        f"unexpected {unexpected[:3]}; rewind to a run of the same model")


def _mask_source(pruned_dir: str) -> tuple[Path, str | None]:
    """(mask file, model spec recorded beside it or None)."""
    p = Path(pruned_dir)
    if p.is_file():
        return p, None
    if not p.is_dir():
        raise InitError(f"pruned_dir {p} does not exist; export a pruned network from the Prune page or give "
                        "a mask.safetensors file")
    mask_file, spec_file = p / "mask.safetensors", p / "spec.json"
    if not mask_file.exists():
        raise InitError(f"{p} has no mask.safetensors; it must be a directory exported by the Prune page")
    spec = json.loads(spec_file.read_text()).get("model") if spec_file.exists() else None
    return mask_file, spec


def _load_pruned(pruned_dir: str, seed: int, spec: str) -> tuple[nn.Module, Mask] | None:
    """PRUNE's loader for its full exports ("format": "explorer-pruned/1"): the (possibly
    rewritten) model at `seed`'s init with its mask. None for a bare mask + {"model"} dir."""
    p = Path(pruned_dir)
    if not (p / "spec.json").is_file():
        return None
    doc = json.loads((p / "spec.json").read_text())
    if doc.get("format") != "explorer-pruned/1" or not (p / "selection.json").is_file():
        return None  # a bare mask + {"model"} directory
    if doc.get("model") != spec:
        raise InitError(f"the export in {pruned_dir} was pruned from model {doc.get('model')!r}, not {spec!r}; "
                        f"train model {doc.get('model')!r} or export a mask for {spec!r}")
    from explorer.pruning.export import load_pruned

    pm = load_pruned(pruned_dir, seed=seed)
    return pm.model, pm.mask


def load_mask(pruned_dir: str, model_spec: str | None = None) -> Mask:
    mask_file, spec = _mask_source(pruned_dir)
    if model_spec is not None and spec is not None and spec != model_spec:
        raise InitError(f"the mask in {pruned_dir} was pruned from model {spec!r}, not {model_spec!r}; "
                        f"train model {spec!r} or export a mask for {model_spec!r}")
    return Mask.load(mask_file)


def random_mask_like(mask: Mask, seed: int) -> Mask:
    """A mask with each layer's kept count equal to `mask`'s, kept entries drawn uniformly."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in mask.items():
        flat = v.flatten()
        perm = torch.randperm(flat.numel(), generator=g)
        out[k] = flat[perm].reshape(v.shape)  # a permutation keeps the count exactly
    return Mask(out)


def _model(spec: str, seed: int, pruned_dir: str | None, structural: bool = True
           ) -> tuple[nn.Module, Mask | None, zoo.ZooInfo]:
    """The model at `seed`'s init and the mask; `structural=False` keeps the dense
    architecture (no op-level rewrites) and takes only the mask, as the random control needs."""
    lm = zoo.load(spec, seed)
    if not pruned_dir:
        return lm.model, None, lm.info
    pruned = _load_pruned(pruned_dir, seed, spec) if structural else None
    if pruned is not None:
        return pruned[0], pruned[1], lm.info
    return lm.model, load_mask(pruned_dir, spec), lm.info


def build(config: RunConfig, checkpoint_root: str | Path | None = None) -> Initial:
    """The model (masked, at its initial weights) and mask that `config` starts from."""
    c = config
    if c.init == "dense":
        model, _, info = _model(c.model, c.seed, None)
        return Initial(model, None, info, c.seed, f"{c.model} init seed {c.seed}")
    if c.init == "reinit":
        s = reinit_seed(c.seed)
        model, mask, info = _model(c.model, s, c.pruned_dir)
        src = f"fresh init seed {s} + mask {c.pruned_dir}"
    elif c.init == "random":
        model, mask, info = _model(c.model, c.seed, c.pruned_dir, structural=False)
        assert mask is not None
        mask, s = random_mask_like(mask, c.seed), c.seed
        src = f"dense init seed {s} + random mask of equal per-layer sparsity"
    else:  # ticket | rewind
        s = c.seed
        model, mask, info = _model(c.model, s, c.pruned_dir)
        src = f"dense init seed {s} + mask {c.pruned_dir}"
        if c.init == "rewind":
            if checkpoint_root is None:
                raise InitError("init=rewind needs the checkpoint directory of the dense run")
            dense_id = c.rewind_from or c.dense_twin().run_id
            load_checkpoint(model, checkpoint_path(checkpoint_root, dense_id, c.rewind_step))
            src = f"dense run {dense_id} at step {c.rewind_step} + mask {c.pruned_dir}"
    assert mask is not None
    mask.apply_(model)
    return Initial(model, mask, info, s, src)
