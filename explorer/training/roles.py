"""The roles a run plays in a lottery-ticket experiment, as a registry (docs/science.md §4, §7).

Each role says where a run's initial weights and mask come from:

- `dense`:  the model at its seed's init, no mask;
- `ticket`: the dense network's own init (same seed) with the pruned mask;
- `rewind`: the ticket, its survivors taken from the dense run's checkpoint at `rewind_step`;
- `reinit`: a fresh init (a derived seed) with the same mask — a control;
- `random`: the dense init with a random network of the ticket's size — a control: a random mask
  keeping as many entries of every tensor for a weight mask, a random cut of the same kind and size
  for a structural cut (`explorer.pruning.random_cut`);
- `saved`:  the weights saved in a pruned export with its mask — a network changed after
  pruning, e.g. by approximate isometry (`explorer.propagation.isometry`).

Every control (`reinit`, `random`) and `rewind` is checked against the ticket before it trains
(`check_size`): its kept parameters must equal the ticket's per layer, under the rule of
`explorer.pruning.kept` for the kind of cut; a control that does not is refused (`InitError`, naming
the layers that differ), never trained as if it were comparable.

Where a role draws weights, it draws them with the run's `init_scheme` (`explorer.models.init_schemes`:
orthogonal, Kaiming, ... at the role's seed; "as-built" keeps the model's own init) before the
mask, so a dense run and its ticket start from the same scheme's weights.

A mask comes from a pruned export (`explorer.pruning.export`: the directory the Prune page
and `python -m explorer prune --out` write) or a bare `mask.safetensors` file.

    >>> [r.name for r in ROLES.values()]
    ['dense', 'ticket', 'rewind', 'reinit', 'random', 'saved']
    >>> ROLES["reinit"].title, ROLES["reinit"].control
    ('reinit control', True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer import paths

if TYPE_CHECKING:  # torch and the models load where they are used: RunConfig imports this registry
    from torch import nn

    from explorer.models import ZooInfo
    from explorer.pruning.mask import Mask

REINIT_SEED_OFFSET = 1_000_003  # reinit control: a seed no dense run of a small sweep uses


class InitError(ValueError):
    """An initialisation that cannot be built: missing mask, checkpoint or mismatched model."""


@dataclass
class Start:
    """What a run starts from: the model (masked, at its initial weights), its mask, and one line saying so."""

    model: nn.Module
    mask: Mask | None
    info: ZooInfo
    init_seed: int  # the seed the weights were drawn with
    source: str  # one line for people: where the weights and mask came from


@dataclass(frozen=True)
class Role:
    """One role: its name (a `RunConfig.init` value), a title for tables and legends, a colour,
    whether it is a control, and how its start is built."""

    name: str
    title: str
    color: str
    control: bool
    build: Callable[[Any, Path], Start]  # (a training RunConfig, checkpoint root)

    def __repr__(self) -> str:
        return f"Role({self.name}: {self.title})"


def reinit_seed(seed: int) -> int:
    return seed + REINIT_SEED_OFFSET


def random_mask_like(mask: Mask, seed: int) -> Mask:
    """A mask with each layer's kept count equal to `mask`'s, kept entries drawn uniformly."""
    import torch

    from explorer.pruning.mask import Mask

    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in mask.items():
        flat = v.flatten()
        perm = torch.randperm(flat.numel(), generator=g)
        out[k] = flat[perm].reshape(v.shape)  # a permutation keeps the count exactly
    return Mask(out)


def drawn(model: nn.Module, scheme: str, seed: int) -> str:
    """Redraw `model`'s weights with `scheme` at `seed` (nothing for as-built); a note for `Start.source`."""
    if scheme in ("", "as-built"):
        return ""
    from explorer.models.init_schemes import apply_init

    apply_init(model, scheme, seed)
    return f", {scheme} weights"


def _masked(spec: str, seed: int, pruned_dir: str, structural: bool = True,
            scheme: str = "as-built") -> tuple[nn.Module, Mask, ZooInfo]:
    """The model at `seed`'s init (drawn with `scheme`) with the mask of `pruned_dir`. A full export is
    rebuilt with its op-level rewrites (`load_pruned`); `structural=False` keeps the dense architecture
    and takes only the mask, as the random control needs."""
    from explorer import models
    from explorer.pruning.export import describe, load_pruned
    from explorer.pruning.mask import Mask

    ref = describe(pruned_dir)
    if ref.model is not None and ref.model != spec:
        raise InitError(f"the export in {pruned_dir} was pruned from model {ref.model!r}, not {spec!r}; "
                        f"train model {ref.model!r} or export a mask for {spec!r}")
    lm = models.load(spec, seed)
    if structural and ref.full:
        pm = load_pruned(pruned_dir, seed=seed)
        drawn(pm.model, scheme, seed)
        return pm.model, pm.mask, lm.info
    drawn(lm.model, scheme, seed)
    return lm.model, Mask.load(ref.mask_file), lm.info


def _dense(c: Any, root: Path) -> Start:
    from explorer import models

    lm = models.load(c.model, c.seed)
    note = drawn(lm.model, c.init_scheme, c.seed)
    return Start(lm.model, None, lm.info, c.seed, f"{c.model} init seed {c.seed}{note}")


def _ticket(c: Any, root: Path) -> Start:
    model, mask, info = _masked(c.model, c.seed, c.pruned_dir, scheme=c.init_scheme)
    return Start(model, mask, info, c.seed, f"dense init seed {c.seed}{_note(c)} + mask {c.pruned_dir}")


def _note(c: Any) -> str:
    return f", {c.init_scheme} weights" if c.init_scheme not in ("", "as-built") else ""


def _rewind(c: Any, root: Path) -> Start:
    from explorer.training.rewind import rewind_to_checkpoint

    start = _ticket(c, root)
    dense_id = c.rewind_from or c.dense_twin().run_id
    rewind_to_checkpoint(start.model, start.mask, paths.checkpoint(root, dense_id, c.rewind_step))
    start.source = f"dense run {dense_id} at step {c.rewind_step} + mask {c.pruned_dir}"
    return start


def _reinit(c: Any, root: Path) -> Start:
    s = reinit_seed(c.seed)
    model, mask, info = _masked(c.model, s, c.pruned_dir, scheme=c.init_scheme)
    return Start(model, mask, info, s, f"fresh init seed {s}{_note(c)} + mask {c.pruned_dir}")


def _random(c: Any, root: Path) -> Start:
    """A random network of the ticket's size at the dense init: for a weight mask (a criterion's or
    IMP's, or unit-level arcs, which are single weights) a random mask keeping as many entries of every
    tensor; for a structural cut (units, a branch, a skip) a random cut of the same kind and size
    (`pruning.random_cut`)."""
    if _structural_random(c.pruned_dir):
        return _random_cut(c)
    model, mask, info = _masked(c.model, c.seed, c.pruned_dir, structural=False, scheme=c.init_scheme)
    return Start(model, random_mask_like(mask, c.seed), info, c.seed,
                 f"dense init seed {c.seed}{_note(c)} + random mask keeping as many weights of every layer")


def _structural_random(pruned_dir: str) -> bool:
    """Whether the random control of this export is a random cut (units, a branch, arcs at op level)
    rather than a random mask (a weight mask, or unit-level arcs: single weights)."""
    from explorer.pruning.export import describe, read_selection

    ref = describe(pruned_dir)
    if not ref.structural:
        return False
    sel = read_selection(pruned_dir)
    return not (sel.granularity == "unit" and sel.arcs and not sel.nodes)


def _saved(c: Any, root: Path) -> Start:
    """The export's own weights and mask. Its spec.json must name this model and, where it records
    the scheme its weights were first drawn with (`init_scheme`), this run's scheme."""
    from explorer import models
    from explorer.pruning.export import describe, load_pruned, read_spec

    ref = describe(c.pruned_dir)
    if not ref.full:
        raise InitError(f"init 'saved' needs a full pruned export with its weights (spec.json, selection.json, "
                        f"weights.safetensors); {c.pruned_dir} is a bare mask — use init 'ticket' for it")
    doc = read_spec(c.pruned_dir)
    if doc.get("model") != c.model:
        raise InitError(f"the export in {c.pruned_dir} holds weights of model {doc.get('model')!r}, not "
                        f"{c.model!r}; train model {doc.get('model')!r}")
    was = doc.get("init_scheme")
    if was is not None and c.init_scheme != "as-built" and was != c.init_scheme:
        raise InitError(f"the export in {c.pruned_dir} was drawn with init scheme {was!r}, but this run says "
                        f"{c.init_scheme!r}; set init_scheme={was!r} so the run is labelled truthfully")
    pm = load_pruned(c.pruned_dir)
    what = doc.get("weights_note") or "weights saved in the export"
    return Start(pm.model, pm.mask, models.load(c.model, c.seed).info, int(doc.get("seed", c.seed)),
                 f"{what} ({c.pruned_dir}) + its mask")


def _random_cut(c: Any) -> Start:
    from explorer import models
    from explorer.pruning.apply import apply
    from explorer.pruning.export import describe, read_selection, read_spec, selection_graph
    from explorer.pruning.random_cut import random_cut

    ref = describe(c.pruned_dir)
    lm = models.load(c.model, c.seed)
    drawn(lm.model, c.init_scheme, c.seed)
    # the graph the selection was made on (a unit graph leaves out exact-zero weights, so it is the export's seed's)
    dag = selection_graph(c.model, int(read_spec(c.pruned_dir).get("seed", c.seed)), ref.granularity)
    cut, why = random_cut(dag, read_selection(c.pruned_dir), lm.model, seed=c.seed)
    if cut is None:
        raise InitError(f"no random control of the ticket's size exists for this cut: {why}")
    pm = apply(lm.model, dag, cut, lm.example_input)
    shown = ", ".join((list(cut.nodes) + list(cut.arcs))[:4]) + (" ..." if len(cut) > 4 else "")
    return Start(pm.model, pm.mask, lm.info, c.seed,
                 f"dense init seed {c.seed}{_note(c)} + random cut of the same kind and size: {shown}")


SIZED = ("rewind", "reinit", "random")  # the roles that must have the ticket's size


def check_size(c: Any, start: Start) -> str:
    """Refuse (`InitError`) a `SIZED` start whose kept parameters differ from the ticket's, per layer, under
    the rule of `explorer.pruning.kept` for its kind (layers of one shape may trade places only for a random
    op-level cut); returns one line for `Start.source` saying the sizes agree."""
    from explorer.pruning.export import describe
    from explorer.pruning.kept import EXACT, SizeMismatch, check_same_size, kept_profile
    from explorer.pruning.mask import Mask
    from explorer.pruning.random_cut import size_rule

    ref = describe(c.pruned_dir)
    rule = size_rule(ref.granularity) if c.init == "random" and _structural_random(c.pruned_dir) else EXACT
    try:
        mine = kept_profile(start.model, start.mask)
        ticket = kept_profile(start.model, Mask.load(ref.mask_file))
        check_same_size(mine, ticket, rule, f"the {title(c.init)}")
    except SizeMismatch as e:
        raise InitError(f"{e}; it is not trained") from None
    return f"{mine.kept:,} of {mine.total:,} parameters kept, as the ticket"


ROLES: dict[str, Role] = {r.name: r for r in (
    Role("dense", "dense", "#1f77b4", False, _dense),
    Role("ticket", "ticket (dense init + mask)", "#d62728", False, _ticket),
    Role("rewind", "ticket rewound", "#9467bd", False, _rewind),
    Role("reinit", "reinit control", "#7f7f7f", True, _reinit),
    Role("random", "random-mask control", "#ff7f0e", True, _random),
    Role("saved", "saved weights (e.g. after isometry) + mask", "#2ca02c", False, _saved),
)}
ROLE_NAMES: tuple[str, ...] = tuple(ROLES)


def title(role: str) -> str:
    """The display title of a role ('ticket (dense init + mask)'); unknown roles print as given."""
    return ROLES[role].title if role in ROLES else role


def build(config: Any, checkpoint_root: str | Path | None = None) -> Start:
    """The model (masked, at its initial weights) and mask that `config` (a `RunConfig`) starts from."""
    if config.init not in ROLES:
        raise InitError(f"init {config.init!r} is not one of {', '.join(ROLES)}")
    from explorer.models.user_store import check_allowed

    check_allowed(config.model)  # runs execute model code only from the models folder
    start = ROLES[config.init].build(config, Path(checkpoint_root) if checkpoint_root else paths.checkpoints())
    if start.mask is not None:
        start.mask.apply_(start.model)
    if config.init in SIZED:
        start.source += f" ({check_size(config, start)})"
    return start
