"""Results shipped with the lessons (docs/science.md §4, §7): the lottery lessons open on finished
experiments instead of an empty page, because the experiments they discuss take minutes to run.

The shipped set is real output of this code: `python scripts/lesson_results.py` runs each
experiment of `EXPERIMENTS` as the worker would (`InlineBackend`, CPU) in a scratch data folder and
`dump`s its job, runs, metrics and work-folder files (masks bit-packed) into `SHIPPED`, a gzipped
JSON file of the repository. `install(store)` puts them into a run store the first time a page
needs them — as if the job had run in that data folder: masks written where the job writes them,
`pruned_dir`s and the documents' mask folders pointing there, run ids recomputed from the moved
configs. Every shipped job and run is marked (worker `SHIPPED_WORKER`, the job's note `NOTE`) so
the pages label it; a job the user starts has other settings (its device is "auto", the shipped
ones ran on "cpu"), hence other job, group and run ids, so it never mixes with a shipped one.

    >>> sorted(EXPERIMENTS)
    ['lottery.imp', 'lottery.sweep']
    >>> EXPERIMENTS["lottery.imp"].schedule()[-1] == 1 - 0.8 ** 5
    True
"""

from __future__ import annotations

import base64
import gzip
import json
import time
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from explorer.lottery.experiment import LotteryConfig

SHIPPED = Path(__file__).with_name("results.json.gz")
COMMAND = "python scripts/lesson_results.py"
NOTE = f"shipped example result, computed with `{COMMAND}`"
SHIPPED_WORKER = "shipped"
FORMAT = "explorer-lesson-results"
RUN_FIELDS = ("status", "device", "torch_version", "created", "started", "finished", "step", "summary")

_NOTEBOOK = dict(model="lottery_mlp", dataset="mnist1d", steps=1501, lr=0.02, prune_biases=True, device="cpu")
EXPERIMENTS: dict[str, LotteryConfig] = {  # what lessons 5 and 8 open on (the page's form for them, on the CPU)
    "lottery.sweep": LotteryConfig.of(**_NOTEBOOK, scope="layer", sweep=(0.5, 0.8, 0.9, 0.95, 0.97, 0.99)),
    "lottery.imp": LotteryConfig.of(**_NOTEBOOK, scope="global", rounds=5, rate=0.2),
}


def group(kind: str, r: int) -> str:
    """The comparison group of round `r` of the shipped experiment `kind` (as
    `explorer.lottery.rounds.group_of` names it; a test holds the two equal).

    >>> group("lottery.sweep", 3).startswith("lth-"), group("lottery.sweep", 3).endswith("-r3")
    (True, True)
    """
    return f"lth-{EXPERIMENTS[kind].id[:6]}-r{r}"


class ResultsError(ValueError):
    """A shipped result file that cannot be read or installed; says which and how to rebuild it."""


# ---- writing (scripts/lesson_results.py) ------------------------------------------------------

def pack_mask(path: Path) -> dict[str, Any]:
    import numpy as np

    from explorer.pruning.mask import Mask

    out = {}
    for k, v in Mask.load(path).items():
        bits = np.packbits(v.numpy().astype(bool).ravel())
        out[k] = {"shape": list(v.shape), "bits": base64.b64encode(zlib.compress(bits.tobytes(), 9)).decode()}
    return out


def unpack_mask(packed: Mapping[str, Any]) -> Any:
    import numpy as np
    import torch

    from explorer.pruning.mask import Mask

    tensors = {}
    for k, d in packed.items():
        n = int(np.prod(d["shape"])) if d["shape"] else 1
        bits = np.unpackbits(np.frombuffer(zlib.decompress(base64.b64decode(d["bits"])), np.uint8))[:n]
        tensors[k] = torch.from_numpy(bits.astype(np.float32).reshape(d["shape"]))
    return Mask(tensors)


def _files(workdir: Path) -> dict[str, Any]:
    """A job's work folder: JSON files as values, masks bit-packed; anything else is refused."""
    files: dict[str, Any] = {}
    for p in sorted(workdir.rglob("*")):
        if p.is_dir():
            continue
        rel = p.relative_to(workdir).as_posix()
        if p.suffix == ".json":
            files[rel] = {"json": json.loads(p.read_text())}
        elif p.name == "mask.safetensors":
            files[rel] = {"mask": pack_mask(p)}
        else:
            raise ResultsError(f"{p}: only JSON files and masks can be shipped; the job wrote something new")
    return files


def _metrics(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {"step": [], "split": [], "loss": [], "acc": [], "wall_time": []}
    for r in rows:
        cols["step"].append(r["step"])
        cols["split"].append(r["split"])
        cols["loss"].append(None if r["loss"] is None else float(f"{r['loss']:.7g}"))
        cols["acc"].append(None if r["acc"] is None else float(f"{r['acc']:.7g}"))
        cols["wall_time"].append(None if r["wall_time"] is None else round(r["wall_time"], 3))
    return cols


def run_ids_of(doc: Any) -> set[str]:
    """Every run id a job's document names (its "run_ids" lists, at any depth).

    >>> sorted(run_ids_of({"dense": {"run_ids": ["a"]}, "rounds": [{"runs": {"ticket": {"run_ids": ["b"]}}}]}))
    ['a', 'b']
    """
    if isinstance(doc, Mapping):
        ids = set(doc.get("run_ids") or []) if isinstance(doc.get("run_ids"), list) else set()
        return ids.union(*(run_ids_of(v) for k, v in doc.items() if k != "run_ids"))
    if isinstance(doc, list):
        return set().union(*(run_ids_of(v) for v in doc))
    return set()


def dump(store: Any, job_ids: Iterable[str], made: Mapping[str, Any]) -> dict[str, Any]:
    """The finished jobs `job_ids` of `store`, their runs and metrics and their work folders, as one
    JSON document (`made`: how and when it was computed)."""
    from explorer import paths

    jobs, runs = [], {}
    for jid in job_ids:
        job = store.get_job(jid)
        if job.status != "done":
            raise ResultsError(f"job {jid} ended {job.status} ({job.error}); only finished jobs are shipped")
        jobs.append({"id": job.id, "kind": job.kind, "config": job.config, "result": job.result,
                     "created": job.created, "started": job.started, "finished": job.finished,
                     "files": _files(paths.jobs(store.dir) / job.id)})
        for rid in sorted(run_ids_of(job.result)):
            r = store.get(rid)
            runs[rid] = {"config": r.config.to_dict(), **{k: getattr(r, k) for k in RUN_FIELDS},
                         "metrics": _metrics(store.metrics(rid))}
    return {"format": FORMAT, "version": 1, "command": COMMAND, "made": dict(made),
            "root": str(Path(store.dir).resolve()), "jobs": jobs, "runs": [{"id": k, **v} for k, v in runs.items()]}


def write(doc: Mapping[str, Any], path: str | Path = SHIPPED) -> Path:
    path = Path(path)
    path.write_bytes(gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), 9, mtime=0))
    return path


def read(path: str | Path = SHIPPED) -> dict[str, Any]:
    """The shipped document (`ResultsError` naming the file and the command that rebuilds it)."""
    try:
        doc = json.loads(gzip.decompress(Path(path).read_bytes()))
    except (OSError, ValueError, EOFError) as e:
        raise ResultsError(f"the shipped lesson results {path} cannot be read ({e}); rebuild them with "
                           f"`{COMMAND}`") from e
    if doc.get("format") != FORMAT or doc.get("version") != 1:
        raise ResultsError(f"{path} is not a version-1 {FORMAT} file; rebuild it with `{COMMAND}`")
    return doc


# ---- installing (the pages, on first need) ---------------------------------------------------

def _moved(x: Any, old: str, new: str, ids: Mapping[str, str]) -> Any:
    """`x` with paths under `old` moved under `new` and run ids renamed by `ids` (at any depth)."""
    if isinstance(x, str):
        if x in ids:
            return ids[x]
        return new + x[len(old):] if x == old or x.startswith(old + "/") else x
    if isinstance(x, Mapping):
        return {k: _moved(v, old, new, ids) for k, v in x.items()}
    if isinstance(x, list):
        return [_moved(v, old, new, ids) for v in x]
    return x


def _renamed(doc: Mapping[str, Any], root: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Old run id -> the id its moved config hashes to, and the moved run configs (by old id)."""
    from explorer.training.config import RunConfig

    ids, configs = {}, {}
    for r in doc["runs"]:
        cfg = RunConfig.from_dict(_moved(r["config"], doc["root"], root, {}))
        ids[r["id"]], configs[r["id"]] = cfg.run_id, cfg
    return ids, configs


def _write_files(workdir: Path, files: Mapping[str, Any], old: str, new: str, ids: Mapping[str, str]) -> None:
    from explorer import paths

    for rel, f in files.items():
        p = workdir / rel
        paths.ensure_dir(p.parent)
        tmp = p.with_name(f".{p.name}.{time.time_ns()}.tmp")  # atomic: two sessions may install at once
        if "json" in f:
            tmp.write_text(json.dumps(_moved(f["json"], old, new, ids), indent=1))
        else:
            unpack_mask(f["mask"]).save(tmp)
        tmp.replace(p)


def install(store: Any, doc: Mapping[str, Any] | None = None) -> list[str]:
    """Put the shipped jobs (`doc`, default the repository's `SHIPPED`) into `store` unless they are
    there; returns the ids of the jobs installed now. Idempotent and safe when two sessions call it."""
    from explorer import paths
    from explorer.jobs.kinds import check
    from explorer.jobs.store import job_id
    from explorer.lottery import kinds  # noqa: F401 - registers the kinds the shipped jobs are of

    have = {j.id for j in store.list_jobs()}
    doc = doc if doc is not None else read()
    todo = [j for j in doc["jobs"] if j["id"] not in have]
    if not todo:
        return []
    root = str(Path(store.dir).resolve())
    ids, configs = _renamed(doc, root)
    for j in todo:
        if job_id(j["kind"], j["config"]) != j["id"]:
            raise ResultsError(f"shipped job {j['id']} does not hash to its config; rebuild with `{COMMAND}`")
        _write_files(paths.jobs(store.dir) / j["id"], j["files"], doc["root"], root, ids)
    for r in doc["runs"]:  # the runs first: a page shows a job only once its row is there
        m = r["metrics"]
        store.restore_run(configs[r["id"]], {k: r[k] for k in RUN_FIELDS}, SHIPPED_WORKER,
                          [dict(zip(m, row)) for row in zip(*m.values())])
    for j in todo:
        store.restore_job({"id": j["id"], "kind": j["kind"], "module": check(j["kind"]).module, "config": j["config"],
                           "status": "done", "result": _moved(j["result"], doc["root"], root, ids), "note": NOTE,
                           "worker_id": SHIPPED_WORKER, **{k: j[k] for k in ("created", "started", "finished")}})
    return [j["id"] for j in todo]


def is_shipped(row: Any) -> bool:
    """A job or run of the store that came with the app (not one this user ran)."""
    return getattr(row, "worker_id", None) == SHIPPED_WORKER
