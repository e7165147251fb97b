"""Every config is one `Spec` (explorer.config): declared once, checked, hashed and turned into
arguments and widget descriptions from the declarations. The ids of configs written before the Spec
base existed (tests/data/before_issue18/ids.json, written by the code at d14cec5) must not move:
stored runs, jobs and playground runs are named by them."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import pytest

from explorer.config import Spec
from explorer.config.forms import add_arguments, from_args, widgets
from explorer.lottery.experiment import (KINDS, EarlyBirdConfig, ExperimentError, LotteryConfig, StabilityConfig,
                                         TransferConfig)
from explorer.playground.config import PlaygroundConfig
from explorer.propagation.depth import DepthConfig
from explorer.propagation.isometry import IsometryConfig
from explorer.propagation.lab import LabConfig
from explorer.pruning.criteria.propose import ProposeConfig
from explorer.training.config import ConfigError, RunConfig
from explorer.jobs.store import job_id

ROOT = Path(__file__).resolve().parents[1]
BEFORE = json.loads((ROOT / "tests/data/before_issue18/ids.json").read_text())
CONFIGS = (RunConfig, LotteryConfig, TransferConfig, StabilityConfig, EarlyBirdConfig, LabConfig, DepthConfig,
           PlaygroundConfig, ProposeConfig, IsometryConfig)


def test_run_ids_of_stored_configs_do_not_move():
    for d, rid, jid in BEFORE["run"]:
        c = RunConfig.from_dict(d)
        assert (c.run_id, c.to_dict(), job_id("train", c.to_dict())) == (rid, d, jid)


def test_experiment_ids_and_job_ids_do_not_move():
    names = {c.__name__: c for c in KINDS.values()}
    for name, d, eid, jid in BEFORE["lottery"]:
        c = names[name].from_dict(d)
        kind = c.kind if isinstance(c, LotteryConfig) else "k"
        assert (c.id, c.to_dict(), job_id(kind, c.to_dict())) == (eid, d, jid), name


def test_lab_playground_job_ids_do_not_move():
    for name, d, jid in BEFORE["other"]:
        c = {"LabConfig": LabConfig, "DepthConfig": DepthConfig}[name].from_dict(d)
        assert c.to_dict() == d and job_id("k", c.to_dict()) == jid, name
    d, cid, jid = BEFORE["playground"][0]
    assert PlaygroundConfig.from_dict(d).config_id == cid
    # the second was built in code with integer point coordinates: the same construction hashes the same
    built = PlaygroundConfig(dataset="csv", points=((0.0, 1.0, 0), (1, 1, 1), (2, 0, 0), (3, 1, 1)), hidden=(4,),
                             skips=("0-2",), pruned=("h1[0]",))
    assert (built.config_id, job_id("playground.run", built.to_dict())) == tuple(BEFORE["playground"][1][1:])


def test_a_field_added_later_keeps_ids():
    """A setting hashed only when set leaves the id of every config that leaves it at its default."""
    c = RunConfig(model="mlp", steps=100)
    assert c.run_id == c.replace(init_scheme="as-built", save_final=False, label="x").run_id
    assert c.run_id != c.replace(init_scheme="orthogonal").run_id
    lot = LotteryConfig.of(model="mlp")
    assert "schedule" not in lot.to_dict() and lot.id == LotteryConfig.of(model="mlp", schedule="constant").id
    cos = LotteryConfig.of(model="mlp", schedule="cosine")
    assert cos.to_dict()["schedule"] == "cosine" and cos.id != lot.id
    assert cos.run_config(init="dense", seed=1).schedule == "cosine"  # the lab's runs get it


def test_lottery_training_settings_are_a_run_config():
    cfg = LotteryConfig.of(model="moons_mlp", dataset="moons", lr=0.02, steps=30, seeds=2)
    assert isinstance(cfg.train, RunConfig) and (cfg.train.lr, cfg.train.steps) == (0.02, 30)
    run = cfg.run_config(init="ticket", seed=1, pruned_dir="/x")
    assert (run.lr, run.steps, run.dataset, run.init, run.seed) == (0.02, 30, "moons", "ticket", 1)
    own = {f.name for f in LotteryConfig.__dataclass_fields__.values()}
    assert own.isdisjoint({"lr", "steps", "optimizer", "momentum", "batch_size"}), "re-declared training fields"
    with pytest.raises(ExperimentError, match="seed"):
        LotteryConfig(train=RunConfig(seed=3))  # the lab sets each run's seed itself
    with pytest.raises(ConfigError, match="lr"):
        LotteryConfig.of(lr=-1.0)


def test_every_setting_has_help_and_valid_default():
    for cls in CONFIGS:
        for s in cls.settings():
            assert s.help.strip(), f"{cls.__name__}.{s.name} has no help"
            if s.choices is not None:
                vals = s.default if s.type is tuple else (s.default,)
                assert all(v in s.choices for v in vals), f"{cls.__name__}.{s.name} default outside its choices"


def test_dicts_round_trip_and_tolerate_unknown_and_missing_keys():
    for cls in CONFIGS:
        c = cls() if cls is not PlaygroundConfig else cls(hidden=(4, 2))
        assert cls.from_dict(json.loads(json.dumps(c.to_dict()))) == c, cls.__name__
        assert cls.from_dict({**c.to_dict(), "from_a_newer_version": 1}) == c
        assert cls.from_dict({}) == cls()
        with pytest.raises(cls.error, match="unknown"):
            cls.from_dict({"from_a_newer_version": 1}, strict=True)


@pytest.mark.parametrize("cls, d, words", [
    (RunConfig, {"steps": "many"}, "steps must be an integer; got 'many'"),
    (RunConfig, {"lr": True}, "lr must be a number"),
    (RunConfig, {"optimizer": "rmsprop"}, "optimizer='rmsprop' is not one of adam, sgd"),
    (RunConfig, {"device": "tpu"}, "device='tpu' is not one of auto, cpu, cuda, mps"),
    (LotteryConfig, {"controls": ["reinit", "other"]}, "controls: 'other' is not one of reinit, random"),
    (LotteryConfig, {"sweep": ["a"]}, "each item of sweep must be a number"),
    (LotteryConfig, {"scope": "world"}, "scope='world' is not one of layer, global"),
    (PlaygroundConfig, {"hidden": 8}, "hidden must be a list"),
    (PlaygroundConfig, {"points": [[0, 1]]}, "points must have 3 entries"),
    (LabConfig, {"criterion": "grasp"}, "criterion='grasp' is not one of"),
    (ProposeConfig, {"target": "rows"}, "target='rows' is not one of weights, units, arcs"),
    (IsometryConfig, {"schedule": "step"}, "schedule='step' is not one of constant, cosine"),
])
def test_wrong_types_and_choices_name_the_field(cls, d, words):
    with pytest.raises(ValueError) as e:
        cls.from_dict(d)
    assert words in str(e.value)
    assert isinstance(e.value, cls.error)


def test_arguments_come_from_the_declarations():
    """The CLI's options carry each setting's default, type, choices and help; parsing them back gives the
    config, and a setting added to RunConfig would appear in every lab command without another line."""
    p = argparse.ArgumentParser()
    add_arguments(p, LotteryConfig, positional=("model",))
    acts = {a.dest: a for a in p._actions}
    assert set(acts) - {"help"} == {s.name for s in LotteryConfig.settings()}
    assert acts["optimizer"].choices == ("adam", "sgd") and acts["lr"].help == RunConfig.help()["lr"]
    a = p.parse_args(["lottery_mlp", "--lr", "0.02", "--sweep", "0.5,0.9", "--prune-biases", "--no-batched",
                      "--controls", "random"])
    cfg = from_args(LotteryConfig, a)
    assert cfg == LotteryConfig.of(model="lottery_mlp", lr=0.02, sweep=(0.5, 0.9), prune_biases=True, batched=False,
                                   controls=("random",))
    ws = {w.name: w for w in widgets(LotteryConfig)}
    assert (ws["scope"].kind, ws["scope"].choices, ws["batched"].kind, ws["sweep"].kind) == \
        ("select", ("layer", "global"), "checkbox", "list")
    assert ws["sweep"].parse("0.5, 0.8") == (0.5, 0.8) and ws["lr"].help == RunConfig.help()["lr"]


def test_no_config_class_writes_its_own_dict_or_help():
    """Before the Spec base, seven config classes each had their own field helper, to_dict/from_dict, help
    and hash; now none has (and no module declares a field helper of its own)."""
    own = []
    for f in (ROOT / "explorer").rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ClassDef) and (node.name.endswith("Config") or node.name == "Training"):
                hit = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} & {"to_dict", "from_dict", "help"}
                own += [f"{f.relative_to(ROOT)}:{node.name} {sorted(hit)}"] if hit else []
            if isinstance(node, ast.FunctionDef) and node.name in ("_f", "_help") and f.name != "spec.py":
                own.append(f"{f.relative_to(ROOT)}:{node.name}")
    assert not own, f"configs with their own dict/help code: {own}; derive from explorer.config.Spec"
    assert all(issubclass(c, Spec) for c in CONFIGS)
