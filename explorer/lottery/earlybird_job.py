"""The early-bird experiment, as a background job (docs/science.md §6).

1. Train the dense network once per seed with the `EarlyBird` callback watching its masks and
   activation codes; every evaluation streams as an `eb` frame (the page's heatmap grows).
2. Cut the early-bird ticket — the mask at the main ratio when it was drawn — and, to compare,
   the same criterion's mask at the end of dense training (the one-shot ticket of fully trained
   weights at the same sparsity).
3. Retrain both (each: the dense init with the mask) and report their test accuracy beside the
   dense network's, and `compute_fraction`: the share of the dense training steps the early-bird
   search needed (`draw_step / steps`; 1.0 when no ticket was drawn and the end mask stands in).

What each seed's search found is written to the work folder when its run ends, so a resumed job
keeps it.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from explorer.lottery.earlybird import EarlyBird
from explorer.lottery.experiment import EarlyBirdConfig
from explorer.lottery.rounds import clean, dense_configs, role_runs, train_round
from explorer.pruning.export import write_mask
from explorer.training.loop import Callback, LoopState
from explorer.training.kinds import train_runs


class Keep(Callback):
    """At the end of a search, write what `eb` found to `folder` (json + both masks)."""

    def __init__(self, eb: EarlyBird, folder: Path, spec: str, seed: int):
        self.eb, self.folder, self.spec, self.seed = eb, folder, spec, seed

    def on_end(self, s: LoopState) -> None:
        eb = self.eb
        if s.stop is not None or eb.final is None:
            return
        drawn = eb.ratio in eb.draws
        eb_mask = eb.masks[eb.ratio] if drawn else eb.final
        write_mask(self.folder / "earlybird", eb_mask, spec=self.spec, seed=self.seed,
                   extra={"lottery": {"draw_step": eb.draws.get(eb.ratio)}})
        write_mask(self.folder / "end", eb.final, spec=self.spec, seed=self.seed, extra={"lottery": {"step": s.step}})
        doc = {"kind": eb.kind, "steps": eb.steps, "draws": {str(r): st for r, st in eb.draws.items()},
               "draw_step": eb.draws.get(eb.ratio), "spline_draw_step": eb.spline_draw,
               "spline_distances": eb.spline.history, "distances": eb.matrix(), "records": eb.records,
               "sparsity": eb_mask.sparsity}
        (self.folder / "search.json").write_text(json.dumps(clean(doc)))


def _probe(cfg: EarlyBirdConfig) -> Any:
    from explorer import models
    from explorer.data import load_dataset

    shape = models.load_cached(cfg.train.model).info.input_shape
    return load_dataset(cfg.train.dataset).reshaped(shape).x_test[:cfg.probe_size]


def run_earlybird(ctx: Any, cfg: EarlyBirdConfig) -> dict[str, Any]:
    """Search, cut and retrain (see the module doc); returns the experiment document."""
    cfg = cfg.resolved()
    tag = f"eb-{cfg.id[:6]}"
    dense = [c.replace(group=tag) for c in dense_configs(cfg)]
    probe = _probe(cfg)

    def callbacks(c: Any) -> list[Callback]:
        eb = EarlyBird(cfg.all_ratios(), cfg.ratio, cfg.train.eval_every, probe, window=cfg.window,
                       threshold=cfg.threshold, spline_window=cfg.spline_window,
                       spline_threshold=cfg.spline_threshold, l1_gamma=cfg.l1_gamma,
                       on_eval=lambda rec: ctx.emit("eb", {"seed": c.seed, **clean(rec)}))
        return [eb, Keep(eb, Path(ctx.workdir) / f"s{c.seed}", cfg.train.model, c.seed)]

    ctx.emit("round_start", {"round": 0, "label": "dense search", "run_ids": [c.run_id for c in dense]})
    ctx.progress(0.0, "training the dense network, watching its masks")
    train_runs(ctx, dense, callbacks=callbacks)
    if ctx.should_stop():
        return {"config": cfg.to_dict()}
    found = []
    for s in cfg.seed_list():
        f = Path(ctx.workdir) / f"s{s}" / "search.json"
        if not f.exists():
            raise RuntimeError(f"the early-bird search of seed {s} left no record in {f.parent}; run the job again")
        found.append(json.loads(f.read_text()))
    configs, role = [], {}
    for s in cfg.seed_list():
        for name in ("earlybird", "end"):
            c = cfg.run_config(init="ticket", seed=s, pruned_dir=str(Path(ctx.workdir) / f"s{s}" / name), group=tag,
                               label=f"{name} ticket s{s}")
            configs.append(c)
            role[c.run_id] = name
    if not train_round(ctx, 1, "retraining the tickets", configs, 0.5,
                       "retraining the early-bird and end-of-training tickets"):
        return {"config": cfg.to_dict()}
    runs = role_runs(ctx.store, configs, dense, cfg.target_frac, key=lambda c: role[c.run_id])
    dense_runs = role_runs(ctx.store, dense, dense, cfg.target_frac)["dense"]

    def mean(xs: list[Any]) -> float | None:
        xs = [x for x in xs if x is not None]
        return statistics.fmean(xs) if xs else None

    first = found[0]
    draws = [f["draw_step"] for f in found]
    fractions = [(d if d is not None else cfg.train.steps) / cfg.train.steps for d in draws]
    doc = {"config": cfg.to_dict(), "criterion": first["kind"], "ratio": cfg.ratio, "steps": first["steps"],
           "draw_step": first["draw_step"], "draws": first["draws"], "distances": first["distances"],
           "spline_draw_step": first["spline_draw_step"], "spline_distances": first["spline_distances"],
           "ticket_test_acc": mean(runs["earlybird"]["test_acc"]), "end_ticket_test_acc": mean(runs["end"]["test_acc"]),
           "dense_test_acc": mean(dense_runs["test_acc"]), "compute_fraction": mean(fractions),
           "sparsity": first["sparsity"], "runs": {**runs, "dense": dense_runs},
           "per_seed": [{"seed": s, "draw_step": f["draw_step"], "spline_draw_step": f["spline_draw_step"]}
                        for s, f in zip(cfg.seed_list(), found)]}
    ctx.emit("earlybird", clean(doc))
    ctx.progress(1.0, "done")
    return clean(doc)


