"""`load(spec, seed)`: the one way to build a model — a zoo name, a torchvision name
(optionally `torchvision:NAME`) or `path/to/file.py:ClassName` — in eval mode, seeded,
with an example input. `load_cached(spec, seed)` is the one in-process cache of built
models, shared by `build_dag` and the pages: treat what it returns as read-only.

    >>> m = load("mlp")
    >>> m.example_input.shape, m.info.dataset
    (torch.Size([1, 40]), 'mnist1d')
    >>> load_cached("mlp") is load_cached("mlp")
    True
"""

from __future__ import annotations

import functools

import torch

from explorer.models.spec import LoadedModel, ModelSpecError
from explorer.models.torchvision_zoo import load_torchvision, torchvision_names
from explorer.models.sandbox import probe
from explorer.models.user_file import file_digest, load_file
from explorer.models.zoo import ZOO


def load(spec: str, seed: int = 0) -> LoadedModel:
    """Build the model named by `spec` in eval mode, with seeded random init and an example input.

    `MODEL@path.to.submodule` is the sub-module of MODEL at that path, with the input it receives
    when MODEL runs on its own example (a detection model's backbone, a segmentation model's
    encoder). Raises `ModelSpecError` with the accepted forms when `spec` names nothing.
    """
    if "@" in spec:
        base, _, sub = spec.rpartition("@")
        return submodule(load(base, seed), sub, spec)
    torch.manual_seed(seed)
    if spec in ZOO:
        e = ZOO[spec]
        model = e.build().eval()
        g = torch.Generator().manual_seed(seed)
        return LoadedModel(model, torch.randn(1, *e.info.input_shape, generator=g), e.info)
    if ".py:" in spec:
        probe(spec)  # first in a child process under a time and memory limit
        return load_file(spec)
    name = spec.removeprefix("torchvision:")
    if name in torchvision_names():
        return load_torchvision(name)
    raise ModelSpecError(f"unknown model {spec!r}: give a zoo name ({', '.join(ZOO)}), a torchvision "
                         "model name (e.g. resnet18), or path/to/file.py:ClassName")


@functools.lru_cache(maxsize=16)
def _cached(spec: str, seed: int, digest: str) -> LoadedModel:
    return load(spec, seed)


def load_cached(spec: str, seed: int = 0) -> LoadedModel:
    """`load(spec, seed)`, built once per process and key (a user file: per content of the file,
    so an edited file is loaded afresh). Shared: never modify the returned model in place."""
    return _cached(spec, int(seed), file_digest(spec))
