"""Generated deep MLPs for the signal-propagation lab (docs/science.md §5): `depth` Linear layers
of width `width`, an activation between them (linear, tanh, ReLU or hard-tanh), named by a
spec string that `models.load` understands, so a generated net trains like any zoo model.

    deep_mlp:depth=7,width=100,act=tanh,d_in=40,d_out=10

`d_in`/`d_out` default to `width` (a square net, whose Jacobian has `width` singular values);
with `d_in=40, d_out=10` the net eats MNIST-1D. `depth` counts weight matrices: depth 7 has
6 hidden activations.

    >>> spec = deep_mlp_spec(3, 8, "tanh")
    >>> spec
    'deep_mlp:depth=3,width=8,act=tanh,d_in=8,d_out=8'
    >>> net = build_deep_mlp(spec)
    >>> [n for n, _ in net.named_children()]
    ['fc1', 'act1', 'fc2', 'act2', 'fc3']
    >>> parse_deep_mlp("deep_mlp:depth=2,act=relu")
    DeepMLPShape(depth=2, width=100, act='relu', d_in=100, d_out=100)
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from torch import nn

from explorer.models.spec import ModelSpecError, ZooInfo

PREFIX = "deep_mlp:"
ACTIVATIONS = {"linear": None, "tanh": nn.Tanh, "relu": nn.ReLU, "hardtanh": nn.Hardtanh}
MAX_DEPTH, MAX_WIDTH = 200, 4096


@dataclass(frozen=True)
class DeepMLPShape:
    """What a generated MLP is: weight matrices, width, activation and the in/out sizes."""

    depth: int = 7
    width: int = 100
    act: str = "linear"
    d_in: int = 100
    d_out: int = 100

    def __post_init__(self) -> None:
        if self.act not in ACTIVATIONS:
            raise ModelSpecError(f"deep_mlp activation {self.act!r} is not one of {', '.join(ACTIVATIONS)}")
        for k, top in (("depth", MAX_DEPTH), ("width", MAX_WIDTH), ("d_in", MAX_WIDTH), ("d_out", MAX_WIDTH)):
            v = getattr(self, k)
            if not (isinstance(v, int) and 1 <= v <= top):
                raise ModelSpecError(f"deep_mlp {k}={v!r} must be an integer in 1..{top}")

    @property
    def spec(self) -> str:
        return (f"{PREFIX}depth={self.depth},width={self.width},act={self.act},"
                f"d_in={self.d_in},d_out={self.d_out}")


def deep_mlp_spec(depth: int, width: int, act: str = "linear", d_in: int | None = None,
                  d_out: int | None = None) -> str:
    """The canonical spec string of a generated MLP (square when `d_in`/`d_out` are not given)."""
    return DeepMLPShape(int(depth), int(width), act, int(d_in or width), int(d_out or width)).spec


def is_deep_mlp(spec: str) -> bool:
    return spec.startswith(PREFIX)


def parse_deep_mlp(spec: str) -> DeepMLPShape:
    """`deep_mlp:key=value,...` -> `DeepMLPShape`; raises `ModelSpecError` naming the bad part."""
    if not is_deep_mlp(spec):
        raise ModelSpecError(f"{spec!r} is not a generated MLP spec; write {PREFIX}depth=7,width=100,act=tanh")
    kw: dict[str, object] = {}
    for part in filter(None, spec[len(PREFIX):].split(",")):
        key, eq, val = part.partition("=")
        key = key.strip()
        if not eq or key not in DeepMLPShape.__dataclass_fields__:
            raise ModelSpecError(f"{part!r} in {spec!r} is not key=value with a key among "
                                 f"{', '.join(DeepMLPShape.__dataclass_fields__)}")
        try:
            kw[key] = val.strip() if key == "act" else int(val)
        except ValueError as e:
            raise ModelSpecError(f"{key}={val!r} in {spec!r} must be an integer") from e
    width = int(kw.get("width", DeepMLPShape.width))  # type: ignore[call-overload]
    kw.setdefault("d_in", width)
    kw.setdefault("d_out", width)
    return DeepMLPShape(**kw)  # type: ignore[arg-type]


class DeepMLP(nn.Sequential):
    """fc1, act1, fc2, ..., fc{depth}: `depth` Linear layers with the activation between them."""

    def __init__(self, shape: DeepMLPShape):
        dims = [shape.d_in] + [shape.width] * (shape.depth - 1) + [shape.d_out]
        act = ACTIVATIONS[shape.act]
        mods: OrderedDict[str, nn.Module] = OrderedDict()
        for k, (a, b) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            mods[f"fc{k}"] = nn.Linear(a, b)
            if act is not None and k < shape.depth:
                mods[f"act{k}"] = act()
        super().__init__(mods)
        self.shape = shape


def build_deep_mlp(spec: str) -> DeepMLP:
    return DeepMLP(parse_deep_mlp(spec))


def deep_mlp_info(spec: str) -> ZooInfo:
    """What the pickers show; a 40 -> 10 net is meant for MNIST-1D."""
    s = parse_deep_mlp(spec)
    mnist = (s.d_in, s.d_out) == (40, 10)
    desc = f"generated MLP: {s.depth} layers of width {s.width}, {s.act} ({s.d_in} → {s.d_out})"
    return ZooInfo(s.spec, (s.d_in,), desc, "generated", "mnist1d" if mnist else None, s.d_out)
