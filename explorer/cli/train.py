"""`python -m explorer train MODEL ...`: train one run in-process (default) or via the worker."""

from __future__ import annotations

import argparse
import json
import time

HELP = "train a model (dense, or a pruned ticket/control) and print final metrics and steps/s"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from explorer.training.config import field_help

    p.add_argument("model", help=field_help("model"))
    p.add_argument("--dataset", default=None, help=field_help("dataset") + " (default: the model's own)")
    p.add_argument("--steps", type=int, default=1000, help=field_help("steps"))
    p.add_argument("--batch-size", type=int, default=100, help=field_help("batch_size"))
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam", help=field_help("optimizer"))
    p.add_argument("--lr", type=float, default=1e-3, help=field_help("lr"))
    p.add_argument("--momentum", type=float, default=0.9, help=field_help("momentum"))
    p.add_argument("--weight-decay", type=float, default=0.0, help=field_help("weight_decay"))
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant", help=field_help("schedule"))
    p.add_argument("--eval-every", type=int, default=100, help=field_help("eval_every"))
    p.add_argument("--log-every", type=int, default=10, help=field_help("log_every"))
    p.add_argument("--seed", type=int, default=0, help=field_help("seed"))
    p.add_argument("--data-seed", type=int, default=0, help=field_help("data_seed"))
    p.add_argument("--mask", default="", metavar="DIR", help=field_help("pruned_dir"))
    p.add_argument("--init", choices=["dense", "ticket", "reinit", "random", "rewind"], default=None,
                   help="initialisation (default: ticket with --mask, else dense)")
    p.add_argument("--rewind-step", type=int, default=0, help=field_help("rewind_step"))
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto", help=field_help("device"))
    p.add_argument("--group", default="", help=field_help("group"))
    p.add_argument("--label", default="", help=field_help("label"))
    p.add_argument("--dense-reference", default=None, metavar="RUN_ID",
                   help="a dense run in the store: report iterations to reach --target of its best train accuracy")
    p.add_argument("--target", type=float, default=0.99, help="fraction of the reference's best train accuracy")
    p.add_argument("--backend", choices=["local", "ray"], default="local", help="where --submit sends the run")
    p.add_argument("--submit", action="store_true", help="queue the run for the worker instead of training here")
    p.add_argument("--wait", action="store_true", help="with --submit: wait until the run ends")
    p.add_argument("--no-store", action="store_true", help="do not record an in-process run in the run store")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _config(a: argparse.Namespace):
    from explorer import models
    from explorer.models.user_store import adopt
    from explorer.training.config import RunConfig

    if ".py:" in a.model.split("@")[0]:  # your own file: runs use a content-hashed copy in the models folder
        a.model = adopt(a.model)
    dataset = a.dataset
    if dataset is None:
        dataset = models.load(a.model).info.dataset or ""
        if not dataset:
            raise ValueError(f"model {a.model!r} has no default dataset; pass --dataset NAME or a .csv/.npz path")
    init = a.init or ("ticket" if a.mask else "dense")
    return RunConfig(model=a.model, pruned_dir=a.mask, init=init, rewind_step=a.rewind_step, dataset=dataset,
                     optimizer=a.optimizer, lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay,
                     schedule=a.schedule, steps=a.steps, batch_size=a.batch_size, eval_every=a.eval_every,
                     log_every=a.log_every, seed=a.seed, data_seed=a.data_seed, device=a.device, group=a.group,
                     label=a.label)


def run(a: argparse.Namespace) -> int:
    from explorer.lottery.verdict import iterations_to_target
    from explorer.training.store import RunStore

    cfg = _config(a)
    store = None if a.no_store and not a.submit else RunStore()
    out: dict = {"run_id": cfg.run_id, "config": cfg.to_dict()}

    if a.submit:
        from explorer.training.jobs.backend import get_backend

        backend = get_backend(a.backend, store)
        rid = backend.submit([cfg])[0]
        out.update(submitted=True, status=store.get(rid).status)
        if a.wait:
            while not store.get(rid).done:
                time.sleep(0.5)
                backend.poll()
            r = store.get(rid)
            out.update({**(r.summary or {}), "status": r.status, "error": r.error})
        curve = [(m["step"], m["acc"]) for m in store.metrics(rid, split="train")]
    else:
        from explorer.training.runner import execute

        rows: list = []
        recorded = False
        if store is not None:
            rid = store.submit(cfg)
            recorded = store.claim("cli", run_id=rid) is not None  # an existing finished run is not overwritten
        me = "cli"

        def sink(batch):
            rows.extend(batch)
            if recorded:
                store.log_metrics(cfg.run_id, batch, me)
                step = max(r["step"] for r in batch)
                store.heartbeat(cfg.run_id, step=step, progress=min(1.0, step / cfg.steps), worker_id=me)

        try:
            res = execute(cfg, sink, on_start=(lambda d, t: store.set_started(cfg.run_id, d, t)) if recorded else None)
        except BaseException as e:
            if recorded:
                store.finish(cfg.run_id, "cancelled" if isinstance(e, KeyboardInterrupt) else "failed",
                             f"{type(e).__name__}: {e}", worker_id=me)
            raise
        if recorded:
            store.finish(cfg.run_id, res.status, None if res.status == "done" else f"{res.status} at step "
                         f"{res.steps_done}", summary=res.to_dict(), worker_id=me)
        out.update(res.to_dict(), recorded=recorded)
        curve = [(r["step"], r["acc"]) for r in rows if r["split"] == "train"]

    if a.dense_reference:
        st = store or RunStore()
        ref = [m["acc"] for m in st.metrics(a.dense_reference, split="train") if m["acc"] is not None]
        if not ref:
            raise ValueError(f"dense reference {a.dense_reference} has no train metrics; list runs with "
                             "`python -m explorer runs list`")
        ref_curve = [(m["step"], m["acc"]) for m in st.metrics(a.dense_reference, split="train")]
        target = a.target * max(ref)
        out.update(dense_reference=a.dense_reference, target_acc=target,
                   iterations_to_target=iterations_to_target(curve, target),
                   dense_iterations_to_target=iterations_to_target(ref_curve, target))

    if a.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        _print(out)
    return 0 if out.get("status") in ("done", "queued", "running") else 1


def _print(o: dict) -> None:
    print(f"run {o['run_id']}: {o.get('status')}  ({o['config']['model']} / {o['config']['init']} on "
          f"{o['config']['dataset']}, device {o.get('device', '?')})")
    if o.get("params"):
        print(f"  {o['kept_params']:,} of {o['params']:,} parameters kept (sparsity {100 * (o.get('sparsity') or 0):.1f}%)"
              f"; start: {o.get('init_source', '?')}")
    f = o.get("final") or {}
    if f:
        print("  final: " + ", ".join(f"{k} {v:.4f}" for k, v in f.items()))
    if o.get("best_train_acc") is not None:
        print(f"  best train acc {o['best_train_acc']:.4f}, best test acc {o.get('best_test_acc') or float('nan'):.4f}")
    if o.get("steps_per_s"):
        print(f"  {o['steps_done']} steps in {o['wall_time_s']:.2f} s: {o['steps_per_s']:.1f} training steps/s")
    if "iterations_to_target" in o:
        print(f"  iterations to {o['target_acc']:.4f} train acc: {o['iterations_to_target']} "
              f"(dense reference {o['dense_reference']}: {o['dense_iterations_to_target']})")
