"""The models folder: the one place the app and the worker import user code from.

A user model file runs in this project's processes only once it is in `paths.user_models()`:
put there by the user (copying a file, or uploading it on the Architecture page after reading
it), or by a CLI command the user ran on their own file (`adopt`). Each copy is named by its
content hash, so a spec names one exact version of the code. A shared export or a link can
therefore never make the app or the worker import an arbitrary path: `check_allowed` refuses
any file spec outside the folder, and `load_pruned` also checks the recorded hash. On a class
server (`explorer.server.settings.serving_class`) no user file runs at all: `refuse_user_code`.

    >>> import tempfile, pathlib, os
    >>> os.environ[paths.ENV] = tempfile.mkdtemp()
    >>> src = pathlib.Path(tempfile.mkdtemp()) / "net.py"
    >>> _ = src.write_text("import torch\\nclass Net(torch.nn.Module):\\n    input_shape = (2,)\\n")
    >>> spec = adopt(f"{src}:Net")
    >>> check_allowed(spec) == spec, classes_in(pathlib.Path(spec.rpartition(":")[0]))
    (True, ['Net'])
    >>> check_allowed(f"{src}:Net")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    explorer.models.spec.ModelSpecError: .../net.py is outside the models folder ...
    >>> del os.environ[paths.ENV]
"""

from __future__ import annotations

import ast
import hashlib
import shutil
from pathlib import Path

from explorer import paths
from explorer.models.spec import ModelSpecError
from explorer.server.settings import serving_class

MAX_FILE_BYTES = 2_000_000  # a model file, not a dataset


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder() -> Path:
    return paths.ensure_dir(paths.user_models())


def adopt(spec: str) -> str:
    """Copy the file of `file.py:Class` into the models folder as `<name>-<sha12>.py` (once) and
    return the spec of the copy. A spec already in the folder comes back as it is."""
    path_s, _, cls = spec.rpartition(":")
    src = Path(path_s)
    if not src.is_file():
        raise ModelSpecError(f"model file {src} does not exist; give path/to/file.py:ClassName")
    if _inside(src):
        return spec
    dst = store(src.read_bytes(), src.name)
    return f"{dst}:{cls}"


def store(data: bytes, filename: str) -> Path:
    """Save model source `data` (an upload the user has read and confirmed) in the models folder."""
    if len(data) > MAX_FILE_BYTES:
        raise ModelSpecError(f"{filename} is {len(data):,} bytes; a model file should be source code under "
                             f"{MAX_FILE_BYTES:,} bytes")
    try:
        ast.parse(data.decode("utf-8"))
    except (UnicodeDecodeError, SyntaxError) as e:
        raise ModelSpecError(f"{filename} is not Python source that parses ({type(e).__name__}: {e}); "
                             "give a .py file") from e
    stem = Path(filename).stem.replace(" ", "_") or "model"
    dst = folder() / f"{stem}-{hashlib.sha256(data).hexdigest()[:12]}.py"
    if not dst.exists():
        tmp = dst.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(dst)
    return dst


def _inside(path: Path) -> bool:
    try:
        path.resolve().relative_to(paths.user_models().resolve())
        return True
    except ValueError:
        return False


def refuse_user_code(spec: str) -> None:
    """`ModelSpecError` when `spec` names a Python model file and this process serves a class: a time and
    memory limit does not stop code from reading or changing what the server holds, so a class server
    never runs uploaded code (ONNX uploads stay: they are read, never executed)."""
    if ".py:" in spec.split("@")[0] and serving_class():
        raise ModelSpecError(f"this is a class server: Python model files ({spec.rpartition('/')[2]}) are not "
                             "run here, because their code would run on the server for everyone. Use a zoo or "
                             "torchvision model, or upload an ONNX export of your model")


def check_allowed(spec: str) -> str:
    """`spec` itself if it is not a file spec or its file lies in the models folder; else `ModelSpecError`
    (always for a file spec on a class server: `refuse_user_code`)."""
    if ".py:" not in spec.split("@")[0]:
        return spec
    refuse_user_code(spec)
    path = Path(spec.split("@")[0].rpartition(":")[0])
    if not _inside(path):
        raise ModelSpecError(f"{path} is outside the models folder ({paths.user_models()}); the app and the worker "
                             "only run model code from there. Put the file there (or upload it on the Architecture "
                             "page, which shows it before it runs), or train it from the command line")
    return spec


def classes_in(path: Path) -> list[str]:
    """The names of the classes a file defines, read from its syntax tree (nothing is executed)."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return []
    return [n.name for n in tree.body if isinstance(n, ast.ClassDef)]


def listing() -> list[tuple[Path, list[str]]]:
    """The files of the models folder with the classes each defines (for the picker)."""
    d = paths.user_models()
    if not d.is_dir():
        return []
    return [(p, classes_in(p)) for p in sorted(d.glob("*.py"))]


def copy_into(src: Path) -> Path:
    """Copy a file into the models folder keeping its name (a user putting their own file there)."""
    dst = folder() / src.name
    shutil.copyfile(src, dst)
    return dst
