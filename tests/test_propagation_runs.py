"""The lab meets training: init schemes in run configs and roles, the `saved` role, the trainability
grid as one comparison group, the lab's job kinds and the `spectrum` CLI."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
import torch
from safetensors.torch import load_file

from explorer import models
from explorer.cli import main
from explorer.training import roles
from explorer.lottery.verdict import compare, facts
from explorer.models.generated import deep_mlp_spec
from explorer.models.init_schemes import apply_init
from explorer.propagation.grid import prepare_grid
from explorer.propagation.lab import LabConfig
from explorer.training.config import HASHED_WHEN_SET, ConfigError, RunConfig
from explorer.jobs.backends import InlineBackend
from explorer.propagation.kinds import DEPTH, GRID, SPECTRA, grid_config
from explorer.training.sweep import batched_blocker, execute_sweep
from explorer.training.store import RunStore

pytestmark = pytest.mark.usefixtures("one_thread")
NET = deep_mlp_spec(3, 16, "tanh", 40, 10)


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    return tmp_path


def test_init_scheme_is_hashed_only_when_set_and_canonical():
    c = RunConfig(model="mlp", steps=10)
    old = {k: v for k, v in c.to_dict().items() if k not in ("label", *HASHED_WHEN_SET)}  # a run stored before these fields
    assert c.run_id == hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()[:12]
    assert c.replace(init_scheme="orthogonal").run_id != c.run_id
    assert RunConfig(init_scheme="Gaussian:2.0").init_scheme == "gaussian:2"
    with pytest.raises(ConfigError, match="init_scheme"):
        RunConfig(init_scheme="glorot")


def test_dense_role_draws_the_scheme():
    start = roles.build(RunConfig(model=NET, dataset="mnist1d", init_scheme="orthogonal", seed=4))
    ref = models.load(NET, 4).model
    apply_init(ref, "orthogonal", 4)
    assert all(torch.equal(a, b) for a, b in zip(start.model.state_dict().values(), ref.state_dict().values()))
    assert "orthogonal weights" in start.source


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    root = tmp_path_factory.mktemp("grid")
    lab = LabConfig(model=NET, schemes=("orthogonal", "kaiming-normal"), criterion="snip", sparsity=0.9,
                    isometry_steps=40, snip_batch=128)
    base = RunConfig(model=NET, dataset="mnist1d", optimizer="sgd", lr=0.1, steps=30, eval_every=15, log_every=5,
                     device="cpu")
    return root, lab, prepare_grid(lab, base, [0, 1], root)


def test_grid_is_one_group_of_dense_pruned_and_isometry_runs(grid):
    _, lab, g = grid
    cs = [RunConfig.from_dict(d) for d in g["configs"]]
    assert len(cs) == 2 * 2 * 3 and len({c.group for c in cs}) == 1 and len({c.run_id for c in cs}) == 12
    assert sorted({(c.init, c.init_scheme) for c in cs}) == sorted(
        (r, s) for r in ("dense", "ticket", "saved") for s in lab.schemes)
    assert batched_blocker(cs) is None  # one architecture, no buffers: one batched job
    assert all(e["penalty_after"] < e["penalty_before"] for e in g["exports"])


def test_ticket_role_rebuilds_the_labs_pruned_weights_and_saved_loads_the_isometric_ones(grid):
    _, _, g = grid
    for c in (RunConfig.from_dict(d) for d in g["configs"]):
        if c.init == "dense":
            continue
        start = roles.build(c)
        saved = load_file(f"{c.pruned_dir}/weights.safetensors")
        for k, v in start.model.state_dict().items():
            assert torch.equal(v, saved[k]), (c.label, k)  # the role's start is exactly what the lab pruned
        for k, m in start.mask.items():
            assert float(start.model.state_dict()[k][m == 0].abs().max()) == 0.0


def test_saved_role_refuses_a_mismatched_scheme_and_a_bare_mask(grid, tmp_path):
    _, _, g = grid
    c = next(RunConfig.from_dict(d) for d in g["configs"] if d["init"] == "saved" and d["init_scheme"] == "orthogonal")
    with pytest.raises(roles.InitError, match="init scheme 'orthogonal'"):
        roles.build(c.replace(init_scheme="kaiming-normal"))
    bare = tmp_path / "mask.safetensors"
    roles.build(c).mask.save(bare)
    with pytest.raises(roles.InitError, match="bare mask"):
        roles.build(c.replace(pruned_dir=str(bare)))


def test_grid_trains_batched_and_compares_scheme_by_scheme(grid):
    root, lab, g = grid
    cs = [RunConfig.from_dict(d) for d in g["configs"] if d["seed"] == 0]
    res = execute_sweep(cs, checkpoint_root=root / "ck")
    assert [r.status for r in res] == ["done"] * 6
    assert all(math.isclose(r.sparsity, 0.9, abs_tol=1e-3) for c, r in zip(cs, res) if c.init != "dense")

    class Run:  # what `facts` reads from a store run
        def __init__(self, c, r):
            self.id, self.config, self.status, self.summary = c.run_id, c, r.status, r.to_dict()

    rows = [{"step": 30, "split": "train", "acc": r.final["train_acc"], "loss": 0.0} for r in res]
    cmp = compare([facts(Run(c, r), [row]) for c, r, row in zip(cs, res, rows)])
    assert [(row.scheme, row.role) for row in cmp.rows] == [(s, r) for s in lab.schemes for r in ("dense", "ticket", "saved")]
    assert cmp.records()[0]["init"] == "orthogonal"
    assert cmp.verdict.startswith("orthogonal: ") and " kaiming-normal: " in cmp.verdict


def test_lab_jobs_run_inline(tmp_path):
    store = RunStore(tmp_path)
    cfg = LabConfig(model=deep_mlp_spec(2, 6, "relu"), schemes=("orthogonal",), inputs=2, criterion="random",
                    sparsity=0.5, isometry_steps=5)
    be = InlineBackend(store)
    job = be.run(SPECTRA, cfg)
    assert job.status == "done", job.error
    assert [f.kind for f in store.frames(job.id)][:3] == ["stage", "pruning", "stage"]
    assert len(job.result["schemes"][0]["stages"]) == 3
    d = be.run(DEPTH, {"width": 6, "depths": [2, 4], "schemes": ["orthogonal"], "inputs": 2})
    assert d.status == "done" and [p["depth"] for p in d.result["points"]] == [2, 4]
    base = RunConfig(model=cfg.model, dataset="mnist1d", steps=20, eval_every=10, device="cpu")
    bad = be.run(GRID, grid_config(cfg, base, [0]))
    assert bad.status == "failed" and "model" in bad.error  # a 6 -> 6 net cannot train on MNIST-1D's 40 values
    ok = be.run(GRID, grid_config(cfg.replace(model=NET), base.replace(model=NET), [0]))
    assert ok.status == "done", ok.error
    assert len(ok.result["configs"]) == 3 and (tmp_path / "exports").is_dir()
    # the grid trains its runs itself, as its children (one batched job): no page has to submit them
    runs = store.list_runs(group=ok.result["group"])
    assert len(runs) == 3 and all(r.status == "done" for r in runs)
    assert {store.get_job(r.parent).parent for r in runs} == {ok.id}


def test_cli_spectrum_json_document(capsys):
    assert main(["spectrum", deep_mlp_spec(7, 100, "linear"), "--init", "orthogonal", "--inputs", "4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert list(d) == ["init", "singular_values", "mean", "std", "min", "max", "per_layer", "kept_fraction", "isometry"]
    assert d["init"] == "orthogonal" and len(d["singular_values"]) == 400
    assert all(abs(v - 1) < 1e-5 for v in d["singular_values"])
    assert [set(l) for l in d["per_layer"]] == [{"layer", "mean", "std", "min", "max"}] * 7
    assert d["kept_fraction"] == {} and d["isometry"] == {"penalty": []}
    assert main(["spectrum", NET, "--init", "kaiming-normal", "--prune", "snip-unsup", "--sparsity", "0.8",
                 "--isometry-steps", "10", "--inputs", "3", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert sorted(d["kept_fraction"]) == ["fc1", "fc2", "fc3"] and len(d["isometry"]["penalty"]) == 11
    assert len(d["singular_values"]) == 3 * 10


def test_cli_spectrum_as_built_checks_a_user_file_against_its_own_jacobian(capsys):
    spec = "tests/user_models.py:LongSkipMLP"
    assert main(["spectrum", spec, "--init", "as-built", "--inputs", "2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    lm = models.load(spec)
    x = torch.randn(2, *lm.info.input_shape, generator=torch.Generator().manual_seed(0))
    m = lm.model.double()
    ref = torch.cat([torch.linalg.svdvals(torch.autograd.functional.jacobian(lambda a: m(a.unsqueeze(0))[0], xi))
                     for xi in x.double()])
    assert d["init"] == "as-built"
    assert max(abs(a - float(b)) for a, b in zip(d["singular_values"], ref)) < 1e-5
