"""Rounds of a lottery experiment (docs/science.md §4, §7): what IMP and the one-shot sweep share.

Round 0 trains the dense network once per seed. Every later round (or sweep entry) has one
mask per seed, written to the job's work folder, and trains for each seed the ticket (the
dense init — or the dense run at `rewind_step` — with the mask) and the controls, all as
ordinary runs of the store with the same data order; `train_runs` batches them where it can.
A round ends as an *entry* of the experiment document:

    {"round": r, "sparsity": s, "remaining": 1 - s, "layer_density": {tensor: kept fraction},
     "runs": {"ticket": {"test_acc": [per seed], "best_train_acc": [...], "iters_to_target": [...],
                         "best_test_acc": [...], "final_train_acc": [...], "run_ids": [...]},
              "reinit": {...}, "random": {...}},
     "masks": [mask folder per seed], "group": "<the round's comparison group>"}

`State` keeps the finished rounds in the work folder (`state.json`), so a resumed attempt of
a killed job skips them.

    >>> from explorer.lottery.experiment import LotteryConfig
    >>> cfg = LotteryConfig.of(model="mlp", dataset="mnist1d", seeds=2)
    >>> [(c.init, c.seed, c.save_final) for c in dense_configs(cfg)]
    [('dense', 0, True), ('dense', 1, True)]
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from explorer import paths
from explorer.lottery.verdict import compare, facts
from explorer.pruning.mask import Mask
from explorer.training.kinds import train_runs

STATE_FILE = "state.json"
ROLE_KEY = {"ticket": "ticket", "rewind": "ticket", "reinit": "reinit", "random": "random", "dense": "dense"}


def clean(x: Any) -> Any:
    """`x` with NaN/inf floats as None (the documents are strict JSON)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    return x


def group_of(cfg: Any, r: int | str) -> str:
    """The comparison group of round `r` of experiment `cfg` (the Train page lists it)."""
    return f"lth-{cfg.id[:6]}-r{r}"


def dense_group(group: str) -> str | None:
    """The group holding the dense runs a lottery round is judged against: round 0 of its experiment
    (a round trains only tickets and controls); None for any other group.

    >>> dense_group("lth-1a2b3c-r2"), dense_group("lth-1a2b3c-r0"), dense_group("mlp-lth-9f9f9f")
    ('lth-1a2b3c-r0', None, None)
    """
    m = re.fullmatch(r"(lth-[0-9a-f]{6})-r(\w+)", group)
    return f"{m.group(1)}-r0" if m and m.group(2) != "0" else None


def comparison_runs(store: Any, group: str) -> list[Any]:
    """The runs `group` is compared on: its own and, for a lottery round with no dense run of its own, the
    dense runs of round 0 (`dense_group`), so the round's verdict has its reference."""
    runs = store.list_runs(group=group)
    ref = dense_group(group)
    if ref is not None and not any(r.config.init == "dense" for r in runs):
        runs = [r for r in store.list_runs(group=ref) if r.config.init == "dense"] + runs
    return runs


def dense_configs(cfg: Any) -> list[Any]:
    """Round 0: the dense run of each seed; it saves its init, its rewind step and its end."""
    return [cfg.run_config(init="dense", seed=s, rewind_step=getattr(cfg, "rewind_step", 0), save_final=True,
                           group=group_of(cfg, 0), label=f"dense s{s}") for s in cfg.seed_list()]


def round_configs(cfg: Any, r: int | str, masks: Sequence[str], dense_ids: Sequence[str], *,
                  save_final: bool, tag: str = "") -> list[Any]:
    """The ticket and controls of each seed for round `r` (`masks[i]`: seed i's mask folder)."""
    k = getattr(cfg, "rewind_step", 0)
    out = []
    for s, d, dense_id in zip(cfg.seed_list(), masks, dense_ids):
        base = dict(seed=s, pruned_dir=str(d), rewind_step=k, group=group_of(cfg, r))
        if k > 0:
            out.append(cfg.run_config(init="rewind", rewind_from=dense_id, save_final=save_final,
                                      label=f"{tag or f'r{r}'} ticket s{s}", **base))
        else:
            out.append(cfg.run_config(init="ticket", save_final=save_final, label=f"{tag or f'r{r}'} ticket s{s}",
                                      **base))
        for role in cfg.controls:
            out.append(cfg.run_config(init=role, label=f"{tag or f'r{r}'} {role} s{s}", **base))
    return out


def final_weights(store: Any, run_cfg: Any) -> dict[str, torch.Tensor]:
    """The trained weights of a finished `save_final` run (its checkpoint at the last step)."""
    from explorer.training.rewind import RewindError
    from explorer.training.checkpoints import read_checkpoint

    path = paths.checkpoint(paths.checkpoints(store.dir), run_cfg.run_id, run_cfg.steps)
    if not path.exists():
        run = store.get(run_cfg.run_id)
        raise RewindError(f"run {run.label} ({run.id}) ended {run.status} without its final weights, so the next "
                          "round has nothing to prune" + (f": {run.error}" if run.error else "")
                          + "; lower the learning rate or train more steps")
    return read_checkpoint(path)


def role_runs(store: Any, configs: Sequence[Any], dense: Sequence[Any], target_frac: float,
              key: Any = None) -> dict[str, Any]:
    """Per role (`key(config)`, default the role's document name) the per-seed numbers of `configs`'
    runs; iterations to target against the dense runs `dense` (per seed)."""
    runs = [store.get(c.run_id) for c in [*dense, *configs]]
    cmp = compare([facts(r, store.metrics(r.id)) for r in runs], target_frac)
    iters = {rid: it for row in cmp.rows for rid, _, it in row.per_run}
    out: dict[str, dict[str, list[Any]]] = {}
    for c, run in zip(configs, runs[len(dense):]):
        summ = run.summary or {}
        final = summ.get("final") or {}
        name = key(c) if key is not None else ROLE_KEY.get(c.init, c.init)
        d = out.setdefault(name, {k: [] for k in (
            "test_acc", "best_train_acc", "iters_to_target", "best_test_acc", "final_train_acc", "run_ids")})
        d["test_acc"].append(final.get("test_acc"))
        d["best_train_acc"].append(summ.get("best_train_acc"))
        d["iters_to_target"].append(iters.get(run.id))
        d["best_test_acc"].append(summ.get("best_test_acc"))
        d["final_train_acc"].append(final.get("train_acc"))
        d["run_ids"].append(run.id)
    return out


def dense_entry(store: Any, dense: Sequence[Any], target_frac: float) -> dict[str, Any]:
    """The document's "dense" part: per seed final test accuracy, iterations to its own target..."""
    entry = role_runs(store, dense, dense, target_frac)["dense"]
    return clean({**entry, "group": dense[0].group})


def round_entry(store: Any, r: int, configs: Sequence[Any], dense: Sequence[Any], masks: Sequence[Mask],
                folders: Sequence[str], target_frac: float, **extra: Any) -> dict[str, Any]:
    """The document entry of one round (see the module doc)."""
    sparsity = sum(m.sparsity for m in masks) / len(masks)
    density = {k: sum(m.layer_density()[k] for m in masks) / len(masks) for k in masks[0]}
    return clean({"round": r, "sparsity": sparsity, "remaining": 1.0 - sparsity, "layer_density": density,
                  "runs": role_runs(store, configs, dense, target_frac), "masks": list(folders),
                  "group": configs[0].group, **extra})


@dataclass
class State:
    """What a lottery job has finished, kept in its work folder across attempts."""

    path: Path
    dense: dict[str, Any] | None = None
    rounds: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, workdir: Path) -> State:
        p = Path(workdir) / STATE_FILE
        if not p.exists():
            return cls(p)
        d = json.loads(p.read_text())
        return cls(p, d.get("dense"), d.get("rounds", []), d.get("extra", {}))

    def save(self) -> None:
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"dense": self.dense, "rounds": self.rounds, "extra": self.extra}))
        tmp.replace(self.path)  # atomic: a killed worker leaves the old state or the new one


def train_round(ctx: Any, round: Any, label: str, configs: Sequence[Any], progress: float, note: str,
                batched: bool = True, **extra: Any) -> bool:
    """Say which runs a round trains (a `round_start` frame: the page's live curves), then train them as the
    job's children (`training.kinds.train_runs`); False once the job should stop."""
    ctx.emit("round_start", {"round": round, "label": label, **extra, "run_ids": [c.run_id for c in configs]})
    ctx.progress(progress, note)
    train_runs(ctx, configs, batched=batched)
    return not ctx.should_stop()


def train_dense(ctx: Any, cfg: Any, state: State) -> list[Any]:
    """Round 0 (skipped when the state has it): train the dense runs, record and emit their entry."""
    dense = dense_configs(cfg)
    if state.dense is None:
        if not train_round(ctx, 0, "dense", dense, 0.0, "training the dense network", getattr(cfg, "batched", True)):
            return dense
        state.dense = dense_entry(ctx.store, dense, cfg.target_frac)
        state.save()
        ctx.emit("dense", state.dense)
    return dense


def document(cfg: Any, state: State, **extra: Any) -> dict[str, Any]:
    """The experiment document the CLI prints and the job returns."""
    return clean({"config": cfg.to_dict(), "dense": state.dense or {}, "rounds": state.rounds, **extra})
