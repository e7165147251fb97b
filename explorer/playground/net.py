"""`PlaygroundNet`: layers × neurons on the input features, with skip arcs between any two layers.

Layer 0 holds the features, layers 1..L the hidden units, layer L+1 the output logits. Layer j
computes `phi(W_j h_{j-1} + sum_i S_ij h_i + b_j)` over the skip arcs i -> j it receives (each
`S_ij` a bias-free Linear, added before the activation; the output layer has no phi). Its unit
DAG (explorer.graph.unit) names the neurons `h1[0]`, ..., `out[1]`, the inputs `x[k]`; a skip
arc is an arc spanning levels. "linear" is a LeakyReLU of slope 1, so each hidden neuron stays a
node of the DAG (an identity makes none) while the regions see no bend.

    >>> from explorer.playground.config import PlaygroundConfig
    >>> net = build_net(PlaygroundConfig(hidden=(3, 3), skips=("0-2", "1-3")))
    >>> net
    PlaygroundNet(2 -> 3 -> 3 -> 2, relu, skips 0-2, 1-3)
    >>> [len(h) for h in net.layers(torch.zeros(4, 2))]
    [2, 3, 3, 2]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from explorer.concurrency import seeded
from explorer.playground.config import PlaygroundConfig


def _phi(name: str, t: torch.Tensor) -> torch.Tensor:
    if name == "relu":
        return torch.relu(t)
    if name == "leaky_relu":
        return F.leaky_relu(t, 0.1)
    if name == "abs":
        return torch.abs(t)
    if name == "linear":
        return F.leaky_relu(t, 1.0)
    if name == "tanh":
        return torch.tanh(t)
    return torch.sigmoid(t)


class PlaygroundNet(nn.Module):
    """See the module doc. `widths` = [features, hidden..., classes]; `skips` = [(i, j)]."""

    def __init__(self, widths: list[int], activation: str, skips: list[tuple[int, int]]):
        super().__init__()
        self.widths, self.activation, self.skips = list(widths), activation, list(skips)
        L = len(widths) - 2
        for j in range(1, L + 2):
            setattr(self, self.layer_name(j), nn.Linear(widths[j - 1], widths[j]))
        for i, j in self.skips:
            setattr(self, f"skip{i}_{j}", nn.Linear(widths[i], widths[j], bias=False))

    @property
    def depth(self) -> int:
        return len(self.widths) - 2

    def layer_name(self, j: int) -> str:
        return "out" if j == self.depth + 1 else f"h{j}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hs = [x]
        for j in range(1, self.depth + 2):
            z = getattr(self, self.layer_name(j))(hs[j - 1])
            for i, jj in self.skips:
                if jj == j:
                    z = z + getattr(self, f"skip{i}_{j}")(hs[i])
            hs.append(_phi(self.activation, z) if j <= self.depth else z)
        return hs[-1]

    @torch.no_grad()
    def layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[x, h_1, ..., h_L, logits]: every layer's values (width, B) at inputs x (B, n_in) — the units' heatmaps."""
        hs = [x]
        for j in range(1, self.depth + 2):
            z = getattr(self, self.layer_name(j))(hs[j - 1])
            for i, jj in self.skips:
                if jj == j:
                    z = z + getattr(self, f"skip{i}_{j}")(hs[i])
            hs.append(_phi(self.activation, z) if j <= self.depth else z)
        return [h.T for h in hs]

    def __repr__(self) -> str:
        sk = ", ".join(f"{i}-{j}" for i, j in self.skips) or "none"
        return f"PlaygroundNet({' -> '.join(map(str, self.widths))}, {self.activation}, skips {sk})"


def build_net(cfg: PlaygroundConfig) -> PlaygroundNet:
    """The network of `cfg`, initialised from `cfg.seed` (PyTorch's default init), float32."""
    with seeded(cfg.seed):  # the global generator is the process's: other sessions build at the same time
        return PlaygroundNet(cfg.widths, cfg.activation, cfg.skip_pairs())
