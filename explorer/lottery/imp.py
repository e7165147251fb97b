"""Iterative magnitude pruning with rewinding, as a background job (docs/science.md §7).

Round 0 trains the dense network (one run per seed). Round r prunes `rate` of the weights
that survived round r-1 — by the magnitude of round r-1's *trained* ticket (round 1: the
trained dense network) — rewinds the survivors to the init (or to the dense run at
`rewind_step`) and retrains them beside the controls. Each round streams as frames
(`round_start` with its run ids, then `round` with its document entry) and its runs land in
the store as the comparison group `lth-<id>-r<r>`; the finished rounds are kept in the job's
work folder, so a killed job resumes at its first unfinished round.

    >>> import tempfile
    >>> from explorer.training.store import RunStore
    >>> from explorer.jobs.backends import InlineBackend
    >>> cfg = LotteryConfig.of(model="moons_mlp", dataset="moons", rounds=2, rate=0.5, steps=20, eval_every=10,
    ...                     seeds=1, controls=("random",), device="cpu")
    >>> from explorer.lottery.kinds import IMP
    >>> job = InlineBackend(RunStore(tempfile.mkdtemp())).run(IMP, cfg)
    >>> job.status, [round(r["sparsity"], 2) for r in job.result["rounds"]], sorted(job.result["rounds"][0]["runs"])
    ('done', [0.5, 0.75], ['random', 'ticket'])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from explorer.lottery.experiment import LotteryConfig
from explorer.lottery.magnitude import imp_step, ones, output_names, prunable
from explorer.lottery.rounds import (State, document, final_weights, round_configs, round_entry, train_dense,
                                     train_round)
from explorer.pruning.export import write_mask
from explorer.pruning.mask import Mask


def mask_folder(workdir: Path, seed: int, r: int | str) -> Path:
    return Path(workdir) / f"s{seed}" / f"r{r}"


def starting_masks(cfg: LotteryConfig, store: Any, dense: list[Any]) -> tuple[list[Mask], list[str]]:
    """The dense mask over the prunable tensors of each seed, and the names of the output layer's."""
    from explorer import models

    lm = models.load(cfg.train.model, 0)
    names = prunable(lm.model, cfg.prune_biases, cfg.prune_norms)
    out = output_names(lm.model, lm.example_input, names)
    w = final_weights(store, dense[0])
    return [ones({n: w[n] for n in names}) for _ in dense], out


def run_imp(ctx: Any, cfg: LotteryConfig) -> dict[str, Any]:
    """Run (or resume) the IMP experiment `cfg` in job context `ctx`; returns its document."""
    cfg = cfg.resolved()
    state = State.load(ctx.workdir)
    dense = train_dense(ctx, cfg, state)
    if state.dense is None:  # stopped during round 0
        return document(cfg, state)
    dense_ids = [c.run_id for c in dense]
    masks, out = starting_masks(cfg, ctx.store, dense)
    prev = list(dense)  # the runs whose trained weights the next round prunes
    if state.rounds:  # resumed: continue from the last finished round
        last = state.rounds[-1]
        masks = [Mask.load(Path(d) / "mask.safetensors") for d in last["masks"]]
        prev = [ctx.store.get(rid).config for rid in last["runs"]["ticket"]["run_ids"]]
    for r in range(len(state.rounds) + 1, cfg.rounds + 1):
        if ctx.should_stop():
            break
        ctx.progress((r - 1) / cfg.rounds, f"round {r} of {cfg.rounds}: pruning")
        new = [imp_step(final_weights(ctx.store, p), m, cfg.rate, scope=cfg.scope, output=out,
                        output_rate=cfg.out_rate(cfg.rate)) for p, m in zip(prev, masks)]
        folders = [write_mask(mask_folder(ctx.workdir, s, r), m, spec=cfg.train.model, seed=s, extra={"lottery": {
                       "round": r, "seed": s, "sparsity": m.sparsity, "experiment": cfg.id}})
                   for s, m in zip(cfg.seed_list(), new)]
        configs = round_configs(cfg, r, folders, dense_ids, save_final=r < cfg.rounds)
        if not train_round(ctx, r, f"round {r}", configs, (r - 1) / cfg.rounds,
                           f"round {r} of {cfg.rounds}: training ticket and controls", cfg.batched,
                           sparsity=sum(m.sparsity for m in new) / len(new)):
            break
        entry = round_entry(ctx.store, r, configs, dense, new, folders, cfg.target_frac)
        state.rounds.append(entry)
        state.save()
        ctx.emit("round", entry)
        masks, prev = new, [c for c in configs if c.init in ("ticket", "rewind")]
    ctx.progress(len(state.rounds) / cfg.rounds, f"{len(state.rounds)} of {cfg.rounds} rounds done")
    return document(cfg, state)

