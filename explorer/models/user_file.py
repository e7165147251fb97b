"""The user's own model: `path/to/file.py:ClassName`, a class constructible with no arguments
that says what it eats — `input_shape = (C, H, W)` (without the batch dimension) or an
`example_input()` returning a batch: a tensor, or a tuple of tensors for a model of several
inputs.

Everything that can go wrong names the real exception and the line of the user's file
where it happened (`file.py:12: self.fc = nn.Linear(...)`), and how to fix it. The code
itself is first run in a child process under a time and memory limit (`explorer.models.sandbox`),
so a model that hangs at import, construction or forward, or asks for more memory than the
machine has, is refused instead of freezing the app or the CLI.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.py"
    >>> _ = p.write_text("import torch\\nclass Net(torch.nn.Module):\\n    def __init__(self, width):\\n        super().__init__()\\n")
    >>> load_file(f"{p}:Net")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    explorer.models.spec.ModelSpecError: constructing Net() failed: TypeError: Net.__init__() missing 1 required positional argument: 'width'; ...
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer.models.spec import LoadedModel, ModelSpecError, ZooInfo


def parse_spec(spec: str) -> tuple[Path, str]:
    """`path/to/file.py:ClassName` -> (path, class name), checked."""
    path_s, _, cls_name = spec.rpartition(":")
    path = Path(path_s)
    if not path_s.endswith(".py"):
        raise ModelSpecError(f"{spec!r} is not path/to/file.py:ClassName")
    if not path.is_file():
        raise ModelSpecError(f"model file {path} does not exist; give path/to/file.py:ClassName")
    if not cls_name.isidentifier():
        raise ModelSpecError(f"{cls_name!r} is not a class name; give path/to/file.py:ClassName")
    return path, cls_name


def where_in(path: Path, e: BaseException) -> str:
    """' at file.py:LINE: code' for the deepest frame of `e` inside the user's file `path` ('' if none)."""
    target = os.path.abspath(path)
    if isinstance(e, SyntaxError) and e.filename and os.path.abspath(e.filename) == target:
        return f" at {path.name}:{e.lineno}: {(e.text or '').strip()}"
    best = ""
    for fs in traceback.extract_tb(e.__traceback__):
        if os.path.abspath(fs.filename) == target:
            best = f" at {path.name}:{fs.lineno}: {(fs.line or '').strip()}"
    return best


def _fail(what: str, path: Path, e: BaseException, fix: str) -> ModelSpecError:
    if isinstance(e, MemoryError) or "allocate" in str(e):
        fix = ("it needs more memory than this machine gives a user model; make it smaller (fewer or narrower "
               "layers, a smaller example input)")
    msg = e.msg if isinstance(e, SyntaxError) and e.msg else (str(e).strip().splitlines()[0] if str(e).strip() else "")
    return ModelSpecError(f"{what} failed{where_in(path, e)}: {type(e).__name__}: {msg}; {fix}")


def example_of(model: nn.Module, cls_name: str, path: Path) -> Any:
    """The model's example batch: `example_input()` (a tensor or a tuple of tensors) or noise of `input_shape`."""
    if hasattr(model, "example_input"):
        ex = model.example_input
        try:
            ex = ex() if callable(ex) else ex
        except Exception as e:  # noqa: BLE001 - the user's code
            raise _fail(f"{cls_name}.example_input()", path, e, "make it return a batch tensor") from e
        if isinstance(ex, (tuple, list)):
            if not ex or not all(isinstance(t, torch.Tensor) for t in ex):
                raise ModelSpecError(f"{cls_name}.example_input() returned a {type(ex).__name__} that is not all "
                                     "tensors; return a batch tensor, or a tuple of batch tensors (one per input)")
            return tuple(ex)
        if not isinstance(ex, torch.Tensor):
            raise ModelSpecError(f"{cls_name}.example_input() returned {type(ex).__name__}, not a tensor; return a "
                                 "batch, e.g. torch.randn(1, 3, 32, 32), or a tuple of them")
        if ex.dim() == 0:
            raise ModelSpecError(f"{cls_name}.example_input() returned a scalar; return a batch with a batch dimension")
        return ex
    if hasattr(model, "input_shape"):
        shape = model.input_shape
        if not (isinstance(shape, (tuple, list)) and all(isinstance(d, int) and not isinstance(d, bool) for d in shape)):
            raise ModelSpecError(f"{cls_name}.input_shape = {shape!r} must be a tuple of ints, e.g. (3, 32, 32)")
        if any(d < 1 for d in shape):
            raise ModelSpecError(f"{cls_name}.input_shape = {tuple(shape)} has a dimension < 1; every dimension must "
                                 "be a positive size")
        return torch.randn(1, *shape)
    raise ModelSpecError(f"{cls_name} must say what it eats: define `input_shape = (C, H, W)` "
                         "(without the batch dimension) or an `example_input()` method returning a batch")


def file_digest(spec: str) -> str:
    """SHA-256 of the file a `file.py:Class` spec names ("" for other specs or a missing file)."""
    import hashlib

    if ".py:" not in spec:
        return ""
    path = Path(spec.split("@")[0].rpartition(":")[0])
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def load_file(spec: str) -> LoadedModel:
    """Import the file, construct the class, and take its example input (see the module doc). The
    caller (`explorer.models.load`) has first run it in a child process under limits."""
    path, cls_name = parse_spec(spec)
    mod_name = f"_explorer_user_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(mod_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ModelSpecError(f"{path} cannot be imported as a Python module; give a .py file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - the user's code
        raise _fail(f"importing {path.name}", path, e, "fix the file so that `python file.py` runs") from e
    cls = getattr(module, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        found = sorted(k for k, v in vars(module).items() if isinstance(v, type) and issubclass(v, nn.Module)
                       and v.__module__ == mod_name)
        raise ModelSpecError(f"{path.name} has no nn.Module subclass named {cls_name!r}"
                             + (f"; it defines {', '.join(found)}" if found else ""))
    try:
        model = cls()
    except Exception as e:  # noqa: BLE001 - the user's code
        raise _fail(f"constructing {cls_name}()", path, e,
                    "the class must be constructible with no arguments (give every argument a default)") from e
    ex = example_of(model, cls_name, path)
    first = ex[0] if isinstance(ex, tuple) else ex
    doc = (cls.__doc__ or f"{cls_name} from {path.name}").strip().splitlines()[0]
    info = ZooInfo(f"{path.name}:{cls_name}", tuple(first.shape[1:]), doc, "file", getattr(model, "dataset", None),
                   None, n_inputs=len(ex) if isinstance(ex, tuple) else 1)
    return LoadedModel(model.eval(), ex, info)
