"""The zoo: small networks that exercise the DAG structure (skips, dense blocks, branches,
U-Net concatenations, attention), each small enough for the unit level and trained in
seconds on a CPU, with the dataset it is meant for.

    >>> sorted(ZOO)[:3], ZOO["mlp"].info.dataset
    (['cnn1d', 'densenet_tiny', 'inception_tiny'], 'mnist1d')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from explorer.models.spec import Recipe, ZooInfo


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

    def __init__(self, d_in: int = 40, width: int = 100, n_out: int = 10):
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


class LotteryMLP(nn.Module):
    """40 → 500 → 500 → 10 with a residual connection: the MNIST-1D lottery-ticket notebook's MLP."""

    def __init__(self, d_in: int = 40, width: int = 500, n_out: int = 10):
        super().__init__()
        self.fc1 = nn.Linear(d_in, width)
        self.fc2 = nn.Linear(width, width)
        self.out = nn.Linear(width, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc1(x))  # (B, 500)
        h = h + torch.relu(self.fc2(h))  # residual arc around fc2: the identity spans one level
        return self.out(h)  # (B, 10)


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
class Entry:
    build: Callable[[], nn.Module]
    info: ZooInfo


def _entry(name: str, build: Callable[[], nn.Module], shape: tuple[int, ...], dataset: str, n_out: int,
           recipe: Recipe) -> Entry:
    doc = (build.__doc__ or "").strip().splitlines()[0]
    return Entry(build, ZooInfo(name, shape, doc, "zoo", dataset, n_out, recipe=recipe))


# Training recipes measured on this project's 2-core CPU (Adam, batch 100; test accuracy of the
# dense network after `steps`, seed 0): the Train page's defaults and the quick comparison's length.
ZOO: dict[str, Entry] = {
    e.info.name: e
    for e in [
        _entry("mlp", MLP, (40,), "mnist1d", 10, Recipe(3e-3, 1500, 300, 0.64)),
        _entry("mlp_skip", SkipMLP, (40,), "mnist1d", 10, Recipe(3e-3, 1500, 300, 0.67)),
        _entry("cnn1d", CNN1d, (40,), "mnist1d", 10, Recipe(3e-3, 1500, 200, 0.87)),
        _entry("lottery_mlp", LotteryMLP, (40,), "mnist1d", 10, Recipe(2e-2, 1500, 200, 0.645, lottery=(
            ("steps", 1501), ("lr", 2e-2), ("prune_biases", True), ("scope", "layer")))),  # the MNIST-1D notebook's
        _entry("resnet_tiny", TinyResNet, (1, 8, 8), "digits", 10, Recipe(3e-3, 600, 150, 0.98)),
        _entry("densenet_tiny", TinyDenseNet, (1, 8, 8), "digits", 10, Recipe(3e-3, 600, 150, 0.99)),
        _entry("inception_tiny", TinyInception, (1, 8, 8), "digits", 10, Recipe(3e-3, 600, 150, 0.85)),
        _entry("unet_tiny", TinyUNet, (1, 8, 8), "digits", 10, Recipe(3e-3, 600, 150, 0.98)),
        _entry("transformer_tiny", TinyTransformer, (40,), "mnist1d", 10, Recipe(3e-3, 1500, 150, 0.57)),
        _entry("moons_mlp", MoonsMLP, (2,), "moons", 2, Recipe(1e-2, 400, 200, 1.0)),
    ]
}


def zoo_names() -> list[str]:
    return list(ZOO)
