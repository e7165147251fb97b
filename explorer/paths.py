"""Every place on disk the explorer reads or writes, in one module (open_lth's `paths.py`).

All of it lives under the data folder: `$EXPLORER_DATA_DIR`, or `./data` when the variable
is unset or empty. Nothing else in the library reads the variable or builds these paths.

    DATA/runs.sqlite3              the run store (SQLite, WAL)
    DATA/checkpoints/RUN/step_K.safetensors   rewind checkpoints of dense runs
    DATA/exports/ID/               pruned-model exports (spec.json, mask, weights, ONNX)
    DATA/jobs/ID/                  work folders of background jobs (kept across attempts)
    DATA/datasets/                 cached generated datasets (MNIST-1D)
    DATA/models/                   user model files the app may import (the allow-list)
    DATA/links/                    long shared-link states, by content hash
    DATA/graphs/KEY.json           traced op graphs of user model files (JSON, our own data)
    DATA/class/secret.key, roster.sqlite3   a class server's signing key and its students
    DATA/worker.lock, worker.log   the local worker's lock and log

    >>> import os
    >>> os.environ["EXPLORER_DATA_DIR"] = ""
    >>> data_dir().as_posix(), checkpoint(checkpoints(), "abc", 3).as_posix()
    ('data', 'data/checkpoints/abc/step_3.safetensors')
    >>> del os.environ["EXPLORER_DATA_DIR"]
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "EXPLORER_DATA_DIR"
DEFAULT = "data"


class PathError(ValueError):
    """A data folder that cannot be used (a file in its place, no permission); says which path and the fix."""


def data_dir() -> Path:
    """The data folder: `$EXPLORER_DATA_DIR`, or `./data` when that is unset or empty."""
    return Path(os.environ.get(ENV) or DEFAULT)


def ensure_dir(path: str | Path) -> Path:
    """Create `path` (and parents) if needed; `PathError` when a file stands in the way or it is not writable."""
    p = Path(path)
    for q in [p, *p.parents]:
        if q.exists() and not q.is_dir():
            raise PathError(f"{q} is a file, but the explorer needs a folder there for {p}; move the file away "
                            f"or point {ENV} at another folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PathError(f"cannot create {p}: {e.strerror}; point {ENV} at a writable folder") from e
    return p


def runs_db(root: str | Path | None = None) -> Path:
    return Path(root or data_dir()) / "runs.sqlite3"


def checkpoints(root: str | Path | None = None) -> Path:
    return Path(root or data_dir()) / "checkpoints"


def checkpoint(folder: str | Path, run_id: str, step: int) -> Path:
    """The rewind checkpoint of run `run_id` at optimiser step `step` (0 = its initialisation), in the
    checkpoints `folder` (`checkpoints(root)`; a Ray task is handed the driver's)."""
    return Path(folder) / run_id / f"step_{int(step)}.safetensors"


def exports(root: str | Path | None = None) -> Path:
    return Path(root or data_dir()) / "exports"


def jobs(root: str | Path | None = None) -> Path:
    """Work folders of background jobs (one per job id, kept across attempts so a job can resume)."""
    return Path(root or data_dir()) / "jobs"


def datasets(root: str | Path | None = None) -> Path:
    return Path(root or data_dir()) / "datasets"


def user_models(root: str | Path | None = None) -> Path:
    return Path(root or data_dir()) / "models"


def links(root: str | Path | None = None) -> Path:
    return Path(root or data_dir()) / "links"


def graphs(root: str | Path | None = None) -> Path:
    """Traced op graphs of user model files, one JSON document per (file content, class, granularity)."""
    return Path(root or data_dir()) / "graphs"


def worker_lock(root: str | Path | None = None) -> Path:
    return Path(root or data_dir()) / "worker.lock"


def worker_log(root: str | Path | None = None) -> Path:
    return Path(root or data_dir()) / "worker.log"


def class_folder(root: str | Path | None = None) -> Path:
    """A class server's own files: the key that signs students' identities, and the roster."""
    return Path(root or data_dir()) / "class"


def class_secret(root: str | Path | None = None) -> Path:
    return class_folder(root) / "secret.key"


def roster_db(root: str | Path | None = None) -> Path:
    return class_folder(root) / "roster.sqlite3"
