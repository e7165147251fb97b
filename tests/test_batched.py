"""Batched tickets (issue 4 §6): K variants trained at once == K plain torch loops, one by one."""

import math

import pytest
import torch
from torch import nn

from explorer import zoo
from explorer.mask import Mask, prunable_names
from explorer.training.batched import BatchedError, Data, batch_order, train_batched


def random_mask(model: nn.Module, keep: float, seed: int) -> Mask:
    g = torch.Generator().manual_seed(seed)
    return Mask({n: (torch.rand(p.shape, generator=g) < keep).float()
                 for n, p in model.named_parameters() if n in prunable_names(model)})


def toy_data(d_in: int, n_classes: int, n: int = 256, n_test: int = 64, seed: int = 0) -> Data:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d_in, n_classes, generator=g)
    x = torch.randn(n + n_test, d_in, generator=g)
    y = (x @ w).argmax(1)  # learnable labels
    return Data(x[:n], y[:n], x[n:], y[n:])


def plain_loop(spec, mask, init_seed, data, optimizer, lr, steps, batch_size, order_seed, momentum=0.0):
    """The reference: one model, torch.optim, mask applied at init and after every step."""
    model = zoo.load(spec, seed=init_seed).model.train()
    mask.apply_(model)
    opt = (torch.optim.Adam(model.parameters(), lr=lr) if optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum))
    order = batch_order(len(data.x_train), batch_size, steps, order_seed)
    losses = []
    for s in range(steps):
        x, y = data.x_train[order[s]], data.y_train[order[s]]
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        mask.apply_(model)
        losses.append(loss.item())
    return losses, {k: v.detach() for k, v in model.state_dict().items()}


CASES = [("mlp", 40, 10, "adam", 1e-3, 0.0), ("mlp", 40, 10, "sgd", 0.05, 0.9),
         ("moons_mlp", 2, 2, "adam", 1e-2, 0.0), ("moons_mlp", 2, 2, "sgd", 0.1, 0.0),
         ("cnn1d", 40, 10, "adam", 1e-3, 0.0)]


@pytest.mark.parametrize("spec,d_in,n_out,optimizer,lr,momentum", CASES)
def test_batched_equals_sequential(spec, d_in, n_out, optimizer, lr, momentum):
    data = toy_data(d_in, n_out)
    model = zoo.load(spec).model
    # variants differ in mask (dense, two sparsities) and in init seed
    masks = [Mask(), random_mask(model, 0.5, 1), random_mask(model, 0.2, 2), random_mask(model, 0.5, 1)]
    seeds = [0, 0, 3, 4]
    steps = 25
    out = train_batched(spec, masks, seeds, data, optimizer, lr, steps=steps, batch_size=32, eval_every=10,
                        momentum=momentum, data_seed=7)
    for k, (mask, seed) in enumerate(zip(masks, seeds)):
        ref_losses, ref_state = plain_loop(spec, mask, seed, data, optimizer, lr, steps, 32, 7, momentum)
        got = [r["train_loss"] for r in out[k].rows]
        assert out[k].status == "done" and out[k].steps_done == steps
        torch.testing.assert_close(torch.tensor(got), torch.tensor(ref_losses), rtol=1e-4, atol=1e-5)
        for n, ref in ref_state.items():
            torch.testing.assert_close(out[k].state_dict[n], ref, rtol=1e-4, atol=1e-5, msg=lambda m: f"{spec} {n}: {m}")
        for n, m in mask.items():  # pruned entries stay exactly zero
            assert (out[k].state_dict[n][m == 0] == 0).all()


def test_given_weights_and_per_variant_data_seeds():
    data = toy_data(40, 10)
    w0 = {k: v.clone() for k, v in zoo.load("mlp", seed=11).model.state_dict().items()}
    out = train_batched("mlp", [Mask(), Mask()], [w0, 11], data, "adam", 1e-3, steps=10, batch_size=16,
                        eval_every=5, data_seeds=[1, 2])
    for k, order_seed in enumerate([1, 2]):
        ref_losses, ref_state = plain_loop("mlp", Mask(), 11, data, "adam", 1e-3, 10, 16, order_seed)
        torch.testing.assert_close(torch.tensor([r["train_loss"] for r in out[k].rows]), torch.tensor(ref_losses),
                                   rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(out[k].state_dict, ref_state, rtol=1e-4, atol=1e-5)
    # same init, different data order: different trajectories
    assert out[0].rows[-1]["train_loss"] != out[1].rows[-1]["train_loss"]


def test_rows_sink_and_evaluation():
    data = toy_data(40, 10)
    seen = {0: [], 1: []}
    out = train_batched("mlp", [Mask(), Mask()], [0, 1], data, "sgd", 0.1, steps=12, batch_size=16, eval_every=5,
                        sink=lambda k, rows: seen[k].extend(rows))
    for k in (0, 1):
        assert seen[k] == out[k].rows  # everything reached the sink, in order, once
        assert [r["step"] for r in out[k].rows] == list(range(1, 13))
        assert [r["step"] for r in out[k].rows if "test_acc" in r] == [5, 10, 12]
        # the test metrics are the model's own on the test set at the end
        model = zoo.load("mlp").model
        model.load_state_dict(out[k].state_dict)
        with torch.no_grad():
            acc = (model(data.x_test).argmax(1) == data.y_test).float().mean().item()
        assert math.isclose(out[k].rows[-1]["test_acc"], acc, abs_tol=1e-6)


def test_diverged_variant_does_not_touch_the_others():
    data = toy_data(40, 10)
    bad = {k: v.clone() for k, v in zoo.load("mlp", seed=5).model.state_dict().items()}
    bad["out.bias"][0] = float("nan")
    out = train_batched("mlp", [Mask(), Mask()], [0, bad], data, "adam", 1e-3, steps=8, batch_size=16, eval_every=4)
    assert out[1].status == "diverged" and out[1].steps_done == 1
    assert out[0].status == "done"
    ref_losses, ref_state = plain_loop("mlp", Mask(), 0, data, "adam", 1e-3, 8, 16, 0)
    torch.testing.assert_close(torch.tensor([r["train_loss"] for r in out[0].rows]), torch.tensor(ref_losses),
                               rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out[0].state_dict, ref_state, rtol=1e-4, atol=1e-5)


def test_should_stop_cancels_all():
    data = toy_data(40, 10)
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3

    out = train_batched("mlp", [Mask(), Mask()], [0, 1], data, "sgd", 0.1, steps=50, batch_size=16, eval_every=10,
                        should_stop=stop)
    assert [v.status for v in out] == ["cancelled", "cancelled"]
    assert [v.steps_done for v in out] == [3, 3]


def test_batch_order_is_epochs_of_permutations():
    order = batch_order(10, 3, 7, seed=4)  # 3 batches per epoch, one example dropped per epoch
    assert order.shape == (7, 3)
    for e in range(2):
        epoch = order[3 * e: 3 * e + 3].flatten()
        assert len(set(epoch.tolist())) == 9 and epoch.max() < 10
    assert torch.equal(order, batch_order(10, 3, 7, seed=4))
    assert not torch.equal(order, batch_order(10, 3, 7, seed=5))


def test_refusals_name_the_problem():
    data = toy_data(40, 10)
    with pytest.raises(BatchedError, match="one init per mask"):
        train_batched("mlp", [Mask(), Mask()], [0], data)
    with pytest.raises(BatchedError, match="buffers"):
        train_batched("resnet_tiny", [Mask()], [0], Data(torch.randn(8, 1, 8, 8), torch.zeros(8).long(),
                                                          torch.randn(4, 1, 8, 8), torch.zeros(4).long()))
    with pytest.raises(BatchedError, match="unknown optimizer"):
        train_batched("mlp", [Mask()], [0], data, optimizer="rmsprop")
    with pytest.raises(BatchedError, match="batch_size 999"):
        train_batched("mlp", [Mask()], [0], data, batch_size=999)
    with pytest.raises(ValueError, match="not a parameter"):
        train_batched("mlp", [Mask({"nope.weight": torch.ones(2, 2)})], [0], data)
    with pytest.raises(BatchedError, match="x_train"):
        Data.of(object())
