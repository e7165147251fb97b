"""What the playground builds on the exact partition: probe codes, the partition distance and its
early-bird draw, spline redundancy, pruning a unit through the selection/mask machinery, the grid
approximation of smooth nets, and the compact frame encoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explorer.graph.unit import unit_dag
from explorer.lifting.numeric import NumericLifting
from explorer.pruning.apply import apply
from explorer.pruning.selection import Selection
from explorer.regions.distance import DistanceError, early_bird, partition_distance
from explorer.regions.encoding import decode, encode
from explorer.regions.partition import partition
from explorer.regions.plane import Plane
from explorer.regions.probe import codes_at, probe_codes
from explorer.regions.redundancy import redundant_units, spline_selection
from explorer.regions.view import exact_view, grid_view, view

BOX = Plane.rect(-3, 3, -3, 3)


class Skip(nn.Module):
    def __init__(self, act=torch.relu):
        super().__init__()
        self.fc1, self.fc2, self.skip, self.out = nn.Linear(2, 6), nn.Linear(6, 6), nn.Linear(2, 6), nn.Linear(6, 2)
        self.act = act

    def forward(self, x):
        h = self.act(self.fc1(x))
        return self.out(self.act(self.fc2(h) + self.skip(x)))


def _lift(m: nn.Module) -> NumericLifting:
    return NumericLifting(unit_dag(m, torch.zeros(1, 2), "t"))


def test_probe_codes_are_the_partition_codes_at_the_centroids():
    torch.manual_seed(0)
    L = _lift(Skip())
    P = partition(L, BOX)
    codes, level = codes_at(L, BOX.inputs(P.polygons.centroids()))
    assert (codes == P.codes).all()
    assert level.tolist() == [1] * 6 + [2] * 6
    pc = probe_codes(L, BOX, 50)
    assert len(np.unique(pc.codes, axis=0)) <= len(P)


def test_partition_distance_properties():
    torch.manual_seed(1)
    m = Skip()
    a = probe_codes(_lift(m), BOX, 40)
    assert partition_distance(a.codes, a.codes, a.level) == 0.0
    with torch.no_grad():
        m.fc2.bias += 0.3
    b = probe_codes(_lift(m), BOX, 40)
    d = partition_distance(a.codes, b.codes, b.level)
    assert 0 < d <= 1 and d == partition_distance(b.codes, a.codes, a.level)
    assert partition_distance(a.codes, 1 - a.codes, a.level) == 1.0
    with pytest.raises(DistanceError, match="same network"):
        partition_distance(a.codes, b.codes[:, :3], b.level[:3])


def test_early_bird_needs_a_full_window_below_the_threshold():
    assert early_bird([None, 0.01, 0.01, 0.01]) == 3
    assert early_bird([0.01, 0.5, 0.01, 0.01]) is None
    assert early_bird([0.2, 0.1, 0.1, 0.1, 0.5], window=3, threshold=0.16) == 3


def test_spline_redundancy_finds_a_duplicated_boundary_and_pruning_removes_it():
    torch.manual_seed(2)
    m = Skip()
    with torch.no_grad():  # unit 4 of fc1 draws unit 1's line (scaled), so the two boundaries coincide
        m.fc1.weight[4] = 0.5 * m.fc1.weight[1]
        m.fc1.bias[4] = 0.5 * m.fc1.bias[1]
    L = _lift(m)
    assert [u for u, _ in redundant_units(L, 0.999)] == ["fc1[4]"]
    sel = spline_selection(L, 0.999)
    P0 = partition(L, BOX)
    pruned = apply(m, L.dag, sel, torch.zeros(1, 2))
    P1 = partition(_lift(pruned.model), BOX)
    assert "fc1[4]" in P0.units and "fc1[4]" not in P1.units
    assert len(P1) <= len(P0)
    with torch.no_grad():  # the redundant unit adds no region: its line is already there
        assert len(P1.boundaries_of("fc1[1]")) > 0


def test_pruning_a_unit_removes_its_boundary_and_never_adds_regions():
    torch.manual_seed(3)
    m = Skip()
    L = _lift(m)
    P0 = partition(L, BOX)
    for u in ("fc1[0]", "fc2[2]"):
        p = apply(m, L.dag, Selection.from_ids(L.dag, [u]), torch.zeros(1, 2))
        P1 = partition(_lift(p.model), BOX)
        assert u in P0.units and u not in P1.units
        assert len(P1) < len(P0) or u.startswith("fc2")  # a first-layer line always cuts some region in two


def test_smooth_nets_get_a_labelled_grid_approximation():
    torch.manual_seed(4)
    L = _lift(Skip(torch.tanh))
    v = view(L, BOX, res=60)
    assert not v.exact and v.grid is not None and v.grid["cls"].shape == (60, 60)
    assert 6 <= len(v.units) <= 12 and len(v.bounds) > 0  # units whose zero set crosses the box
    w = decode(encode(v))
    assert not w.exact and (w.grid["cls"] == v.grid["cls"]).all()
    # on a ReLU net the grid approximation's sign patterns never outnumber the exact regions
    L2 = _lift(Skip())
    assert grid_view(L2, BOX, 60).regions <= len(partition(L2, BOX))


def test_encoding_round_trip_is_within_a_quantum():
    torch.manual_seed(5)
    v = exact_view(partition(_lift(Skip()), BOX))
    w = decode(encode(v))
    q = 6 / 65535
    assert w.regions == v.regions and w.per_level == v.per_level and w.units == v.units
    assert np.abs(w.cells.xy - v.cells.xy).max() <= q
    assert (w.cells.counts == v.cells.counts).all() and (w.cls == v.cls).all()
    assert np.abs(w.bounds - v.bounds).max() <= q and np.abs(w.decision - v.decision).max() <= q
    assert np.abs(w.conf - v.conf).max() <= 1 / 255
    # the cells tile the box and each lies in its region
    assert abs(v.cells.areas().sum() - BOX.area) < 1e-9
