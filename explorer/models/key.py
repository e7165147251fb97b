"""`ModelKey`: which model a view, a cache entry, a link or a retrain request is about — the model spec,
where the user picked it, the granularity and block depth of its graph, and its init seed. One frozen,
hashable value: the pages' caches are keyed by it, the session holds the one the user picked, a link
carries it (`to_link` / `from_link`) and the Prune page hands it to the Train page.

    >>> k = ModelKey("resnet_tiny", "block", depth=2, seed=3)
    >>> k.label(), k.to_link()
    ('resnet_tiny (block, depth 2)', {'src': 'zoo', 'model': 'resnet_tiny', 'g': 'block', 'depth': 2, 'seed': 3})
    >>> ModelKey.from_link({"src": "zoo", "model": "mlp", "seed": 1}) == ModelKey("mlp", seed=1)
    True
    >>> ModelKey("mlp").to_link()  # a page with no graph leaves the granularity out
    {'src': 'zoo', 'model': 'mlp', 'g': None, 'depth': None, 'seed': 0}
    >>> ModelKey(ONNX_SPEC, "op", onnx_digest="ab12", onnx_name="net.onnx").label()
    'net.onnx (op)'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ONNX_SPEC = "onnx-upload"  # the spec of an uploaded ONNX file (its bytes live with the session, by digest)
SOURCES = ("zoo", "torchvision", "file", "onnx")  # where a model is picked from


@dataclass(frozen=True)
class ModelKey:
    """One model at one level of detail. Equal keys name the same graph: `source` and `onnx_name` describe
    the key for people and pickers and are left out of equality (the spec and the ONNX digest decide)."""

    spec: str  # zoo / torchvision name, "file.py:Class", deep_mlp:..., or ONNX_SPEC
    granularity: str | None = None  # unit | op | block; None: not chosen (a page without a graph)
    depth: int | None = None  # module depth, block level only
    seed: int = 0  # the model's init seed (and the views' input seed)
    onnx_digest: str | None = None  # sha256 of the uploaded bytes when spec is ONNX_SPEC
    source: str = field(default="zoo", compare=False)  # one of SOURCES
    onnx_name: str = field(default="", compare=False)  # the uploaded file's name

    @property
    def is_onnx(self) -> bool:
        return self.spec == ONNX_SPEC

    def label(self) -> str:
        name = (self.onnx_name or "upload.onnx") if self.is_onnx else self.spec
        d = f", depth {self.depth}" if self.granularity == "block" and self.depth else ""
        return f"{name} ({self.granularity}{d})"

    def replace(self, **changes: Any) -> ModelKey:
        return dataclasses.replace(self, **changes)

    def to_link(self) -> dict[str, Any]:
        """What a link carries (`explorer.links.codec.MODEL_PARAMS`); an uploaded ONNX file travels in none."""
        if self.is_onnx:
            return {}
        return {"src": self.source, "model": self.spec, "g": self.granularity,
                "depth": self.depth if self.granularity == "block" else None, "seed": self.seed}

    @classmethod
    def from_link(cls, values: Mapping[str, Any], base: ModelKey | None = None) -> ModelKey:
        """The key a link's model values name, the rest taken from `base` (default: a fresh key)."""
        base = base or cls(values.get("model", ""))
        keys = {"src": "source", "model": "spec", "g": "granularity", "depth": "depth", "seed": "seed"}
        return base.replace(**{keys[k]: v for k, v in values.items() if k in keys and v is not None})
