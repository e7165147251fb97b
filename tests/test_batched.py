"""Batched tickets: K variants trained at once == K runs trained one by one
(a plain torch loop, and TRAIN's runner.execute), and sweeps land in the store as runs."""

from __future__ import annotations

import math
import time

import pytest
import torch
from torch import nn

from explorer import models
from explorer.data import Batches
from explorer.pruning.mask import Mask, prunable_names
from explorer.training import batched
from explorer.training.batched import BatchedError, Data, batch_order, train_batched
from explorer.training.config import RunConfig
from explorer.training.runner import execute
from explorer.training.sweep import execute_sweep, why_not_batched

TOL = dict(rtol=1e-4, atol=1e-5)


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


def plain_loop(spec, mask, init, data, optimizer, lr, steps, batch_size, data_seed, momentum=0.0):
    """The reference: one model, torch.optim, data.Batches, mask applied at init and after every step."""
    model = models.load(spec, seed=init).model.train() if isinstance(init, int) else init
    mask.apply_(model)
    opt = (torch.optim.Adam(model.parameters(), lr=lr) if optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum))
    batches = iter(Batches(data.x_train, data.y_train, batch_size, data_seed))
    losses = []
    for _ in range(steps):
        x, y = next(batches)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        mask.apply_(model)
        losses.append(loss.item())
    return losses, {k: v.detach() for k, v in model.state_dict().items()}


def train_losses(result) -> list[float]:
    return [r["loss"] for r in result.rows if r["split"] == "train"]


CASES = [("mlp", 40, 10, "adam", 1e-3, 0.0), ("mlp", 40, 10, "sgd", 0.05, 0.9),
         ("moons_mlp", 2, 2, "adam", 1e-2, 0.0), ("moons_mlp", 2, 2, "sgd", 0.1, 0.0),
         ("cnn1d", 40, 10, "adam", 1e-3, 0.0), ("cnn1d", 40, 10, "sgd", 0.05, 0.9)]


@pytest.mark.parametrize("spec,d_in,n_out,optimizer,lr,momentum", CASES)
def test_batched_equals_sequential(spec, d_in, n_out, optimizer, lr, momentum):
    data = toy_data(d_in, n_out)
    model = models.load(spec).model
    # variants differ in mask (dense, two sparsities) and in init seed
    masks = [Mask(), random_mask(model, 0.5, 1), random_mask(model, 0.2, 2), random_mask(model, 0.5, 1)]
    seeds = [0, 0, 3, 4]
    steps = 15
    out = train_batched(spec, masks, seeds, data, optimizer, lr, steps=steps, batch_size=32, eval_every=10,
                        momentum=momentum, data_seed=7)
    for k, (mask, seed) in enumerate(zip(masks, seeds)):
        ref_losses, ref_state = plain_loop(spec, mask, seed, data, optimizer, lr, steps, 32, 7, momentum)
        assert out[k].status == "done" and out[k].steps_done == steps
        torch.testing.assert_close(torch.tensor(train_losses(out[k])), torch.tensor(ref_losses), **TOL)
        for n, ref in ref_state.items():
            torch.testing.assert_close(out[k].state_dict[n], ref, **TOL, msg=lambda m: f"{spec} variant {k} {n}: {m}")
        for n, m in mask.items():  # pruned entries stay exactly zero
            assert (out[k].state_dict[n][m == 0] == 0).all()


def test_batch_order_is_the_order_of_data_batches():
    n, b = 103, 10  # ragged: 3 examples dropped per epoch
    x = torch.arange(n).float().unsqueeze(1)
    it = iter(Batches(x, torch.zeros(n).long(), b, data_seed=5))
    expected = torch.stack([next(it)[0].squeeze(1).long() for _ in range(25)])
    assert torch.equal(batch_order(n, b, 25, seed=5), expected)
    order = batch_order(n, b, 25, seed=5)
    for e in range(2):  # within an epoch no example repeats
        assert len(set(order[10 * e: 10 * e + 10].flatten().tolist())) == 100
    assert batch_order(8, 50, 3, seed=0).shape == (3, 8)  # clamped to the set, as Batches does


def test_given_weights_and_per_variant_data_seeds():
    data = toy_data(40, 10)
    w0 = {k: v.clone() for k, v in models.load("mlp", seed=11).model.state_dict().items()}
    out = train_batched("mlp", [Mask(), Mask()], [w0, 11], data, "adam", 1e-3, steps=10, batch_size=16,
                        eval_every=5, data_seeds=[1, 2])
    for k, order_seed in enumerate([1, 2]):
        ref_losses, ref_state = plain_loop("mlp", Mask(), 11, data, "adam", 1e-3, 10, 16, order_seed)
        torch.testing.assert_close(torch.tensor(train_losses(out[k])), torch.tensor(ref_losses), **TOL)
        torch.testing.assert_close(out[k].state_dict, ref_state, **TOL)
    assert train_losses(out[0])[-1] != train_losses(out[1])[-1]  # same init, other order: other path


def test_rows_windows_sink_and_evaluation():
    data = toy_data(40, 10)
    seen = {0: [], 1: []}
    out = train_batched("mlp", [Mask(), Mask()], [0, 1], data, "sgd", 0.1, steps=12, batch_size=16, eval_every=5,
                        log_every=4, sink=lambda k, rows: seen[k].extend(rows))
    for k in (0, 1):
        assert seen[k] == out[k].rows  # everything reached the sink, in order, once
        assert [r["step"] for r in out[k].rows if r["split"] == "train"] == [4, 8, 12]
        assert [r["step"] for r in out[k].rows if r["split"] == "test"] == [0, 5, 10, 12]
        # a train row is the mean over its window of the per-step batch losses
        per_step = train_batched("mlp", [Mask()], [k], data, "sgd", 0.1, steps=12, batch_size=16, eval_every=99)
        losses = train_losses(per_step[0])
        assert math.isclose(out[k].rows[-2]["loss"] if out[k].rows[-2]["split"] == "train" else out[k].rows[-1]["loss"],
                            sum(losses[8:12]) / 4, rel_tol=1e-5)
        # the last test row is the final model's own loss and accuracy on the test set
        model = models.load("mlp").model
        model.load_state_dict(out[k].state_dict)
        with torch.no_grad():
            logits = model(data.x_test)
        last = out[k].last("test")
        assert math.isclose(last["acc"], (logits.argmax(1) == data.y_test).float().mean().item(), abs_tol=1e-6)
        assert math.isclose(last["loss"], nn.functional.cross_entropy(logits, data.y_test).item(), rel_tol=1e-5)


def test_diverged_variant_does_not_touch_the_others():
    data = toy_data(40, 10)
    bad = {k: v.clone() for k, v in models.load("mlp", seed=5).model.state_dict().items()}
    bad["out.bias"][0] = float("nan")
    out = train_batched("mlp", [Mask(), Mask()], [0, bad], data, "adam", 1e-3, steps=8, batch_size=16, eval_every=4,
                        log_every=2)
    assert out[1].status == "diverged" and out[1].steps_done == 2
    assert out[1].rows[-1]["split"] == "train"  # as the runner: no test row after divergence
    assert out[0].status == "done"
    ref_losses, ref_state = plain_loop("mlp", Mask(), 0, data, "adam", 1e-3, 8, 16, 0)
    torch.testing.assert_close(torch.tensor(train_losses(out[0])),
                               torch.tensor(ref_losses).view(-1, 2).mean(1), **TOL)
    torch.testing.assert_close(out[0].state_dict, ref_state, **TOL)


def test_cancel_stops_one_variant(monkeypatch):
    monkeypatch.setattr(batched, "STOP_POLL_SECONDS", 0.0)
    data = toy_data(40, 10)
    polls = {0: 0, 1: 0}

    def stop(k):
        polls[k] += 1
        return k == 1 and polls[k] >= 3

    out = train_batched("mlp", [Mask(), Mask()], [0, 1], data, "sgd", 0.1, steps=20, batch_size=16, eval_every=10,
                        log_every=5, should_stop=stop)
    assert [v.status for v in out] == ["done", "cancelled"]
    assert [v.steps_done for v in out] == [20, 3]
    assert [(r["step"], r["split"]) for r in out[1].rows] == [(0, "test"), (3, "train"), (3, "test")]


def test_refusals_name_the_problem():
    data = toy_data(40, 10)
    with pytest.raises(BatchedError, match="one init per mask"):
        train_batched("mlp", [Mask(), Mask()], [0], data)
    with pytest.raises(ValueError, match="unknown optimizer"):
        train_batched("mlp", [Mask()], [0], data, optimizer="rmsprop")
    with pytest.raises(ValueError, match="not a parameter"):
        train_batched("mlp", [Mask({"nope.weight": torch.ones(2, 2)})], [0], data)
    with pytest.raises(BatchedError, match="x_train"):
        Data.of(object())
    assert "differ in dataset" in why_not_batched([RunConfig(dataset="moons"), RunConfig(dataset="mnist1d")])


# ---- sweeps of run configs == runner.execute, one by one ---------------------------------


@pytest.fixture
def pruned_dir(tmp_path):
    f = tmp_path / "mask.safetensors"  # a bare mask file is a valid pruned_dir (init._mask_source)
    random_mask(models.load("moons_mlp", 123).model, 0.4, 9).save(f)
    return str(f)


def cfg(**kw) -> RunConfig:
    base = dict(model="moons_mlp", dataset="moons", steps=30, eval_every=10, log_every=5, device="cpu")
    return RunConfig(**{**base, **kw})


def collect():
    rows: dict[str, list] = {}
    return rows, lambda rid, rs: rows.setdefault(rid, []).extend(rs)


@pytest.mark.parametrize("common", [dict(optimizer="adam", lr=1e-2),
                                    dict(optimizer="sgd", lr=0.05, momentum=0.9, schedule="cosine", steps=23)])
def test_sweep_equals_runner_one_by_one(tmp_path, pruned_dir, common):
    configs = [cfg(init="dense", seed=0, rewind_step=10, **common), cfg(init="ticket", seed=0, pruned_dir=pruned_dir, **common),
               cfg(init="reinit", seed=0, pruned_dir=pruned_dir, **common),
               cfg(init="random", seed=1, pruned_dir=pruned_dir, data_seed=3, **common)]
    rows, sink = collect()
    started = []
    results = execute_sweep(configs, sink, checkpoint_root=tmp_path / "batched_ckpt",
                            on_start=lambda rid, dev, tv: started.append(rid))
    assert started == [c.run_id for c in configs]
    for c, r in zip(configs, results):
        ref_rows = []
        ref = execute(c, ref_rows.extend, checkpoint_root=tmp_path / "runner_ckpt")
        got = rows[c.run_id]
        assert [(x["step"], x["split"]) for x in got] == [(x["step"], x["split"]) for x in ref_rows]
        for key in ("loss", "acc"):
            torch.testing.assert_close(torch.tensor([x[key] for x in got]), torch.tensor([x[key] for x in ref_rows]),
                                       **TOL, msg=lambda m: f"{c.init} {key}: {m}")
        assert (r.run_id, r.status, r.steps_done, r.params, r.kept_params) == \
               (ref.run_id, ref.status, ref.steps_done, ref.params, ref.kept_params)
        assert math.isclose(r.sparsity, ref.sparsity) and set(r.final) == set(ref.final)
    # the dense run saved the same rewind checkpoints as the runner would
    from safetensors.torch import load_file

    for step in (0, 10):
        a = load_file(str(tmp_path / "batched_ckpt" / configs[0].run_id / f"step_{step}.safetensors"))
        b = load_file(str(tmp_path / "runner_ckpt" / configs[0].run_id / f"step_{step}.safetensors"))
        torch.testing.assert_close(a, b, **TOL)


def test_batchnorm_and_rewritten_tickets_train_batched_as_one_by_one(tmp_path):
    """resnet_tiny (BatchNorm: each variant its own running statistics) with a residual branch cut at
    op level (the ticket is another architecture: it trains beside its own kind): the batched job
    gives the runner's curves, run by run."""
    import os

    from explorer.graph import build_dag
    from explorer.pruning import operations as ops
    from explorer.pruning.pipeline import run
    from explorer.training.sweep import architectures
    from explorer.training import roles

    os.environ["EXPLORER_DATA_DIR"] = str(tmp_path)
    lm = models.load_cached("resnet_tiny")
    dag = build_dag(lm, "op")
    branch = next(b for h in ops.merge_heads(dag) for b in ops.branches_of(dag, h) if b.nodes)
    out = run(lm, dag, selection=branch, out=tmp_path / "cut", spec="resnet_tiny", seed=0, repeats=3, onnx=False)
    base = dict(model="resnet_tiny", dataset="digits", steps=12, eval_every=6, log_every=3, device="cpu",
                optimizer="adam", lr=3e-3, batch_size=32)
    configs = [RunConfig(init="dense", seed=0, **base), RunConfig(init="ticket", seed=0, pruned_dir=str(out.out), **base),
               RunConfig(init="reinit", seed=0, pruned_dir=str(out.out), **base)]
    # (no random control: no other branch of resnet_tiny has this one's size, so it is refused — tests/test_controls.py)
    starts = [roles.build(c, tmp_path / "ck0") for c in configs]
    assert len(architectures(starts)) >= 2  # dense and the rewritten ticket differ
    rows, sink = collect()
    execute_sweep(configs, sink, checkpoint_root=tmp_path / "ck1")
    for c in configs:
        ref_rows = []
        execute(c, ref_rows.extend, checkpoint_root=tmp_path / "ck2")
        for key in ("loss", "acc"):
            torch.testing.assert_close(torch.tensor([x[key] for x in rows[c.run_id]]),
                                       torch.tensor([x[key] for x in ref_rows]), rtol=1e-3, atol=1e-3,
                                       msg=lambda m: f"{c.init} {key}: {m}")


def wait_for(pred, timeout=120.0):
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_a_batched_job_writes_runs_to_the_store_and_cancels(tmp_path, pruned_dir):
    """A sweep submitted to the local backend is ONE `train.batch` job whose children are the runs: the worker
    trains them together, each keeps its own metrics and summary under its own id, and a cancel of one run
    (or of the batch) stops it cleanly."""
    from explorer.jobs.backends import LocalBackend
    from explorer.training.kinds import BATCH, submit_runs
    from explorer.training.store import RunStore

    store = RunStore(tmp_path / "data")
    be = LocalBackend(store)
    short = [cfg(init="dense", seed=0, group="g"), cfg(init="ticket", seed=0, pruned_dir=pruned_dir, group="g"),
             cfg(init="random", seed=0, pruned_dir=pruned_dir, group="g")]
    ids = submit_runs(be, short, batched=True)
    assert ids == [c.run_id for c in short]
    batch = store.get_job(store.get(ids[0]).parent)
    assert batch.kind == BATCH and [j.id for j in store.list_jobs(parent=batch.id)] == ids
    assert store.claimable() or batch.status != "queued"  # the batch is the root the worker takes: never a run alone
    assert wait_for(lambda: all(store.get(r).status == "done" for r in ids)), [store.get(r) for r in ids]
    for rid in ids:
        run = store.get(rid)
        m = store.metrics(rid)
        assert [x["step"] for x in m if x["split"] == "test"] == [0, 10, 20, 30]
        assert run.summary["steps_done"] == 30 and run.device == "cpu" and run.progress == 1.0
        assert "batched job of 3 runs" in run.summary["init_source"]
    assert wait_for(lambda: store.get_job(batch.id).status == "done")
    assert [r.id for r in store.list_runs(group="g")] == ids
    assert submit_runs(be, short, batched=True) == ids and all(store.get(r).status == "done" for r in ids)  # not re-run

    long = [cfg(seed=s, steps=200_000, eval_every=1000, group="long") for s in (5, 6)]
    ids = submit_runs(be, long, batched=True)
    assert wait_for(lambda: all(store.metrics(r, split="train") for r in ids))
    for rid in ids:
        store.request_cancel(rid)
    assert wait_for(lambda: all(store.get(r).status == "cancelled" for r in ids), 60)
    assert all(store.get(r).step < 200_000 for r in ids)
    with pytest.raises(BatchedError, match="differ in lr"):
        submit_runs(be, [cfg(lr=0.1), cfg(lr=0.2)], batched=True)
