"""Models the project has never seen: defined only here, loaded as `tests/user_models.py:ClassName`.

They stay inside the unit-level vocabulary (Linear/Conv/BatchNorm/activations/pooling/
flatten/add/cat) so every granularity and `verify` can run on them, and each says what
it eats with `input_shape` (without the batch dimension).
"""

import torch
from torch import nn


class LongSkipMLP(nn.Module):
    """MLP whose first hidden layer is added back after two more layers: a skip arc spanning 4 op levels."""

    input_shape = (12,)

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.fc2 = nn.Linear(16, 16)
        self.fc3 = nn.Linear(16, 16)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        h1 = torch.relu(self.fc1(x))  # level 2
        h2 = torch.relu(self.fc2(h1))  # level 4
        h3 = self.fc3(h2) + h1  # add at level 6: the skip h1 -> add spans 4 levels
        return self.head(torch.relu(h3))


class ConcatPoolCNN(nn.Module):
    """CNN with a max-pool branch and an avg-pool branch concatenated, then a residual block."""

    input_shape = (2, 8, 8)

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.max_branch = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(4, 3, 1))
        self.avg_branch = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(4, 3, 3, padding=1))
        self.res_conv = nn.Conv2d(6, 6, 3, padding=1)
        self.res_bn = nn.BatchNorm2d(6)
        self.head = nn.Linear(6 * 4 * 4, 5)

    def forward(self, x):
        h = torch.relu(self.stem(x))  # (4, 8, 8)
        c = torch.cat([self.max_branch(h), self.avg_branch(h)], dim=1)  # (6, 4, 4)
        r = torch.relu(self.res_bn(self.res_conv(c)) + c)  # residual
        return self.head(torch.flatten(r, 1))


class BranchyNet(nn.Module):
    """Three parallel branches of depth 1, 2 and 3 from one input, merged by a sum and a concatenation."""

    input_shape = (10,)

    def __init__(self):
        super().__init__()
        self.a1 = nn.Linear(10, 8)
        self.b1 = nn.Linear(10, 8)
        self.b2 = nn.Linear(8, 8)
        self.c1 = nn.Linear(10, 8)
        self.c2 = nn.Linear(8, 8)
        self.c3 = nn.Linear(8, 8)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        a = torch.relu(self.a1(x))
        b = self.b2(torch.relu(self.b1(x)))
        c = self.c3(torch.relu(self.c2(torch.relu(self.c1(x)))))
        return self.head(torch.cat([a + b, torch.tanh(c)], dim=1))


class DeepNarrowConvNet(nn.Module):
    """1-D conv stack with a strided layer and a dense (concatenating) shortcut from the stem to the head."""

    input_shape = (1, 16)

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv1d(1, 3, 3, padding=1)
        self.body = nn.Sequential(nn.Conv1d(3, 3, 3, padding=1), nn.ReLU(), nn.Conv1d(3, 3, 3, stride=2, padding=1),
                                  nn.ReLU())
        self.pool = nn.AvgPool1d(2)
        self.head = nn.Linear(3 * 8 + 3 * 8, 2)

    def forward(self, x):
        s = torch.relu(self.stem(x))  # (3, 16)
        return self.head(torch.cat([self.body(s).flatten(1), self.pool(s).flatten(1)], dim=1))


class TwinBlocks(nn.Module):
    """Two residual blocks of the same widths: at op level each branch has a twin of the same size
    (the random control of a branch cut is the other block's branch)."""

    input_shape = (8,)

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(8, 16)
        self.a1, self.a2 = nn.Linear(16, 16), nn.Linear(16, 16)
        self.b1, self.b2 = nn.Linear(16, 16), nn.Linear(16, 16)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        h = torch.relu(self.stem(x))
        h = h + self.a2(torch.relu(self.a1(h)))
        h = h + self.b2(torch.relu(self.b1(h)))
        return self.head(h)


MODELS = ["LongSkipMLP", "ConcatPoolCNN", "BranchyNet", "DeepNarrowConvNet"]

