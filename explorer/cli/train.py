"""`python -m explorer train MODEL ...`: train one run in-process (default) or via the worker."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

HELP = "train a model (dense, or a pruned ticket/control) and print final metrics and steps/s"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from explorer.config.forms import add_arguments as add_settings
    from explorer.training.config import RunConfig, field_help

    add_settings(p, RunConfig, positional=("model",), flags={"pruned_dir": "--mask"},
                 defaults={"dataset": None, "init": None},
                 helps={"dataset": field_help("dataset") + " (default: the model's own)",
                        "init": field_help("init") + " (default: ticket with --mask, else dense)"})
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
    from explorer.cli.options import model
    from explorer.config.forms import from_args
    from explorer.training.config import RunConfig

    a.model = model(a.model, "train", runs=True)  # your own file: runs use a content-hashed copy in the models folder
    dataset = a.dataset
    if dataset is None:
        dataset = models.load(a.model).info.dataset or ""
        if not dataset:
            raise ValueError(f"model {a.model!r} has no default dataset; pass --dataset NAME or a .csv/.npz path")
    return from_args(RunConfig, a, dataset=dataset, init=a.init or ("ticket" if a.pruned_dir else "dense"))


def run(a: argparse.Namespace) -> int:
    """Train in this process (the inline backend: the run is a job of the store, executed here as the worker
    would) or, with --submit, queue it on a backend; --no-store keeps the run in a scratch store instead."""
    import tempfile

    from explorer.jobs.backends import InlineBackend, get_backend
    from explorer.lottery.verdict import iterations_to_target
    from explorer.training.kinds import run_submission
    from explorer.training.store import RunStore

    cfg = _config(a)
    scratch = tempfile.TemporaryDirectory(prefix="explorer-train-") if a.no_store and not a.submit else None
    if scratch:  # the run is not recorded, but it rewinds to (and saves) checkpoints of the data folder's runs
        from explorer import paths

        paths.ensure_dir(paths.checkpoints())
        (Path(scratch.name) / "checkpoints").symlink_to(paths.checkpoints().resolve(), target_is_directory=True)
    store = RunStore(scratch.name if scratch else None)
    out: dict = {"run_id": cfg.run_id, "config": cfg.to_dict()}
    backend = get_backend(a.backend, store) if a.submit else InlineBackend(store)
    rid = backend.submit(run_submission(cfg))
    if a.submit:
        out.update(submitted=True, status=store.get(rid).status)
        while a.wait and not store.get(rid).done:
            time.sleep(0.5)
            backend.poll()
    r = store.get(rid)
    if not a.submit and r.status == "failed":  # a config that cannot run: one error line, as any bad input
        raise ValueError((r.error or "the run failed").split("\n")[0])
    if a.wait or not a.submit:
        out.update({**(r.summary or {}), "status": r.status, "error": r.error})
    if not a.submit:
        out.update(recorded=scratch is None)
    curve = [(m["step"], m["acc"]) for m in store.metrics(rid, split="train")]

    if a.dense_reference:
        st = RunStore()
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
