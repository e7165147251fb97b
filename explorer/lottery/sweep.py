"""The one-shot sweep, as a background job: the MNIST-1D lottery notebook's experiment
(docs/science.md §7, §9).

Train the dense network (one run per seed); prune its trained weights by magnitude to each
sparsity `s_1..s_n` in one shot; rewind the survivors; retrain every ticket beside its
controls. All sparsities × seeds × roles are one call of `train_runs`, so where the model
allows they train as ONE batched job (`torch.vmap` over stacked weights). The document has
one entry per sparsity (`round` = its index, from 1), the shape of the IMP document.

    >>> import tempfile
    >>> from explorer.training.store import RunStore
    >>> from explorer.jobs.backends import InlineBackend
    >>> cfg = LotteryConfig.of(model="moons_mlp", dataset="moons", sweep=(0.5, 0.9), steps=20, eval_every=10,
    ...                     seeds=1, controls=("random",), device="cpu")
    >>> from explorer.lottery.kinds import SWEEP
    >>> job = InlineBackend(RunStore(tempfile.mkdtemp())).run(SWEEP, cfg)
    >>> job.status, [round(r["sparsity"], 2) for r in job.result["rounds"]]
    ('done', [0.5, 0.9])
"""

from __future__ import annotations

from typing import Any

from explorer.lottery.experiment import LotteryConfig
from explorer.lottery.imp import mask_folder
from explorer.lottery.magnitude import one_shot, output_names, prunable
from explorer.lottery.rounds import (State, document, final_weights, round_configs, round_entry, train_dense,
                                     train_round)
from explorer.pruning.export import write_mask


def run_sweep(ctx: Any, cfg: LotteryConfig) -> dict[str, Any]:
    """Run (or resume) the one-shot sweep `cfg` in job context `ctx`; returns its document."""
    from explorer import models

    cfg = cfg.resolved()
    state = State.load(ctx.workdir)
    dense = train_dense(ctx, cfg, state)
    if state.dense is None or state.rounds:  # stopped during round 0, or finished before
        return document(cfg, state)
    lm = models.load(cfg.train.model, 0)
    names = prunable(lm.model, cfg.prune_biases, cfg.prune_norms)
    out = output_names(lm.model, lm.example_input, names)
    trained = [final_weights(ctx.store, d) for d in dense]
    plan = []  # (index, sparsity, masks per seed, folders, configs)
    for i, s in enumerate(cfg.sweep, start=1):
        masks = [one_shot(w, names, s, scope=cfg.scope, output=out, rate=cfg.rate, output_rate=cfg.out_rate(cfg.rate))
                 for w in trained]
        folders = [write_mask(mask_folder(ctx.workdir, seed, f"sweep{i}"), m, spec=cfg.train.model, seed=seed,
                              extra={"lottery": {"sweep": i, "seed": seed, "sparsity": m.sparsity, "experiment": cfg.id}})
                   for seed, m in zip(cfg.seed_list(), masks)]
        plan.append((i, s, masks, folders, round_configs(cfg, i, folders, [d.run_id for d in dense],
                                                          save_final=False, tag=f"{100 * s:g}%")))
    configs = [c for *_, cs in plan for c in cs]
    if not train_round(ctx, "sweep", f"sweep over {len(cfg.sweep)} sparsities", configs, 0.1,
                       f"training {len(configs)} tickets and controls", cfg.batched):
        return document(cfg, state)
    for i, s, masks, folders, cs in plan:
        entry = round_entry(ctx.store, i, cs, dense, masks, folders, cfg.target_frac, requested=s)
        state.rounds.append(entry)
        ctx.emit("round", entry)
    state.save()
    ctx.progress(1.0, f"{len(plan)} sparsities done")
    return document(cfg, state)

