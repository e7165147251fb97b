"""Small hand-written modules that each exercise one way a tracer can go wrong (used by the
regression suite `tests/test_any_model.py` and the bad-input corpus)."""

from __future__ import annotations

from collections import namedtuple

import torch
from torch import nn

Pair = namedtuple("Pair", ["logits", "features"])


class DictOut(nn.Module):
    """Returns a dict, as torchvision's segmentation models do."""

    input_shape = (6,)

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(6, 8)
        self.out = nn.Linear(8, 3)
        self.aux = nn.Linear(8, 2)

    def forward(self, x):
        h = torch.relu(self.body(x))
        return {"out": self.out(h), "aux": self.aux(h)}


class NamedTupleOut(nn.Module):
    """Returns a namedtuple of logits and features."""

    input_shape = (6,)

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(6, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = torch.tanh(self.body(x))
        return Pair(self.head(h), h)


class TupleIn(nn.Module):
    """Takes two tensors (as an optical-flow model takes two frames)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 5)
        self.b = nn.Linear(3, 5)
        self.out = nn.Linear(5, 2)

    def example_input(self):
        return torch.randn(2, 4), torch.randn(2, 3)

    def forward(self, x, y):
        return self.out(torch.relu(self.a(x) + self.b(y)))


class InplaceSlice(nn.Module):
    """In-place slice assignment: the next layer must read the mutated tensor."""

    input_shape = (6,)

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        h = self.fc1(x)
        h[:, :4] *= 2
        h[:, -2:] = 0
        return self.fc2(torch.relu(h))


class DataIf(nn.Module):
    """Control flow on tensor values: which branch runs depends on the input."""

    input_shape = (4,)

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4))

    def forward(self, x):
        if x.sum() > 0:
            return self.a(x)
        return self.b(x)


class DataLoop(nn.Module):
    """A loop whose count depends on the input's values."""

    input_shape = (4,)

    def __init__(self):
        super().__init__()
        self.step = nn.Linear(4, 4)

    def forward(self, x):
        for _ in range(int(x.abs().sum().clamp(max=5)) + 1):
            x = torch.relu(self.step(x))
        return x


class ReturnsNone(nn.Module):
    input_shape = (4,)

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)

    def forward(self, x):
        self.a(x)
        return None


class SeqFirst(nn.Module):
    """Sequence-first attention: the batch is dimension 1 of the hidden states."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(3, 8)
        self.att = nn.MultiheadAttention(8, 2)
        self.head = nn.Linear(8, 2)

    def example_input(self):
        return torch.randn(5, 2, 3)  # (T, B, C)

    def forward(self, x):
        h = self.embed(x)
        a, _ = self.att(h, h, h, need_weights=False)
        return self.head(a.mean(0))
