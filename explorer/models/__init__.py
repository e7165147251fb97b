"""Models: the zoo, every torchvision classifier, and the user's own files.

- `spec`           — `LoadedModel` (module + example input + `ZooInfo`), `ModelSpecError`;
- `zoo`            — the small networks and their registry `ZOO`;
- `torchvision_zoo`— torchvision classifiers with `weights=None`;
- `user_file`      — `file.py:ClassName`;
- `load`           — `load(spec, seed)` and the process-wide `load_cached`;
- `state`          — loading a state dict into a model with every key checked.

    >>> from explorer import models
    >>> models.load("moons_mlp").info.input_shape
    (2,)
"""

from explorer.models.load import file_digest, load, load_cached
from explorer.models.spec import LoadedModel, ModelSpecError, Recipe, ZooInfo
from explorer.models.torchvision_zoo import torchvision_names
from explorer.models.zoo import ZOO, zoo_names

__all__ = ["ZOO", "LoadedModel", "ModelSpecError", "Recipe", "ZooInfo", "file_digest", "load", "load_cached",
           "torchvision_names", "zoo_names"]
