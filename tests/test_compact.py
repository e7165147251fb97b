"""Compaction: the compacted model computes what the masked model computes, is smaller, and
the input model is never modified."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from explorer import models
from explorer.pruning.mask import Mask
from explorer.pruning.compact import compact, compact_summary, compact_with_report, masked_copy, probes
from explorer.pruning.criteria import propose

ZOO_UNITS = ["mlp", "mlp_skip", "cnn1d", "resnet_tiny", "densenet_tiny", "inception_tiny", "unet_tiny",
             "transformer_tiny", "moons_mlp"]


pytestmark = pytest.mark.usefixtures("one_thread")


def _randomise_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Trained-looking BatchNorms: non-zero running statistics and affine parameters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=g))
                m.bias.copy_(torch.randn(m.num_features, generator=g))
    return model


def _n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("name", ZOO_UNITS)
@pytest.mark.parametrize("sparsity,scope", [(0.25, "layer"), (0.5, "global"), (0.7, "layer")])
def test_compacted_equals_masked_on_every_zoo_model(name, sparsity, scope):
    lm = models.load(name)
    _randomise_norms(lm.model)
    before = copy.deepcopy(lm.model.state_dict())
    p = propose(lm, "magnitude", sparsity, target="units", scope=scope)
    small, report = compact_with_report(lm.model, p.mask, lm.example_input)
    masked = masked_copy(lm.model, p.mask)
    xs = probes(lm.example_input, n=7, seed=1)  # other inputs than compaction checked on
    with torch.no_grad():
        ref, got = masked(xs), small(xs)
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, atol=1e-5, rtol=1e-4), float((got - ref).abs().max())
    assert sum(report.removed.values()) > 0, report.refused
    assert _n_params(small) < _n_params(lm.model)
    for k, v in lm.model.state_dict().items():
        assert torch.equal(v, before[k]), f"compact modified the input model's {k}"


def test_transformer_mlp_hidden_units_are_removed():
    lm = models.load("transformer_tiny")
    p = propose(lm, "magnitude", 0.5, target="units", scope="layer")
    small = compact(lm.model, p.mask, lm.example_input)
    gone = len(p.pruned["mlp.0"])
    assert gone > 0 and small.mlp[0].out_features == 32 - gone and small.mlp[2].in_features == 32 - gone


def test_weight_masks_keep_shapes_and_zeros():
    lm = models.load("cnn1d")
    p = propose(lm, "magnitude", 0.5)  # unstructured: no unit is emptied at 50%
    small = compact(lm.model, p.mask, lm.example_input)
    masked = masked_copy(lm.model, p.mask)
    assert _n_params(small) == _n_params(lm.model)
    assert sum(int((q == 0).sum()) for q in small.parameters()) >= p.mask.total - p.mask.kept
    with torch.no_grad():
        assert torch.allclose(small(probes(lm.example_input)), masked(probes(lm.example_input)), atol=1e-6)


def test_a_channel_that_batchnorm_shifts_is_not_removed():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Flatten(), nn.Linear(4 * 16, 2)).eval()
    with torch.no_grad():
        model[1].bias.copy_(torch.tensor([0.0, 0.7, 0.0, 0.0]))  # channel 1: BN(0) = 0.7, not empty
    mask = Mask({"0.weight": torch.ones(4, 1, 3, 3)})
    mask["0.weight"][1] = 0
    mask["0.weight"][2] = 0  # channel 2: BN(0) = 0: empty, removable
    x = torch.randn(1, 1, 4, 4)
    small, report = compact_with_report(model, mask, x)
    assert small[0].out_channels == 3 and report.removed == {"0": 1}
    with torch.no_grad():
        assert torch.allclose(small(probes(x)), masked_copy(model, mask)(probes(x)), atol=1e-6)


def test_a_unit_a_sigmoid_maps_to_one_half_stays_masked():
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2)).eval()
    w = torch.ones(4, 3)
    w[0] = 0
    mask = Mask({"0.weight": w, "0.bias": torch.tensor([0.0, 1, 1, 1])})
    x = torch.randn(1, 3)
    small, report = compact_with_report(model, mask, x)
    assert small[0].out_features == 4 and "0" in report.refused
    with torch.no_grad():
        assert torch.allclose(small(probes(x)), masked_copy(model, mask)(probes(x)), atol=1e-6)


@pytest.mark.slow
def test_torchvision_resnet18():
    lm = models.load("resnet18")
    _randomise_norms(lm.model)
    x = torch.randn(1, 3, 64, 64)
    p = propose(lm.model, "magnitude", 0.5, target="units", example_input=x)
    small = compact(lm.model, p.mask, x)
    masked = masked_copy(lm.model, p.mask)
    xs = probes(x, n=1, seed=3)
    with torch.no_grad():
        ref, got = masked(xs), small(xs)
    assert torch.allclose(got, ref, atol=1e-4, rtol=1e-4), float((got - ref).abs().max())
    assert _n_params(small) < 0.5 * _n_params(lm.model)
    assert small.layer1[0].conv1.out_channels == 32 and small.conv1.out_channels == 32


def test_compact_summary_counts():
    lm = models.load("cnn1d")
    p = propose(lm, "magnitude", 0.5, target="units")
    masked = masked_copy(lm.model, p.mask)
    small = compact(lm.model, p.mask, lm.example_input)
    s = compact_summary(lm.model, masked, small, lm.example_input)
    assert s["masked"]["macs"] == s["dense"]["macs"]  # dense kernels multiply the zeros
    assert s["masked"]["params"] == s["dense"]["params"]
    assert s["masked"]["nonzero_params"] < s["dense"]["nonzero_params"]
    assert s["compacted"]["macs"] < s["dense"]["macs"] and s["mac_reduction"] > 2
    assert s["compacted"]["nonzero_params"] == s["masked"]["nonzero_params"]
    assert s["max_abs_diff"] < 1e-5
    # MACs against a hand count: conv1 (C,1,5)->19, conv2 (C,C,3)->10, conv3 (C,C,3)->5, linear 5C->10
    c1, c2, c3 = small.conv1.out_channels, small.conv2.out_channels, small.conv3.out_channels
    hand = c1 * 5 * 19 + c2 * c1 * 3 * 10 + c3 * c2 * 3 * 5 + 5 * c3 * 10
    assert abs(s["compacted"]["macs"] - hand) <= c1 * 19 + c2 * 10 + c3 * 5 + 10  # bias adds, if counted
