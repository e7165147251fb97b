"""The model zoo: small networks that exercise the DAG structure, every torchvision
classifier (built with `weights=None`, never downloading), and the user's own code.

`load(spec)` is the one entry point; `spec` is a zoo name, a torchvision model name
(optionally `torchvision:NAME`), or `path/to/file.py:ClassName`.

    >>> m = load("mlp")
    >>> m.example_input.shape, m.info.dataset
    (torch.Size([1, 40]), 'mnist1d')
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn


class ModelSpecError(ValueError):
    """A model name or file that cannot be loaded; the message says why and what is accepted."""


@dataclass(frozen=True)
class ZooInfo:
    """What the pickers show about a model: where it comes from and what it eats."""

    name: str
    input_shape: tuple[int, ...]  # without the batch dimension
    description: str
    source: str = "zoo"  # "zoo" | "torchvision" | "file"
    dataset: str | None = None  # default training dataset, where one fits
    num_classes: int | None = None


@dataclass
class LoadedModel:
    model: nn.Module
    example_input: torch.Tensor  # (1, *input_shape)
    info: ZooInfo


# ---------------------------------------------------------------------------------------
# Zoo models. Each is small enough for the unit-level view and trains in seconds on CPU.
# ---------------------------------------------------------------------------------------


class MLP(nn.Module):
    """40 → 100 → 100 → 10 with ReLU: the MNIST-1D multilayer perceptron."""

    def __init__(self, d_in: int = 40, width: int = 100, depth: int = 2, n_out: int = 10):
        super().__init__()
        dims = [d_in] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.out = nn.Linear(dims[-1], n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.out(x)


class SkipMLP(nn.Module):
    """MLP whose early features reach later layers directly: skip arcs spanning 2 and 3 levels."""

    def __init__(self, d_in: int = 40, width: int = 32, n_out: int = 10):
        super().__init__()
        self.fc1 = nn.Linear(d_in, width)
        self.fc2 = nn.Linear(width, width)
        self.fc3 = nn.Linear(width, width)
        self.out = nn.Linear(2 * width, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h1 = torch.relu(self.fc1(x))
        h2 = torch.relu(self.fc2(h1))
        h3 = torch.relu(self.fc3(h2) + h1)  # residual arc h1 -> h3 spans two levels
        return self.out(torch.cat([h3, h1], dim=1))  # concatenated arc h1 -> out spans three


class CNN1d(nn.Module):
    """The MNIST-1D CNN of Greydanus & Kobak: three strided Conv1d + ReLU, then a linear head."""

    def __init__(self, channels: int = 25, n_out: int = 10):
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = nn.Linear(channels * 5, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 1, x.shape[-1])  # (B, 40) -> (B, 1, 40)
        h = torch.relu(self.conv1(x))  # (B, C, 19)
        h = torch.relu(self.conv2(h))  # (B, C, 10)
        h = torch.relu(self.conv3(h))  # (B, C, 5)
        return self.linear(h.flatten(1))


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class TinyResNet(nn.Module):
    """ResNet on 8×8 digits: stem, an identity block, a strided block with a 1×1 shortcut, pool, fc."""

    def __init__(self, width: int = 8, n_out: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.block1 = BasicBlock(width, width)
        self.block2 = BasicBlock(width, 2 * width, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.block2(self.block1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(h), 1))


class DenseLayer(nn.Module):
    def __init__(self, c_in: int, growth: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(c_in)
        self.conv = nn.Conv2d(c_in, growth, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(torch.relu(self.bn(x)))], dim=1)


class TinyDenseNet(nn.Module):
    """DenseNet on 8×8 digits: every layer sees the concatenation of all earlier feature maps."""

    def __init__(self, c0: int = 6, growth: int = 4, n_layers: int = 3, n_out: int = 10):
        super().__init__()
        self.stem = nn.Conv2d(1, c0, 3, 1, 1, bias=False)
        self.dense = nn.Sequential(*(DenseLayer(c0 + k * growth, growth) for k in range(n_layers)))
        c = c0 + n_layers * growth
        self.bn = nn.BatchNorm2d(c)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(c * 16, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn(self.dense(self.stem(x))))
        return self.fc(self.pool(h).flatten(1))


class InceptionModule(nn.Module):
    def __init__(self, c_in: int, c1: int, c3: int, c5: int, cp: int):
        super().__init__()
        self.b1 = nn.Conv2d(c_in, c1, 1)
        self.b3 = nn.Sequential(nn.Conv2d(c_in, c3, 1), nn.ReLU(), nn.Conv2d(c3, c3, 3, padding=1))
        self.b5 = nn.Sequential(nn.Conv2d(c_in, c5, 1), nn.ReLU(), nn.Conv2d(c5, c5, 5, padding=2))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(c_in, cp, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1))


class TinyInception(nn.Module):
    """Inception on 8×8 digits: four parallel branches (1×1, 3×3, 5×5, pool) concatenated."""

    def __init__(self, n_out: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.inception = InceptionModule(8, 4, 4, 2, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(12, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.inception(self.stem(x))).flatten(1))


class TinyUNet(nn.Module):
    """U-Net on 8×8 digits: encoder, bottleneck, decoder with skip concatenations, pooled to class logits."""

    def __init__(self, c: int = 4, n_out: int = 10):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(1, c, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU())
        self.mid = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU())
        self.up2 = nn.ConvTranspose2d(2 * c, 2 * c, 2, stride=2)
        self.dec2 = nn.Sequential(nn.Conv2d(4 * c, 2 * c, 3, padding=1), nn.ReLU())
        self.up1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
        self.dec1 = nn.Sequential(nn.Conv2d(2 * c, c, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(c * 64, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)  # (B, c, 8, 8)
        e2 = self.enc2(e1)  # (B, 2c, 4, 4)
        m = self.mid(e2)  # (B, 2c, 2, 2)
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))  # (B, 2c, 4, 4)
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))  # (B, c, 8, 8)
        return self.head(d1.flatten(1))


class TinyTransformer(nn.Module):
    """One pre-norm transformer block over the 40 MNIST-1D samples as tokens, mean-pooled to logits."""

    def __init__(self, d: int = 16, heads: int = 2, n_tokens: int = 40, n_out: int = 10):
        super().__init__()
        self.embed = nn.Linear(1, d)
        self.pos = nn.Parameter(torch.randn(n_tokens, d) * 0.02)
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.head = nn.Linear(d, n_out)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape
        h = self.embed(x.unsqueeze(-1)) + self.pos  # (B, T, d)
        q, k, v = self.qkv(self.ln1(h)).chunk(3, dim=-1)
        dh = q.shape[-1] // self.heads
        q, k, v = (z.reshape(b, t, self.heads, dh).transpose(1, 2) for z in (q, k, v))  # (B, H, T, dh)
        att = torch.softmax(q @ k.transpose(-2, -1) / dh**0.5, dim=-1)  # (B, H, T, T)
        y = (att @ v).transpose(1, 2).reshape(b, t, -1)
        h = h + self.proj(y)
        h = h + self.mlp(self.ln2(h))
        return self.head(h.mean(dim=1))


class MoonsMLP(nn.Module):
    """2 → 16 → 16 → 2 ReLU network for the 2-D sets (moons, circles, spirals): the spline view."""

    def __init__(self, width: int = 16, n_out: int = 2):
        super().__init__()
        self.fc1 = nn.Linear(2, width)
        self.fc2 = nn.Linear(width, width)
        self.out = nn.Linear(width, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


@dataclass(frozen=True)
class _Entry:
    build: Callable[[], nn.Module]
    info: ZooInfo


def _entry(name: str, build: Callable[[], nn.Module], shape: tuple[int, ...], dataset: str, n_out: int) -> _Entry:
    doc = (build.__doc__ or "").strip().splitlines()[0]
    return _Entry(build, ZooInfo(name, shape, doc, "zoo", dataset, n_out))


ZOO: dict[str, _Entry] = {
    e.info.name: e
    for e in [
        _entry("mlp", MLP, (40,), "mnist1d", 10),
        _entry("mlp_skip", SkipMLP, (40,), "mnist1d", 10),
        _entry("cnn1d", CNN1d, (40,), "mnist1d", 10),
        _entry("resnet_tiny", TinyResNet, (1, 8, 8), "digits", 10),
        _entry("densenet_tiny", TinyDenseNet, (1, 8, 8), "digits", 10),
        _entry("inception_tiny", TinyInception, (1, 8, 8), "digits", 10),
        _entry("unet_tiny", TinyUNet, (1, 8, 8), "digits", 10),
        _entry("transformer_tiny", TinyTransformer, (40,), "mnist1d", 10),
        _entry("moons_mlp", MoonsMLP, (2,), "moons", 2),
    ]
}


def zoo_names() -> list[str]:
    return list(ZOO)


def torchvision_names() -> list[str]:
    """Every torchvision image-classification model (the `torchvision.models` namespace)."""
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


_TV_INPUT = {"inception_v3": (3, 299, 299)}


def _load_torchvision(name: str) -> LoadedModel:
    import torchvision

    if name not in torchvision_names():
        raise ModelSpecError(f"{name!r} is not a torchvision classification model; "
                             f"see `torchvision_names()`, e.g. resnet18, densenet121, vit_b_16")
    kwargs = {"aux_logits": False, "init_weights": False} if name in ("inception_v3", "googlenet") else {}
    model = torchvision.models.get_model(name, weights=None, **kwargs)
    shape = _TV_INPUT.get(name, (3, 224, 224))
    info = ZooInfo(name, shape, f"torchvision {name} (random init, weights=None)", "torchvision", None, 1000)
    return LoadedModel(model.eval(), torch.zeros(1, *shape), info)


def _load_file(spec: str) -> LoadedModel:
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


def load(spec: str, seed: int = 0) -> LoadedModel:
    """Build the model named by `spec` in eval mode, with seeded random init and an example input.

    Raises `ModelSpecError` with the accepted forms when `spec` names nothing.
    """
    torch.manual_seed(seed)
    if spec in ZOO:
        e = ZOO[spec]
        model = e.build().eval()
        g = torch.Generator().manual_seed(seed)
        return LoadedModel(model, torch.randn(1, *e.info.input_shape, generator=g), e.info)
    if ".py:" in spec:
        return _load_file(spec)
    name = spec.removeprefix("torchvision:")
    if name in torchvision_names():
        return _load_torchvision(name)
    raise ModelSpecError(f"unknown model {spec!r}: give a zoo name ({', '.join(ZOO)}), a torchvision "
                         "model name (e.g. resnet18), or path/to/file.py:ClassName")
