"""The signal-propagation lab against independent references: Jacobians and their singular values
against torch.autograd.functional.jacobian + torch.linalg.svdvals, the orthogonal identity of deep
linear nets, per-layer maps by two routes and by hand, held zeros through isometry, kept fractions
equal to the asked sparsity."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from explorer import models
from explorer.models.generated import deep_mlp_spec
from explorer.models.init_schemes import SCHEMES, apply_init, as_matrix, parse_scheme
from explorer.propagation.at_init import CRITERIA, agreement, prune_at_init
from explorer.propagation.depth import DepthConfig, depth_sweep
from explorer.propagation.isometry import IsometryConfig, approximate_isometry, isometry_penalty
from explorer.propagation.lab import LabConfig, doc_from_frames, run_lab, sized
from explorer.propagation.layers import autograd_layer_spectra
from explorer.propagation.lifted import lifting_level_spectra
from explorer.propagation.spectrum import jacobian_spectrum, jacobians

pytestmark = pytest.mark.usefixtures("one_thread")


def _inputs(lm, k: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(k, *lm.info.input_shape, generator=torch.Generator().manual_seed(seed))


def _reference(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Per-input loop of torch.autograd.functional.jacobian on a float64 copy: (K, n_out, n_in)."""
    m = copy.deepcopy(model).double().eval()
    out = []
    for xi in x.double():
        J = torch.autograd.functional.jacobian(lambda a: m(a.unsqueeze(0)).reshape(-1), xi)
        out.append(J.reshape(J.shape[0], -1))
    return torch.stack(out)


@pytest.mark.parametrize("spec", [deep_mlp_spec(4, 12, "tanh", 6, 5), "mlp_skip", "cnn1d", "resnet_tiny"])
def test_jacobians_and_singular_values_match_autograd_and_svdvals(spec):
    lm = models.load(spec)
    x = _inputs(lm, 3)
    ref = _reference(lm.model, x)
    J = jacobians(lm.model, x)
    assert J.shape == ref.shape
    assert float((J - ref).abs().max()) < 1e-10
    s = jacobian_spectrum(lm.model, x)
    sv = torch.linalg.svdvals(ref)  # (K, r), descending
    assert s.values.shape == tuple(sv.shape)
    assert float(abs(torch.from_numpy(s.values) - sv).max()) < 1e-10
    st = s.stats()
    assert st.n == sv.numel() and math.isclose(st.mean, float(sv.mean()), rel_tol=1e-9)
    assert math.isclose(st.max, float(sv.max()), rel_tol=1e-9) and st.min <= st.quantiles[3] <= st.max


def test_deep_linear_orthogonal_net_is_an_exact_isometry():
    """Depth 7, width 100, orthogonal init: every singular value of the input–output Jacobian and of
    every layer map is 1 to 1e-5 (float32 weights), at every input."""
    lm = models.load(deep_mlp_spec(7, 100, "linear"))
    apply_init(lm.model, "orthogonal", seed=3)
    x = _inputs(lm, 16)
    s = jacobian_spectrum(lm.model, x).values
    assert s.shape == (16, 100)
    assert abs(s - 1).max() < 1e-5
    for layer in autograd_layer_spectra(lm.model, x[:4]):
        assert abs(layer.values - 1).max() < 1e-5, layer.layer


@pytest.mark.parametrize("scheme,act", [("gaussian:1", "linear"), ("kaiming-normal", "tanh")])
def test_gaussian_and_kaiming_spread_grows_with_depth(scheme, act):
    """The relative spread std/mean of the singular values grows with every depth (3, 7, 15, 30)."""
    d = depth_sweep(DepthConfig(width=60, act=act, depths=(3, 7, 15, 30), schemes=(scheme,), inputs=2))
    cv = [p["std"] / p["mean"] for p in d["points"]]
    assert cv == sorted(cv) and cv[-1] > 2 * cv[0], cv
    assert d["points"][-1]["max"] / d["points"][-1]["min"] > 1e6


def test_depth_sweep_orthogonal_stays_isometric_at_every_depth():
    d = depth_sweep(DepthConfig(width=30, depths=(3, 30), schemes=("orthogonal",), inputs=2))
    assert all(abs(p["min"] - 1) < 1e-5 and abs(p["max"] - 1) < 1e-5 for p in d["points"])


@pytest.mark.parametrize("spec", [deep_mlp_spec(4, 10, "relu", 6, 3), deep_mlp_spec(3, 8, "hardtanh"), "cnn1d"])
def test_per_layer_maps_lifting_equals_autograd(spec):
    """On chain networks the level-l block of D_l(x) T_l(x) is the layer map phi'(W a) W: the two routes agree."""
    lm = models.load(spec)
    apply_init(lm.model, "kaiming-normal", seed=1)
    x = _inputs(lm, 3)
    a = autograd_layer_spectra(lm.model, x)
    b = lifting_level_spectra(lm.model, x)
    assert [s.layer for s in a] == [s.layer for s in b]
    for sa, sb in zip(a, b):
        assert sa.shape == sb.shape and float(abs(sa.values - sb.values).max()) < 1e-10


def test_per_layer_map_equals_hand_computed_layer_jacobian():
    """Layer 2 of a tanh MLP: the map a -> tanh(W a + b) at the layer's actual input, by hand."""
    net = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 6), nn.Tanh(), nn.Linear(6, 2)).double()
    x = torch.randn(4, 5, dtype=torch.float64)
    got = autograd_layer_spectra(net, x)[1]
    assert got.layer == "2" and got.activation == "tanh"
    a = torch.tanh(net[0](x))  # (K, 7) the layer's input
    for k in range(4):
        J = torch.autograd.functional.jacobian(lambda v: torch.tanh(net[2](v)), a[k].detach())
        assert float(abs(torch.linalg.svdvals(J) - torch.from_numpy(got.values[k])).max()) < 1e-12


def test_per_layer_big_maps_are_skipped_with_the_reason():
    lm = models.load("cnn1d")
    out = autograd_layer_spectra(lm.model, _inputs(lm, 2), max_entries=20_000)
    skipped = [s for s in out if s.values is None]
    assert skipped and all("cap" in s.note for s in skipped)


# ---- init schemes ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in SCHEMES if n != "as-built"])
def test_every_scheme_draws_seeded_with_zero_bias(name):
    a, b = models.load("cnn1d"), models.load("cnn1d", seed=5)
    apply_init(a.model, name, seed=2)
    apply_init(b.model, name, seed=2)  # another as-built init, the same scheme and seed: the same weights
    for (n, p), (_, q) in zip(a.model.named_parameters(), b.model.named_parameters()):
        assert torch.equal(p, q), n
        if n.endswith("bias"):
            assert float(p.detach().abs().max()) == 0.0


def test_scheme_scales_follow_their_formulas():
    big = nn.Sequential(nn.Linear(400, 300), nn.ReLU(), nn.Linear(300, 300))
    expect = {"kaiming-normal": math.sqrt(2 / 400), "xavier-normal": math.sqrt(2 / 700),
              "lecun-normal": math.sqrt(1 / 400), "gaussian:2": math.sqrt(2 / 400), "kaiming-uniform": math.sqrt(2 / 400)}
    for scheme, std in expect.items():
        apply_init(big, scheme, seed=0)
        assert abs(float(big[0].weight.detach().std()) / std - 1) < 0.02, scheme
    report = apply_init(big, "orthogonal", seed=0)
    assert [(r.activation, round(r.gain, 4)) for r in report] == [("relu", round(math.sqrt(2), 4)), (None, 1.0)]
    W = big[0].weight.detach().double()  # (300, 400): orthonormal rows times the ReLU gain
    assert float((W @ W.T - 2 * torch.eye(300, dtype=torch.float64)).abs().max()) < 1e-5


def test_orthogonal_conv_is_orthogonal_as_a_c_out_by_minus_one_matrix_and_delta_is_centred():
    conv = nn.Sequential(nn.Conv2d(8, 16, 3), nn.Conv2d(16, 4, 3))
    apply_init(conv, "orthogonal", seed=0)
    M = as_matrix(conv[0]).detach().double()  # (16, 72)
    assert float((M @ M.T - torch.eye(16, dtype=torch.float64)).abs().max()) < 1e-5
    apply_init(conv, "delta-orthogonal", seed=0)
    w = conv[0].weight.detach()
    off = w.clone()
    off[:, :, 1, 1] = 0
    assert float(off.abs().max()) == 0.0
    C = w[:, :, 1, 1].double()  # (16, 8): orthonormal columns
    assert float((C.T @ C - torch.eye(8, dtype=torch.float64)).abs().max()) < 1e-5


def test_as_built_leaves_the_model_alone_and_bad_schemes_are_refused():
    lm = models.load("mlp")
    before = {k: v.clone() for k, v in lm.model.state_dict().items()}
    assert apply_init(lm.model, "as-built", seed=1) == []
    assert all(torch.equal(before[k], v) for k, v in lm.model.state_dict().items())
    with pytest.raises(ValueError, match="unknown init scheme"):
        parse_scheme("he")
    with pytest.raises(ValueError, match="positive"):
        parse_scheme("gaussian:-1")


# ---- pruning at init and isometry -------------------------------------------------------------


@pytest.mark.parametrize("criterion", CRITERIA)
@pytest.mark.parametrize("scope", ["global", "layer"])
def test_kept_fractions_equal_the_asked_sparsity(criterion, scope):
    lm = models.load(deep_mlp_spec(3, 20, "tanh", 40, 10))
    apply_init(lm.model, "orthogonal", seed=0)
    p = prune_at_init(lm, criterion, 0.9, scope=scope, batch_size=64)
    sizes = {n: v.numel() for n, v in p.mask.items()}
    total = sum(sizes.values())
    assert p.mask.total - p.mask.kept == math.floor(0.9 * total + 0.5)
    kept = {n.removesuffix(".weight"): float(v.mean()) for n, v in p.mask.items()}
    assert kept == pytest.approx(p.kept)
    if scope == "layer":
        assert all(abs(f - 0.1) <= 1 / sizes[f"{n}.weight"] + 1e-9 for n, f in p.kept.items())


def test_supervised_and_unsupervised_snip_masks_differ_but_agree_mostly():
    lm = models.load(deep_mlp_spec(3, 20, "tanh", 40, 10))
    a = prune_at_init(lm, "snip", 0.8, batch_size=128)
    b = prune_at_init(lm, "snip_unsupervised", 0.8, batch_size=128)
    assert a.mask != b.mask and 0.2 < agreement(a.mask, b.mask) < 1.0
    assert agreement(a.mask, a.mask) == 1.0


@pytest.mark.parametrize("spec", [deep_mlp_spec(4, 16, "linear"), "cnn1d"])
def test_isometry_holds_pruned_entries_at_zero_and_lowers_the_penalty(spec):
    lm = models.load(spec)
    apply_init(lm.model, "orthogonal", seed=0)
    p = prune_at_init(lm, "snip", 0.8, batch_size=64)
    pruned = p.mask.apply_(copy.deepcopy(lm.model))
    r = approximate_isometry(pruned, p.mask, IsometryConfig(steps=150, lr=0.05))
    params = dict(r.model.named_parameters())
    for name, c in p.mask.items():
        assert float(params[name].detach()[c == 0].abs().max()) == 0.0, name  # exactly zero
    assert r.penalty[0] == pytest.approx(isometry_penalty(pruned, p.mask), rel=1e-5)
    assert r.penalty[-1] < 0.6 * r.penalty[0]
    for n, q in lm.model.named_parameters():  # biases and the input model untouched
        if n.endswith("bias"):
            assert torch.equal(params[n], dict(pruned.named_parameters())[n])


def test_isometry_of_a_dense_net_reaches_an_orthogonal_one():
    net = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8))
    r = approximate_isometry(net, None, IsometryConfig(steps=400, lr=0.1, schedule="cosine"))
    assert r.reduction > 50
    s = jacobian_spectrum(r.model, torch.randn(2, 8)).values
    assert abs(s - 1).max() < 0.05


# ---- the lab document ---------------------------------------------------------------------------


def test_lab_document_stages_and_frames_rebuild_it():
    frames = []
    cfg = LabConfig(model=deep_mlp_spec(3, 12, "tanh", 6, 4), schemes=("orthogonal", "gaussian:1.5"), inputs=3,
                    criterion="snip_unsupervised", sparsity=0.7, isometry_steps=30, per_layer="lifting")
    doc = run_lab(cfg, emit=lambda k, p: frames.append((k, p)))
    assert [e["init"] for e in doc["schemes"]] == ["orthogonal", "gaussian:1.5"]
    for e in doc["schemes"]:
        assert [s["stage"] for s in e["stages"]] == ["init", "pruned", "isometry"]
        assert all(s["route"] == "lifting" and len(s["per_layer"]) == 3 for s in e["stages"])
        assert len(e["stages"][0]["singular_values"]) == 3 * 4
        assert e["pruning"]["other"]["criterion"] == "snip"
        assert len(e["isometry"]["penalty"]) == 31
    live = doc_from_frames(frames)
    assert [[s["stage"] for s in e["stages"]] for e in live["schemes"]] == [["init", "pruned", "isometry"]] * 2
    assert live["schemes"][0]["isometry"]["penalty"][-1] == pytest.approx(doc["schemes"][0]["isometry"]["penalty"][-1])


def test_lab_auto_route_uses_autograd_for_a_deep_linear_net():
    """A deep linear net folds into one unit level, so auto reads its layers by autograd."""
    doc = run_lab(LabConfig(model=deep_mlp_spec(3, 6, "linear"), schemes=("orthogonal",), inputs=2))
    st = doc["schemes"][0]["stages"][0]
    assert st["route"] == "autograd" and [l["layer"] for l in st["per_layer"]] == ["fc1", "fc2", "fc3"]


def test_image_models_take_a_smaller_size_and_huge_jacobians_are_refused():
    lm = models.load("resnet18")
    small = sized(lm, 32)
    assert small.info.input_shape == (3, 32, 32) and tuple(small.example_input.shape) == (1, 3, 32, 32)
    with pytest.raises(ValueError, match="150,528,000 entries.*smaller image size"):
        sized(lm, 0)


def test_lab_config_refuses_what_cannot_run():
    with pytest.raises(ValueError, match="isometry step repairs a pruned network"):
        LabConfig(isometry_steps=10)
    with pytest.raises(ValueError, match="criterion"):
        LabConfig(criterion="synflow")
    assert LabConfig.from_dict(LabConfig(schemes=("gaussian:2.0",)).to_dict()).schemes == ("gaussian:2",)
