"""`load(spec, seed)`: the one way to build a model — a zoo name, a torchvision name
(optionally `torchvision:NAME`), a generated deep MLP (`deep_mlp:depth=7,width=100,act=tanh`)
or `path/to/file.py:ClassName` — in eval mode, seeded,
with an example input. `load_cached(spec, seed)` is the one in-process cache of built
models, shared by `build_dag` and the pages: treat what it returns as read-only.

    >>> m = load("mlp")
    >>> m.example_input.shape, m.info.dataset
    (torch.Size([1, 40]), 'mnist1d')
    >>> load_cached("mlp") is load_cached("mlp")
    True
"""

from __future__ import annotations

import dataclasses
import re

import torch

from explorer.concurrency import once_per_key, seeded, stage
from explorer.models.generated import build_deep_mlp, deep_mlp_info, is_deep_mlp
from explorer.models.spec import LoadedModel, ModelSpecError
from explorer.models.torchvision_zoo import load_torchvision, torchvision_names
from explorer.models.sandbox import probe
from explorer.models.user_file import file_digest, load_file
from explorer.models.user_store import refuse_user_code
from explorer.models.zoo import ZOO


def load(spec: str, seed: int = 0) -> LoadedModel:
    """Build the model named by `spec` in eval mode, with seeded random init and an example input.

    `MODEL@path.to.submodule` is the sub-module of MODEL at that path, with the input it receives
    when MODEL runs on its own example (a detection model's backbone, a segmentation model's
    encoder). The construction holds `explorer.concurrency.seeded(seed)`, so a model built while
    other threads build theirs gets the weights the seed gives alone. Raises `ModelSpecError` with
    the accepted forms when `spec` names nothing.
    """
    base, _, sub = spec.rpartition("@")
    if base and _SUBMODULE_PATH.fullmatch(sub):
        return submodule(load(base, seed), sub, spec)
    if ".py:" in spec:
        refuse_user_code(spec)  # a class server runs no uploaded code, not even in the sandbox
        probe(spec)  # first in a child process under a time and memory limit (never under the lock: it takes s)
    stage(f"building {spec.rpartition('/')[2]} in this process")
    with seeded(seed):  # the global generator is the process's: one seeded construction at a time
        return _build(spec, seed)


def _build(spec: str, seed: int) -> LoadedModel:
    if spec in ZOO:
        e = ZOO[spec]
        model = e.build().eval()
        g = torch.Generator().manual_seed(seed)
        return LoadedModel(model, torch.randn(1, *e.info.input_shape, generator=g), e.info)
    if is_deep_mlp(spec):
        info = deep_mlp_info(spec)
        model = build_deep_mlp(spec).eval()
        g = torch.Generator().manual_seed(seed)
        return LoadedModel(model, torch.randn(1, *info.input_shape, generator=g), info)
    if ".py:" in spec:
        return load_file(spec)
    name = spec.removeprefix("torchvision:")
    if name in torchvision_names():
        return load_torchvision(name)
    raise ModelSpecError(f"unknown model {spec!r}: give a zoo name ({', '.join(ZOO)}), a torchvision "
                         "model name (e.g. resnet18), a generated MLP "
                         "(deep_mlp:depth=7,width=100,act=tanh), or path/to/file.py:ClassName")


_SUBMODULE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")


def submodule(parent: LoadedModel, path: str, spec: str) -> LoadedModel:
    """The sub-module of `parent.model` at `path`, with the input it receives when the parent runs on
    its own example input (recorded by a forward pre-hook on one run of the parent).

    >>> m = submodule(load("resnet_tiny"), "block1", "resnet_tiny@block1")
    >>> type(m.model).__name__, m.info.input_shape, m.info.name
    ('BasicBlock', (8, 8, 8), 'resnet_tiny@block1')
    """
    try:
        module = parent.model.get_submodule(path)
    except AttributeError:
        names = [n for n, _ in parent.model.named_children()]
        raise ModelSpecError(f"{parent.info.name} has no sub-module {path!r}; its top-level children are "
                             f"{', '.join(names) or 'none'} (give a dotted path such as "
                             f"{names[0] + '.0' if names else 'features.0'})") from None
    seen: list[tuple] = []
    handle = module.register_forward_pre_hook(lambda _m, args: seen.append(args) if not seen else None)
    try:
        with torch.no_grad():
            x = parent.example_input
            parent.model(*x) if isinstance(x, tuple) else parent.model(x)
    finally:
        handle.remove()
    if not seen:
        raise ModelSpecError(f"{spec}: the sub-module {path!r} is not called when {parent.info.name} runs on its "
                             "example input, so there is no input to give it; choose one on the forward path")
    args = seen[0]
    if not args or not all(isinstance(a, torch.Tensor) for a in args):
        raise ModelSpecError(f"{spec}: the sub-module {path!r} takes {len(args)} argument(s), not all tensors; "
                             "choose a sub-module whose inputs are tensors")
    example = args[0].detach().clone() if len(args) == 1 else tuple(a.detach().clone() for a in args)
    info = dataclasses.replace(parent.info, name=spec, input_shape=tuple(args[0].shape[1:]), n_inputs=len(args),
                               description=f"{path} of {parent.info.name} ({type(module).__name__})",
                               dataset=None, num_classes=None, recipe=None)
    return LoadedModel(module.eval(), example, info)


@once_per_key(maxsize=16)
def _cached(spec: str, seed: int, digest: str) -> LoadedModel:
    return load(spec, seed)


def load_cached(spec: str, seed: int = 0) -> LoadedModel:
    """`load(spec, seed)`, built once per process and key (a user file: per content of the file,
    so an edited file is loaded afresh), also when several threads (sessions) ask at once: they wait
    for the one build. Shared: never modify the returned model in place."""
    return _cached(spec, int(seed), file_digest(spec))
