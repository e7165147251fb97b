"""The early-bird callback in the real loop: a mask per evaluation (BatchNorm |γ| or |w|), pairwise
distances, the L1 term on γ, activation codes for the spline variant; the global threshold is exact
and never empties a layer."""

from __future__ import annotations

import torch

from explorer import models
from explorer.data import load_dataset
from explorer.lottery.earlybird import EarlyBird, SplineDetector, keep_vector, scores, to_mask
from explorer.training.config import RunConfig
from explorer.training.loop import Callback
from explorer.training.runner import execute


def test_keep_vector_prunes_the_ratio_globally_and_keeps_one_per_layer():
    s = {"a": torch.tensor([5.0, 6.0, 7.0, 8.0]), "b": torch.tensor([0.1, 0.2, 0.3, 0.4])}
    keep = keep_vector(s, 0.5)
    assert keep[:4].all() and keep[4:].tolist() == [False, False, False, True]  # b keeps its largest
    even = keep_vector({"a": torch.arange(10.0)}, 0.3)
    assert int((~even).sum()) == 3 and not even[:3].any()
    m = to_mask("bn", {"bn.weight": torch.tensor([1.0, 0.1])}, torch.tensor([True, False]))
    assert m["bn.weight"].tolist() == [1.0, 0.0] and m["bn.bias"].tolist() == [1.0, 0.0]


def test_spline_detector_needs_a_run_of_small_distances():
    d = SplineDetector(window=3, threshold=0.16)
    a = [torch.zeros(100, dtype=torch.bool)]
    flip = lambda k: [torch.cat([torch.ones(k, dtype=torch.bool), torch.zeros(100 - k, dtype=torch.bool)])]  # noqa: E731
    out = [d.push(c)[1] for c in (a, flip(50), flip(40), flip(35), flip(30), flip(28))]
    assert out == [False, False, False, False, True, True]  # distances 0.5, 0.1, 0.05, 0.05, 0.02
    assert [round(x, 2) for x in d.history] == [0.5, 0.1, 0.05, 0.05, 0.02]


class Gammas(Callback):
    """Mean |γ| of every BatchNorm at the end of training."""

    def on_end(self, s):
        self.value = float(torch.cat([v.flatten() for v in scores(s.model)[1].values()]).abs().mean())


def run(model: str, dataset: str, l1: float = 0.0, steps: int = 20):
    c = RunConfig(model=model, dataset=dataset, steps=steps, eval_every=5, lr=1e-2, batch_size=32, device="cpu")
    probe = load_dataset(dataset).reshaped(models.load(model).info.input_shape).x_test[:64]
    eb, gam = EarlyBird([0.3, 0.7], 0.5, every=5, probe=probe, window=3, l1_gamma=l1), Gammas()
    res = execute(c, extra_callbacks=[eb, gam])
    return eb, res, gam


def test_callback_watches_batchnorm_scales_with_l1(one_thread):
    eb, res, plain = run("resnet_tiny", "digits", l1=0.0)
    assert res.status == "done" and eb.kind == "bn" and eb.steps == [0, 5, 10, 15, 20]
    assert eb.ratios == [0.3, 0.5, 0.7] and set(eb.records[-1]["distances"]) == {"0.3", "0.5", "0.7"}
    m = torch.tensor(eb.matrix())
    assert torch.allclose(m, m.T) and (m.diagonal() == 0).all() and m.shape == (5, 5)
    assert len(eb.records[0]["row"]) == 0 and len(eb.records[-1]["row"]) == 4
    assert eb.final is not None and all(k.endswith((".weight", ".bias")) for k in eb.final)
    assert len(eb.spline.history) == 4  # codes compared between successive evaluations
    strong, _, pulled = run("resnet_tiny", "digits", l1=1.0)
    assert strong.hooks == []  # the gradient hooks are removed at the end of training
    assert pulled.value < plain.value  # the L1 term pulls the BatchNorm scales towards 0


def test_callback_on_weights_without_batchnorm(one_thread):
    eb, res, _ = run("mlp", "mnist1d")
    assert eb.kind == "magnitude" and res.status == "done"
    total = sum(p.numel() for n, p in eb.final.items())
    assert abs(eb.final.sparsity - 0.5) < 3 / total + 1e-9
