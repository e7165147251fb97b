"""Ticket transfer — universality (docs/science.md §7): is a winning ticket a property of the
task or of the network? A mask found on task A (`dataset`) is trained on task B
(`target_dataset`, the same input shape: MNIST-1D generated with another seed or noise level,
permuted labels, a user CSV) against B's own ticket and a random mask of the same per-layer
sparsity, over seeds, with the same init and data order.

Rows of the table, all trained on B:

- `transfer`: A's mask with the init of A's dense run (the ticket moved from A to B);
- `own`:      B's own ticket (B's mask, the same init);
- `random`:   a random mask with A's per-layer sparsity (`reinit` too, when asked);
- `dense`:    the dense network on B (the target of iterations to target).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from explorer.lottery.experiment import TransferConfig
from explorer.lottery.magnitude import one_shot, output_names, prunable
from explorer.lottery.rounds import clean, dense_configs, dense_entry, final_weights, role_runs, train_round
from explorer.pruning.export import write_mask
from explorer.training.kinds import train_runs

ROWS = {"transfer": "A's ticket on B", "own": "B's own ticket", "random": "random mask (A's sparsity)",
        "reinit": "A's mask, fresh init", "dense": "dense on B"}


def _masks(ctx: Any, cfg: TransferConfig, dense: list[Any], task: str) -> list[str]:
    from explorer import models

    lm = models.load(cfg.train.model, 0)
    names = prunable(lm.model, cfg.prune_biases, cfg.prune_norms)
    out = output_names(lm.model, lm.example_input, names)
    folders = []
    for s, d in zip(cfg.seed_list(), dense):
        m = one_shot(final_weights(ctx.store, d), names, cfg.sparsity, scope=cfg.scope, output=out, rate=cfg.rate,
                     output_rate=cfg.out_rate(cfg.rate))
        folders.append(write_mask(Path(ctx.workdir) / f"{task}_s{s}", m, spec=cfg.train.model, seed=s, extra={
            "lottery": {"task": getattr(d, "dataset", ""), "seed": s, "sparsity": m.sparsity}}))
    return folders


def run_transfer(ctx: Any, cfg: TransferConfig) -> dict[str, Any]:
    """Dense runs on A and B, each task's one-shot ticket, then A's ticket trained on B with controls."""
    cfg = cfg.resolved()
    on_b = cfg.replace(dataset=cfg.target_dataset)
    tag = f"tr-{cfg.id[:6]}"
    dense_a = [c.replace(group=f"{tag}-A") for c in dense_configs(cfg)]
    dense_b = [c.replace(group=f"{tag}-B") for c in dense_configs(on_b)]
    ctx.emit("round_start", {"round": 0, "label": "dense on A and on B", "run_ids": [c.run_id for c in dense_a + dense_b]})
    ctx.progress(0.0, "training the dense networks on A and B")
    train_runs(ctx, dense_a)
    train_runs(ctx, dense_b)
    if ctx.should_stop():
        return {"config": cfg.to_dict(), "rows": []}
    masks_a, masks_b = _masks(ctx, cfg, dense_a, "A"), _masks(ctx, on_b, dense_b, "B")
    configs, role = [], {}
    for s, ma, mb in zip(cfg.seed_list(), masks_a, masks_b):
        base = dict(seed=s, group=f"{tag}-B")
        for name, init, d in (("transfer", "ticket", ma), ("own", "ticket", mb),
                              *((c, c, ma) for c in cfg.controls)):
            c = on_b.run_config(init=init, pruned_dir=d, label=f"{name} s{s}", **base)
            configs.append(c)
            role[c.run_id] = name
    if not train_round(ctx, 1, "tickets on B", configs, 0.5, "training the tickets on B"):
        return {"config": cfg.to_dict(), "rows": []}
    runs = role_runs(ctx.store, configs, dense_b, cfg.target_frac, key=lambda c: role[c.run_id])
    runs["dense"] = dense_entry(ctx.store, dense_b, cfg.target_frac)
    rows = [{"row": name, "title": ROWS[name], **runs[name]} for name in ROWS if name in runs]
    doc = clean({"config": cfg.to_dict(), "source": cfg.train.dataset, "target": cfg.target_dataset,
                 "sparsity": cfg.sparsity, "rows": rows, "dense_source": dense_entry(ctx.store, dense_a, cfg.target_frac),
                 "masks": {"A": masks_a, "B": masks_b}})
    ctx.emit("transfer", doc)
    ctx.progress(1.0, "done")
    return doc

