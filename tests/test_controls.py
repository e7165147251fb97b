"""Controls are what they say (docs/science.md §4): every control a ticket is compared with — reinit,
rewind, random — keeps the ticket's parameter count per layer, for every kind of cut (weight masks,
unit cuts, unit-level arcs, op-level branches, op-level skip arcs), or is refused with the reason.

The kept counts are checked against an independent count: every parameter of a copy set to one, the
start's mask applied, the non-zeros counted (not `pruning.kept`, which sums the masks).
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from explorer import models, paths
from explorer.graph import build_dag
from explorer.training import roles
from explorer.lottery.group import same_network
from explorer.pruning.apply import apply
from explorer.pruning.export import export
from explorer.pruning.mask import Mask
from explorer.pruning.operations import branches_of, merge_heads, skip_arcs
from explorer.pruning.selection import Selection
from explorer.training.checkpoints import save_checkpoint
from explorer.training.config import RunConfig

ROOT = Path(__file__).resolve().parents[1]
REWIND = 5  # the rewind control's step: a checkpoint of the dense init is written there
def few(n: int):
    """`n` examples, no shrinking (each one builds and checks five networks; a failure prints its example)."""
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


SETTINGS = few(5)


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    return tmp_path


def twin_spec(data: Path) -> str:
    """TwinBlocks (tests/user_models.py) from the models folder, where runs may import it."""
    folder = paths.ensure_dir(data / "models")
    shutil.copy(ROOT / "tests" / "user_models.py", folder / "user_models.py")
    return f"{folder / 'user_models.py'}:TwinBlocks"


def counted(start) -> dict[str, tuple[tuple[int, ...], int]]:
    """Per parameter: its shape and how many entries survive the start's mask (ones in, non-zeros out)."""
    m = copy.deepcopy(start.model)
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(1.0)
    if start.mask is not None:
        start.mask.apply_(m)
    return {n: (tuple(p.shape), int(torch.count_nonzero(p))) for n, p in m.named_parameters()}


def export_selection(spec: str, granularity: str, ids, out: Path) -> Path:
    lm = models.load(spec, 0)
    dag = build_dag(lm, granularity)
    pruned = apply(lm.model, dag, Selection.from_ids(dag, ids), lm.example_input)
    return export(pruned, out, spec=spec, seed=0, x=lm.example_input, dense=lm.model, onnx=False)


def export_mask(spec: str, keep: float, seed: int, out: Path) -> Path:
    """A bare weight mask (what a criterion or IMP writes): each weight kept with probability `keep`."""
    g = torch.Generator().manual_seed(seed)
    m = models.load(spec, 0).model
    Mask({n: (torch.rand(p.shape, generator=g) < keep).float() for n, p in m.named_parameters() if p.dim() > 1}).save(
        paths.ensure_dir(out) / "mask.safetensors")
    (out / "spec.json").write_text(json.dumps({"model": spec}))
    return out


def controls(spec: str, pruned_dir: Path, seed: int, data: Path):
    """The ticket's start and, per control role, its start or the reason it was refused."""
    base = RunConfig(model=spec, pruned_dir=str(pruned_dir), seed=seed, rewind_step=REWIND)
    ticket = roles.build(base.replace(init="ticket"))
    dense = roles.build(base.replace(init="dense", pruned_dir=""))
    save_checkpoint(dense.model, paths.checkpoint(paths.checkpoints(data), base.replace(init="ticket").dense_twin().run_id,
                                                  REWIND))
    out = {}
    for role in ("reinit", "rewind", "random"):
        try:
            out[role] = roles.build(base.replace(init=role))
        except roles.InitError as e:
            out[role] = str(e)
    return ticket, out


def assert_same_size(spec, pruned_dir, seed, data, *, layers: str, random_exists: bool | None):
    """reinit and rewind keep the ticket's count in every tensor; the random control keeps it per layer
    (`layers`: "exact" by name, "exchangeable" up to layers of one shape) or is refused with the reason."""
    ticket, built = controls(spec, pruned_dir, seed, data)
    want = counted(ticket)
    for role in ("reinit", "rewind"):
        assert not isinstance(built[role], str), built[role]
        assert counted(built[role]) == want, role
    r = built["random"]
    if isinstance(r, str):
        assert random_exists is not True, r
        assert "no random control of the ticket's size exists for this cut" in r, r
        return None
    assert random_exists is not False
    got = counted(r)
    assert sum(k for _, k in got.values()) == sum(k for _, k in want.values())
    if layers == "exact":
        assert got == want
    else:
        assert sorted(got.values()) == sorted(want.values())
    assert not same_network(r, ticket), "the random control is the ticket itself"
    assert "as the ticket" in r.source
    return r


@SETTINGS
@given(seed=st.integers(0, 50), keep=st.floats(0.05, 0.95), spec=st.sampled_from(["mlp", "resnet_tiny"]))
def test_weight_masks_random_control_keeps_every_layer_count(data, seed, keep, spec):
    d = export_mask(spec, keep, seed, data / f"m{seed}")
    assert_same_size(spec, d, seed, data, layers="exact", random_exists=True)


@few(3)
@given(seed=st.integers(0, 50), picks=st.lists(st.tuples(st.sampled_from([0, 1]), st.integers(0, 99)), min_size=1,
                                               max_size=6, unique=True))
def test_unit_cuts_draw_as_many_units_per_layer_with_equal_counts(data, seed, picks):
    ids = [f"hidden.{layer}[{unit}]" for layer, unit in picks]
    d = export_selection("mlp", "unit", ids, data / f"u{seed}")
    r = assert_same_size("mlp", d, seed, data, layers="exact", random_exists=True)
    assert r.mask != roles.build(RunConfig(model="mlp", pruned_dir=str(d), init="ticket", seed=seed)).mask


@few(3)
@given(seed=st.integers(0, 50), units=st.lists(st.sampled_from(["stem.0", "block1.conv1", "block2.conv1"]),
                                               min_size=1, max_size=3))
def test_unit_cuts_of_channels_with_batchnorm(data, seed, units):
    ids = sorted({f"{layer}[{(seed + k) % 8}]" for k, layer in enumerate(units)})
    d = export_selection("resnet_tiny", "unit", ids, data / f"c{seed}")
    assert_same_size("resnet_tiny", d, seed, data, layers="exact", random_exists=True)


@few(3)
@given(seed=st.integers(0, 50), arcs=st.lists(st.tuples(st.integers(0, 99), st.integers(0, 39)), min_size=1,
                                              max_size=8, unique=True))
@example(seed=11, arcs=[(0, 0)])  # its reinit seed draws one weight exactly 0: a unit graph without that arc
def test_unit_level_arcs_are_single_weights_and_get_a_random_mask(data, seed, arcs):
    ids = [f"x[{i}]->hidden.0[{o}]" for o, i in arcs]
    d = export_selection("mlp", "unit", ids, data / f"a{seed}")
    r = assert_same_size("mlp", d, seed, data, layers="exact", random_exists=True)
    assert "random mask keeping as many weights of every layer" in r.source


@few(4)
@given(seed=st.integers(0, 50), which=st.integers(0, 3))
def test_op_level_branches_of_resnet_tiny_have_no_twin_and_are_refused(data, seed, which):
    lm = models.load("resnet_tiny")
    dag = build_dag(lm, "op")
    options = [b for h in merge_heads(dag) for b in branches_of(dag, h) if b.nodes]
    sel = options[which % len(options)]
    d = export_selection("resnet_tiny", "op", sel.nodes, data / f"b{seed}")
    assert assert_same_size("resnet_tiny", d, seed, data, layers="exchangeable", random_exists=False) is None


@few(3)
@given(seed=st.integers(0, 50), block=st.sampled_from(["a", "b"]))
def test_op_level_branch_with_a_twin_gets_the_other_branch(data, seed, block):
    spec = twin_spec(data)
    lm = models.load(spec)
    dag = build_dag(lm, "op")
    mine = [n.id for n in dag.nodes if n.id in (f"{block}1", f"{block}2")]
    d = export_selection(spec, "op", mine, data / f"t{seed}")
    from explorer.pruning.export import describe

    r = assert_same_size(describe(d).model, d, seed, data, layers="exchangeable", random_exists=True)
    other = "b" if block == "a" else "a"
    assert {f"{other}1.weight", f"{other}2.weight"} <= {n for n, v in r.mask.items() if not v.any()}


@pytest.mark.parametrize("arc", ["relu->add", "relu->cat"])
def test_skip_arcs_that_carry_no_weight_get_another_weightless_arc(data, arc):
    d = export_selection("mlp_skip", "op", [arc], data / "s")
    lm = models.load("mlp_skip")
    assert arc in {a.id for a in skip_arcs(build_dag(lm, "op"))}
    r = assert_same_size("mlp_skip", d, 0, data, layers="exchangeable", random_exists=True)
    assert r.mask.kept == r.mask.total  # nothing removed, as the ticket


def test_a_control_of_the_wrong_size_is_refused_never_trained(data, monkeypatch):
    """The old random cut (the closest branch by parameter count: 160 vs the ticket's 1,184) is caught by
    the size check before anything trains, with the layers that differ."""
    from explorer.pruning import random_cut as rc

    d = export_selection("resnet_tiny", "op", ["block1_conv1", "block1_bn1", "relu", "block1_conv2", "block1_bn2"],
                         data / "r")

    def closest(dag, sel, model=None, seed=0):
        return Selection("op", ("block2_shortcut_0", "block2_shortcut_1"), (), dag.name), ""

    monkeypatch.setattr(rc, "random_cut", closest)
    with pytest.raises(roles.InitError, match=r"keeps 4,962 of 5,122 parameters where the ticket keeps 3,938"):
        roles.build(RunConfig(model="resnet_tiny", pruned_dir=str(d), init="random"))
    # and a mask that differs in one entry of one layer is refused too, naming that layer
    ref = roles.build(RunConfig(model="resnet_tiny", pruned_dir=str(d), init="ticket"))
    bad = Mask(ref.mask)
    w = bad["fc.weight"].clone()
    w[0, 0] = 1 - w[0, 0]
    bad["fc.weight"] = w
    with pytest.raises(roles.InitError, match="fc.weight keeps"):
        roles.check_size(RunConfig(model="resnet_tiny", pruned_dir=str(d), init="reinit"),
                         roles.Start(ref.model, bad, ref.info, 0, ""))


def test_cli_the_issue_case_end_to_end(data, capsys):
    """`prune resnet_tiny --select <block1's branch>`, then `train --init random`: refused with the reason
    (it used to train a 4,962-parameter "control" beside a 3,938-parameter ticket with exit 0); reinit keeps
    the ticket's 3,938 of 5,122; `runs compare` names each control with its size."""
    from explorer.cli import main

    d = data / "cut"
    assert main(["prune", "resnet_tiny", "--select", "block1_conv1", "block1_bn1", "relu", "block1_conv2", "block1_bn2",
                 "--out", str(d), "--no-onnx", "--repeats", "3"]) == 0
    capsys.readouterr()
    common = ["--mask", str(d), "--steps", "10", "--eval-every", "5", "--device", "cpu", "--group", "g"]
    assert main(["train", "resnet_tiny", *common, "--init", "random"]) == 2
    err = capsys.readouterr().err
    assert "no random control of the ticket's size exists" in err and "block2_shortcut" in err
    sizes = {}
    for init in ("ticket", "reinit"):
        assert main(["train", "resnet_tiny", *common, "--init", init, "--json"]) == 0
        o = json.loads(capsys.readouterr().out)
        sizes[init] = (o["kept_params"], o["params"])
    assert sizes == {"ticket": (3938, 5122), "reinit": (3938, 5122)}
    assert main(["train", "resnet_tiny", *common[:-2], "--init", "reinit"]) == 0  # text: the size is printed
    assert "3,938 of 5,122 parameters kept" in capsys.readouterr().out
    assert main(["train", "resnet_tiny", "--steps", "10", "--eval-every", "5", "--device", "cpu", "--group", "g"]) == 0
    capsys.readouterr()
    assert main(["runs", "compare", "g", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(c["role"], c["kept_params"], c["params"], c["same_size_as_ticket"], c["compared"])
            for c in doc["controls"]] == [("reinit", 3938, 5122, True, True), ("random", None, None, None, False)]
    assert "Left out: the random-mask control did not run (InitError: no random control of the ticket's size" \
        in doc["verdict"]
    assert "reinit control (3,938 of 5,122 parameters kept, as the ticket)" in doc["verdict"]
    assert "(3,938 of 5,122 parameters kept)" in doc["verdict"]  # the ticket's own size beside its sparsity
    assert main(["runs", "compare", "g"]) == 0
    assert "reinit control (3,938 of 5,122 parameters kept, as the ticket)" in capsys.readouterr().out


def test_random_cut_refuses_what_has_no_control_of_its_kind():
    """A selection of nodes and arcs together has no random cut of one kind; the reason says so."""
    from explorer.pruning.random_cut import random_cut

    lm = models.load("mlp_skip")
    dag = build_dag(lm, "op")
    cut, why = random_cut(dag, Selection.from_ids(dag, ["fc3", "relu->cat"]), lm.model)
    assert cut is None and "both nodes and arcs" in why
