"""The prune pipeline as a background job: for a model big enough that compaction and timing would
freeze a page (an op-level torchvision network), the page submits this job and draws its progress.

The config names everything the pipeline needs and nothing else — the model spec and seed, the
granularity, and either the selection's JSON or a criterion's settings — so the job is the same
pipeline the CLI runs (`pipeline.run`), in the worker.

    >>> import tempfile
    >>> from explorer.jobs.backends import InlineBackend
    >>> job = InlineBackend(tempfile.mkdtemp()).run(KIND, {"spec": "moons_mlp", "seed": 0, "granularity": "unit",
    ...     "out": tempfile.mkdtemp(), "proposal": {"criterion": "magnitude", "sparsity": 0.5, "target": "units"},
    ...     "repeats": 3, "onnx": False})
    >>> job.status, job.result["params"]["compacted"] < job.result["params"]["dense"]
    ('done', True)
"""

from __future__ import annotations

from typing import Any

from explorer.jobs.kinds import job_kind

KIND = "prune"


@job_kind(KIND)
def run_job(ctx: Any) -> dict[str, Any]:
    from explorer import models
    from explorer.graph import build_dag
    from explorer.pruning.pipeline import run
    from explorer.pruning.selection import Selection

    c = ctx.config
    lm = models.load_cached(c["spec"], int(c.get("seed", 0)))
    ctx.progress(0.02, "tracing the graph")
    dag = build_dag(lm, granularity=c["granularity"])
    selection, proposal = None, None
    if c.get("selection"):
        selection = Selection.from_json(c["selection"])
        selection.check_against(dag)
    else:
        from explorer.pruning.criteria import propose

        p = dict(c["proposal"])
        ctx.progress(0.05, f"scoring with {p['criterion']}")
        proposal = propose(lm, p.pop("criterion"), float(p.pop("sparsity")), dag=dag, seed=int(c.get("seed", 0)), **p)

    def progress(what: str, frac: float) -> None:
        ctx.progress(0.1 + 0.9 * frac, what)
        ctx.emit("stage", {"what": what, "frac": frac})

    result = run(lm, dag, out=c["out"], spec=c["spec"], seed=int(c.get("seed", 0)), selection=selection,
                 proposal=proposal, repeats=int(c.get("repeats", 10)), onnx=bool(c.get("onnx", True)),
                 progress=progress)
    return result.summary
