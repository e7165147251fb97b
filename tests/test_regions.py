"""Exact linear regions against a brute-force grid (docs/science.md §6): on random networks with
and without skip arcs, every grid point lies in the polygon whose code is the network's code
there, the output there is that polygon's affine map, the areas tile the box, and one layer of n
lines in general position cuts the plane into 1 + n + n(n-1)/2 regions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explorer.regions.partition import Partition, partition_of
from explorer.regions.plan import NotPiecewiseLinear
from explorer.regions.plane import Plane, PlaneError

GRID = 400


class Chain(nn.Module):
    """2 -> w -> w -> 2, activation `act`; records pre-activations by layer name."""

    def __init__(self, w: int = 8, act: str = "relu"):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(2, w), nn.Linear(w, w), nn.Linear(w, 2)
        self.act = act
        self.pre: dict[str, torch.Tensor] = {}

    def phi(self, t: torch.Tensor) -> torch.Tensor:
        return {"relu": torch.relu, "abs": torch.abs, "leaky": lambda u: F.leaky_relu(u, 0.1),
                "tanh": torch.tanh}[self.act](t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.fc1(x)
        b = self.fc2(self.phi(a))
        self.pre = {"fc1": a, "fc2": b}
        return self.out(self.phi(b))


class Skips(nn.Module):
    """A DAG: a Linear skip x -> fc2, an identity skip h1 -> fc3, and h1 concatenated into the head."""

    def __init__(self, w: int = 7):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(2, w), nn.Linear(w, w), nn.Linear(w, w)
        self.skip = nn.Linear(2, w)
        self.bn = nn.BatchNorm1d(w)
        self.out = nn.Linear(2 * w, 3)
        self.pre: dict[str, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.fc1(x)
        h1 = torch.relu(a)
        b = self.bn(self.fc2(h1)) + self.skip(x)
        h2 = F.leaky_relu(b, 0.2)
        c = self.fc3(h2) + h1
        self.pre = {"fc1": a, "fc2": b, "fc3": c}
        return self.out(torch.cat([torch.relu(c), h1], dim=1))


class Pooled(nn.Module):
    """Linear -> 2 channels of 4 -> 1x1 conv -> ReLU -> max-pool over pairs -> Linear."""

    def __init__(self):
        super().__init__()
        self.fc, self.conv, self.out = nn.Linear(2, 8), nn.Conv1d(2, 3, 1), nn.Linear(6, 2)
        self.pre: dict[str, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.fc(x)
        b = self.conv(torch.relu(a).view(-1, 2, 4))
        self.pre = {"fc": a, "conv": b}
        return self.out(F.max_pool1d(torch.relu(b), 2).flatten(1))


def _eval(model: nn.Module, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=1.0)
            nn.init.normal_(m.bias, std=0.5)
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_()
    return model.double().eval()


def column(model: nn.Module, unit: str) -> np.ndarray:
    """The network's own code of one partition column at the last forward: `layer[k]` is unit k's
    pre-activation > 0; `layer[c]:i` position i of channel c; a max-pool column its argmax in the window."""
    name, _, rest = unit.partition("[")
    k, _, pos = rest.partition("]")
    if name == "max_pool1d":  # windows are pairs of positions of the ReLU'd conv channel
        h = np.maximum(model.pre["conv"].numpy(), 0)
        q = int(pos[1:])
        return np.argmax(h[:, int(k), 2 * q:2 * q + 2], axis=1)
    t = model.pre[name].numpy()
    v = t[:, int(k)] if not pos else t[:, int(k), int(pos[1:])]
    return (v > 0).astype(np.int64)


def check_exact(model: nn.Module, box=(-2.0, 2.0, -2.0, 2.0)) -> Partition:
    P = partition_of(model, Plane.rect(*box))
    _, _, uv = Plane.rect(*box).grid(GRID)
    x = torch.from_numpy(uv)
    with torch.no_grad():
        logits = model(x).numpy()
    ref = np.stack([column(model, u) for u in P.code_units], 1)  # the network's code at every grid point
    region_of = {row.tobytes(): r for r, row in enumerate(P.codes.astype(np.int64))}
    assert len(region_of) == len(P), "two regions share a code"
    # every grid point: its code names a region, and it lies in that region's polygon
    keys = [row.tobytes() for row in ref.astype(np.int64)]
    missing = [k for k in set(keys) if k not in region_of]
    assert not missing, f"{len(missing)} grid codes have no polygon"
    reg = np.array([region_of[k] for k in keys])
    for r in np.unique(reg):
        inside = P.polygons.contains(int(r), uv[reg == r], tol=1e-7)
        assert inside.all(), f"region {r}: {int((~inside).sum())} grid points with its code lie outside it"
    # its output is the region's affine map there
    assert np.abs(P.logits_at(uv, reg) - logits).max() < 1e-8
    # areas tile the box; at least as many regions as distinct grid codes
    a = P.polygons.areas()
    assert (a > 0).all()
    box_area = (box[1] - box[0]) * (box[3] - box[2])
    assert abs(a.sum() - box_area) < 1e-9 * box_area
    assert len(P) >= len(np.unique(ref, axis=0))
    assert P.per_level[-1] == len(P) and list(P.per_level) == sorted(P.per_level)
    assert (len(P.decision) > 0) == (len(np.unique(logits.argmax(1))) > 1)
    return P


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("act", ["relu", "leaky", "abs"])
def test_chain_is_exact(seed, act):
    P = check_exact(_eval(Chain(8, act), seed))
    assert len(P) > 10


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_skip_arcs_are_exact(seed):
    P = check_exact(_eval(Skips(), seed))
    assert len(P) > 10


def test_max_pool_is_exact():
    P = check_exact(_eval(Pooled(), 0))
    assert any(":" in u for u in P.code_units)  # pool columns present


@pytest.mark.parametrize("n", [1, 3, 6, 9])
def test_one_layer_gives_the_arrangement_count(n):
    torch.manual_seed(n)
    net = nn.Sequential(nn.Linear(2, n), nn.ReLU(), nn.Linear(n, 2)).double()
    W, b = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    pts = [np.linalg.solve(W[[i, j]], -b[[i, j]]) for i, j in itertools.combinations(range(n), 2)]
    r = 2 * max([1.0] + [float(np.abs(p).max()) for p in pts])  # every crossing inside the box
    P = partition_of(net, Plane.rect(-r, r, -r, r))
    assert len(P) == 1 + n + n * (n - 1) // 2
    assert len(P.units) == n


def test_decision_boundary_is_where_the_logits_tie():
    m = _eval(Skips(), 5)
    P = partition_of(m, Plane.rect(-2, 2, -2, 2))
    t = np.linspace(0, 1, 5)
    pts = (P.decision[:, :1, :] * (1 - t)[None, :, None] + P.decision[:, 1:, :] * t[None, :, None]).reshape(-1, 2)
    with torch.no_grad():
        out = m(torch.from_numpy(pts)).numpy()
    top2 = np.sort(out, axis=1)[:, -2:]
    assert np.abs(top2[:, 1] - top2[:, 0]).max() < 1e-8


def test_unit_boundaries_lie_on_the_zero_set():
    m = _eval(Skips(), 6)
    P = partition_of(m, Plane.rect(-2, 2, -2, 2))
    for u in P.units[:6]:
        seg = P.boundaries_of(u)
        mid = seg.mean(axis=1)
        with torch.no_grad():
            m(torch.from_numpy(mid))
        layer, k = u.rpartition("[")[0], int(u.rpartition("[")[2][:-1])
        assert np.abs(m.pre[layer][:, k].numpy()).max() < 1e-8


def test_plane_through_three_anchors_of_a_40_d_input():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(40, 12), nn.ReLU(), nn.Linear(12, 12), nn.ReLU(), nn.Linear(12, 10)).double().eval()
    a, b, c = torch.randn(3, 40, dtype=torch.float64)
    plane = Plane.through(a.numpy(), b.numpy(), c.numpy())
    P = partition_of(net, plane)
    _, _, uv = plane.grid(100)
    with torch.no_grad():
        out = net(torch.from_numpy(plane.inputs(uv))).numpy()
    cen = P.polygons.centroids()
    assert len(P) > 5 and abs(P.polygons.areas().sum() - plane.area) < 1e-9
    with torch.no_grad():
        at_c = net(torch.from_numpy(plane.inputs(cen))).numpy()
    assert np.abs(P.logits_at(cen, np.arange(len(P))) - at_c).max() < 1e-9
    assert out.shape == (10000, 10)


def test_smooth_activations_are_refused_and_bad_planes_named():
    with pytest.raises(NotPiecewiseLinear, match="tanh"):
        partition_of(_eval(Chain(4, "tanh"), 0), Plane.rect(-1, 1, -1, 1))
    with pytest.raises(PlaneError, match="2-input"):
        partition_of(nn.Sequential(nn.Linear(3, 2)), Plane.rect(-1, 1, -1, 1))
    with pytest.raises(PlaneError, match="collinear"):
        Plane.through(np.zeros(3), np.ones(3), 2 * np.ones(3))
