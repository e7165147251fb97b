"""Training as jobs: a run is a job of kind `train` (its id is its config's hash, `RunConfig.run_id`), and
K runs trained at once with `torch.vmap` are a job of kind `train.batch` whose children are the runs —
each keeps its own metrics, status and summary under its own id.

- `run_submission(cfg)`, `batch_submission(configs)`: what to queue (`explorer.jobs.store.Submission`);
- `submit_runs(backend, configs, batched)`: a page's or the CLI's way to queue runs;
- `train_runs(ctx, configs)`: a job's way to train runs as its children (a lottery round, a grid), here
  in its own process, batched where they can share a job; runs already done are not trained again.

    >>> import tempfile
    >>> from explorer.jobs.backends import InlineBackend
    >>> from explorer.training.store import RunStore
    >>> be = InlineBackend(RunStore(tempfile.mkdtemp()))
    >>> cfgs = [RunConfig(model="moons_mlp", dataset="moons", steps=10, eval_every=5, device="cpu", seed=s) for s in (0, 1)]
    >>> ids = submit_runs(be, cfgs, batched=True)
    >>> [be.store.get(r).status for r in ids], be.store.get(ids[0]).parent is not None
    (['done', 'done'], True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from explorer import paths
from explorer.jobs import kinds
from explorer.jobs.context import JobContext, Stop, beating, failure_message
from explorer.jobs.store import Submission
from explorer.training.config import RunConfig

TRAIN, BATCH = "train", "train.batch"


@kinds.job_kind(TRAIN, attempts=1, portable=True)
def train(ctx: JobContext) -> Stop:
    """One run (`runner.execute`): metrics and progress as it trains, its summary as the job's result, and
    its end — done, diverged or cancelled — as the job's. In-process loop callbacks come from `ctx.local`."""
    from explorer.training.runner import execute, stop_message

    cfg = RunConfig.from_dict(ctx.config)
    r = execute(cfg, _sink(ctx, cfg.steps), ctx.should_stop, checkpoint_root=paths.checkpoints(ctx.data_dir),
                on_start=ctx.started, extra_callbacks=ctx.local.get("callbacks", ()))
    return Stop(r.status, r.to_dict(), stop_message(r.status, r.steps_done, r.stop_reason))


@kinds.job_kind(BATCH, attempts=1, portable=True)
def train_batch(ctx: JobContext) -> dict[str, Any]:
    """Its queued children (runs) trained as one vmapped job (`sweep.execute_sweep`), each ended with its own
    summary; a crash fails them all with the reason. On a class server it first takes in other students'
    queued batched jobs that can share it (`coalesce`): their runs train here too."""
    from explorer.training import coalesce
    from explorer.training.interleave import Pause
    from explorer.training.runner import stop_message
    from explorer.training.sweep import execute_sweep
    from explorer.training.twins import Fan, Twins, share_checkpoints

    runs = {k.job_id: k for k in ctx.claim_children()}
    if not runs:
        return {"runs": {}}
    owner = dict.fromkeys(runs, ctx)  # run id -> the job it belongs to (its stop check)
    adopted = coalesce.adopt(ctx, [RunConfig.from_dict(k.config) for k in runs.values()], BATCH) \
        if coalesce.enabled(ctx) else []
    for parent, kids in adopted:
        runs.update({k.job_id: k for k in kids})
        owner.update(dict.fromkeys((k.job_id for k in kids), parent))
    configs = {rid: RunConfig.from_dict(k.config) for rid, k in runs.items()}
    twins = Twins(configs)  # runs alike but for their group train once (`training.twins`)
    steps = next(iter(configs.values())).steps
    sinks = {rid: _sink(k, steps) for rid, k in runs.items()}
    fan = Fan(twins, lambda rid, rows: sinks[rid](rows), lambda rid: runs[rid].should_stop() or owner[rid].should_stop(),
              lambda rid, dev, tv: runs[rid].started(dev, tv))
    root = paths.checkpoints(ctx.data_dir)
    # on a class server, a late student's short job trains in a pause of this one (`training.interleave`)
    pause = Pause(ctx, list(runs), steps, kinds=(BATCH, TRAIN)) if coalesce.enabled(ctx) else None
    sink = fan.sink if pause is None else pause.wrap(fan.sink)
    with beating(ctx.store, [*runs, *(p.job_id for p, _ in adopted)], ctx.worker_id):
        try:
            trained = execute_sweep([configs[rid] for rid in twins.trained], sink, fan.should_stop,
                                    checkpoint_root=root, on_start=fan.on_start)
            share_checkpoints(twins, root)
        except Exception as e:
            for k in runs.values():
                k.end(Stop("failed", None, failure_message(e)))
            coalesce.end_adopted(adopted, ctx.job_id, error=failure_message(e))
            raise
        results = fan.results(trained)
        for rid, r in results.items():
            runs[rid].end(Stop(r.status, r.to_dict(), stop_message(r.status, r.steps_done, r.stop_reason)))
    coalesce.end_adopted(adopted, ctx.job_id, {rid: r.status for rid, r in results.items()})
    return {"runs": {rid: r.status for rid, r in results.items() if owner[rid] is ctx},
            **({"trained_with": [p.job_id for p, _ in adopted]} if adopted else {}),
            **({"trained_once_for_twins": twins.shared} if twins.shared else {}),
            **({"paused_for": pause.let_in} if pause is not None and pause.let_in else {})}


def _sink(ctx: JobContext, steps: int) -> Callable[[Sequence[dict[str, Any]]], None]:
    def sink(rows: Sequence[dict[str, Any]]) -> None:
        if ctx.log(rows):
            step = max(r["step"] for r in rows)
            ctx.progress(min(1.0, step / steps), step=step)
    return sink


def run_submission(cfg: RunConfig, **meta: Any) -> Submission:
    """The `train` job of `cfg`, named by its run id and filed under its group and label."""
    return kinds.submission(TRAIN, cfg, id=cfg.run_id, group=cfg.group, label=cfg.label, seed=cfg.seed, **meta)


def batch_submission(configs: Sequence[RunConfig], **meta: Any) -> Submission:
    """One `train.batch` job with `configs` as its children (raises `BatchedError` when they cannot share it)."""
    from explorer.training.batched import BatchedError
    from explorer.training.sweep import why_not_batched

    reason = why_not_batched(configs)
    if reason is not None:
        raise BatchedError(reason)
    return kinds.submission(BATCH, {"runs": [c.run_id for c in configs]}, group=configs[0].group,
                            label=f"batched job of {len(configs)} runs",
                            children=tuple(run_submission(c) for c in configs), **meta)


def submit_runs(backend: Any, configs: Sequence[RunConfig], batched: bool = False, **meta: Any) -> list[str]:
    """Queue `configs` on `backend`: one `train.batch` job when `batched` (and more than one), else a `train`
    job each. Returns the run ids in order (runs running or done already are not run again)."""
    configs = list(configs)
    if batched and len(configs) > 1:
        backend.submit(batch_submission(configs, **meta))
    else:
        for c in configs:
            backend.submit(run_submission(c, **meta))
    return [c.run_id for c in configs]


def train_runs(ctx: JobContext, configs: Sequence[RunConfig], batched: bool = True,
               callbacks: Callable[[RunConfig], Sequence[Any]] | None = None) -> list[Any]:
    """Train `configs` as children of the job `ctx` runs, in this process: as one batched job where they can
    share it, else one by one. Runs already done (a resumed attempt) are not trained again. `callbacks(config)`
    gives extra loop callbacks for a run (`training.loop.Callback`s, e.g. an early-bird detector); runs with
    them train one by one. Returns one `RunResult` each, in order; none once the job should stop (its runs
    not trained yet were cancelled with it)."""
    from explorer.training.runner import RunResult
    from explorer.training.sweep import batched_blocker

    configs = list(configs)
    todo = [c for c in configs if ctx.store.status(c.run_id) != "done"]
    if todo:
        if batched and callbacks is None and len(todo) > 1 and batched_blocker(todo) is None:
            ctx.wait([ctx.submit(batch_submission(todo))])
        else:
            ctx.wait([ctx.submit(run_submission(c)) for c in todo],
                     {c.run_id: {"callbacks": callbacks(c)} for c in todo} if callbacks is not None else None)
        ctx.wait([c.run_id for c in todo])  # any that another worker was running
    if ctx.should_stop():
        return []
    out = []
    for c in configs:
        job = ctx.store.get_job(c.run_id)
        if job.result is None:
            raise RuntimeError(f"run {c.run_id} ended {job.status}: {job.error or 'no summary'}")
        out.append(RunResult.from_dict(job.result))
    return out
