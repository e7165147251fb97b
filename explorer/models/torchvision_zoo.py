"""Every torchvision image classifier, built with `weights=None` (random init, no download).

    >>> "resnet18" in torchvision_names()
    True
"""

from __future__ import annotations

import torch

from explorer.models.spec import LoadedModel, ModelSpecError, ZooInfo


def torchvision_names() -> list[str]:
    """Every torchvision image-classification model (the `torchvision.models` namespace)."""
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


_TV_INPUT = {"inception_v3": (3, 299, 299)}


def load_torchvision(name: str) -> LoadedModel:
    import torchvision

    if name not in torchvision_names():
        raise ModelSpecError(f"{name!r} is not a torchvision classification model; "
                             f"see `torchvision_names()`, e.g. resnet18, densenet121, vit_b_16")
    kwargs = {"aux_logits": False, "init_weights": False} if name in ("inception_v3", "googlenet") else {}
    model = torchvision.models.get_model(name, weights=None, **kwargs)
    shape = _TV_INPUT.get(name, (3, 224, 224))
    info = ZooInfo(name, shape, f"torchvision {name} (random init, weights=None)", "torchvision", None, 1000)
    return LoadedModel(model.eval(), torch.zeros(1, *shape), info)
