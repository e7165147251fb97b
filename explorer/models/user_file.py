"""The user's own model: `path/to/file.py:ClassName`, a class constructible with no arguments
that says what it eats (`input_shape` or `example_input()`).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch
from torch import nn

from explorer.models.spec import LoadedModel, ModelSpecError, ZooInfo


def load_file(spec: str) -> LoadedModel:
    path_s, _, cls_name = spec.rpartition(":")
    path = Path(path_s)
    if not path.is_file():
        raise ModelSpecError(f"model file {path} does not exist; give path/to/file.py:ClassName")
    if not cls_name.isidentifier():
        raise ModelSpecError(f"{cls_name!r} is not a class name; give path/to/file.py:ClassName")
    mod_name = f"_explorer_user_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(mod_name, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:
        raise ModelSpecError(f"importing {path} failed: {type(e).__name__}: {e}") from e
    cls = getattr(module, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ModelSpecError(f"{path} has no nn.Module subclass named {cls_name!r}")
    try:
        model = cls()
    except TypeError as e:
        raise ModelSpecError(f"{cls_name}() must be constructible with no arguments: {e}") from e
    if hasattr(model, "example_input"):
        ex = model.example_input
        ex = ex() if callable(ex) else ex
        ex = torch.as_tensor(ex)
    elif hasattr(model, "input_shape"):
        ex = torch.randn(1, *tuple(model.input_shape))
    else:
        raise ModelSpecError(f"{cls_name} must say what it eats: define `input_shape = (C, H, W)` "
                             "(without the batch dimension) or an `example_input()` method returning a batch")
    shape = tuple(ex.shape[1:])
    doc = (cls.__doc__ or f"{cls_name} from {path.name}").strip().splitlines()[0]
    info = ZooInfo(f"{path.name}:{cls_name}", shape, doc, "file", getattr(model, "dataset", None), None)
    return LoadedModel(model.eval(), ex, info)
