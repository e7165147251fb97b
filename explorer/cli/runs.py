"""`python -m explorer runs list|compare|export|cancel|delete|repair`: the run store from the command line.

`compare GROUP` prints a comparison group's table and its weak lottery-ticket verdict, the one the
Train page shows: every control it uses is named with its size (parameters kept of the total), and a
control whose size is not the ticket's is named as such and left out.

`repair` moves a damaged store file aside (kept as `runs.sqlite3.damaged-<time>`, nothing is
deleted) so that the next command starts a fresh store."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys

HELP = ("list runs, compare a group (table and verdict), export a run's metrics (csv/json), cancel or delete a run, "
        "repair a damaged store")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.set_defaults(action="list", group=None, json=False)  # bare `runs` lists
    sub = p.add_subparsers(dest="action", required=False)
    ls = sub.add_parser("list", help="all runs, oldest first")
    ls.add_argument("--group", default=None)
    ls.add_argument("--json", action="store_true")
    cm = sub.add_parser("compare", help="a comparison group's table and weak lottery-ticket verdict")
    cm.add_argument("group", help="the group id (see `runs list`)")
    cm.add_argument("--target", type=float, default=0.99, help="fraction of the dense run's best train accuracy")
    cm.add_argument("--json", action="store_true")
    ex = sub.add_parser("export", help="a run's metrics")
    ex.add_argument("run_id")
    ex.add_argument("--format", choices=["csv", "json"], default="csv")
    ex.add_argument("--out", default="-", help="file to write (default stdout)")
    ca = sub.add_parser("cancel", help="cancel a queued or running run")
    ca.add_argument("run_id")
    de = sub.add_parser("delete", help="delete a run and its metrics (e.g. a row that can no longer be read)")
    de.add_argument("run_id")
    sub.add_parser("repair", help="move a damaged store file aside and start a fresh store")


def metrics_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["run_id", "step", "split", "loss", "acc", "wall_time"], extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def run(a: argparse.Namespace) -> int:
    from explorer import paths
    from explorer.jobs.database import StoreDamaged, move_aside
    from explorer.training.store import RunStore

    if a.action == "repair":
        try:
            RunStore().list_runs()
            print(f"{paths.runs_db()} reads fine; nothing to repair")
        except StoreDamaged as e:
            kept = move_aside(e.path)
            print(f"moved the damaged store aside to {kept}; the next command starts a fresh store")
        return 0
    store = RunStore()
    store.reap()
    if a.action in (None, "list"):
        runs = store.list_runs(group=a.group)
        if a.json:
            print(json.dumps([{"id": r.id, "status": r.status, "group": r.group, "label": r.label, "step": r.step,
                               "progress": r.progress, "device": r.device, "torch_version": r.torch_version,
                               "seed": r.seed, "error": r.error, "created": r.created, "started": r.started,
                               "finished": r.finished, "config": r.config.to_dict(), "summary": r.summary}
                              for r in runs], indent=2))
        else:
            print(f"{'id':12}  {'status':9}  {'progress':>8}  {'group':18}  label")
            for r in runs:
                print(f"{r.id:12}  {r.status:9}  {100 * r.progress:7.0f}%  {r.group[:18]:18}  {r.label}")
        return 0
    if a.action == "compare":
        return compare(store, a)
    if a.action == "export":
        r = store.get(a.run_id)
        rows = [{"run_id": r.id, **m} for m in store.metrics(r.id)]
        text = metrics_csv(rows) if a.format == "csv" else json.dumps(
            {"run_id": r.id, "status": r.status, "config": r.config.to_dict(), "metrics": rows}, indent=2)
        if a.out == "-":
            sys.stdout.write(text)
        else:
            with open(a.out, "w") as f:
                f.write(text)
        return 0
    if a.action == "delete":
        store.delete(a.run_id)
        print(f"run {a.run_id}: deleted")
        return 0
    status = store.request_cancel(a.run_id)
    print(f"run {a.run_id}: {status}" + (" (cancel requested; the worker stops it shortly)" if status == "running" else ""))
    return 0


def compare(store, a: argparse.Namespace) -> int:  # noqa: ANN001 - a RunStore
    """The group's comparison (`lottery.verdict.compare`): its table, its controls with their sizes, the verdict."""
    from explorer.cli import CliError
    from explorer.lottery.verdict import compare as compare_runs
    from explorer.lottery.rounds import comparison_runs
    from explorer.lottery.verdict import facts

    runs = comparison_runs(store, a.group)
    if not runs:
        raise CliError(f"no runs in group {a.group!r}; list the groups with `python -m explorer runs list`")
    c = compare_runs([facts(r, store.metrics(r.id)) for r in runs], a.target)
    if a.json:
        print(json.dumps({"group": a.group, "target_frac": c.target_frac, "rows": c.records(),
                          "controls": c.controls(), "verdict": c.verdict}, indent=2, default=str))
        return 0
    for rec in c.records():
        print("  ".join(f"{k}: {v}" for k, v in rec.items()))
    print(f"verdict: {c.verdict}")
    return 0
