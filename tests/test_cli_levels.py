"""`python -m explorer levels`: the JSON document is `build_dag(...).to_json()`; user files work;
impossible requests exit 2 with one readable line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.cli import main
from explorer.graph.build import build_dag, default_granularity

ROOT = Path(__file__).resolve().parents[1]
USER = "tests/user_models.py"


def run_cli(capsys, *argv):
    code = main(["levels", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def as_json(dag):
    return json.loads(dag.dumps())


def test_json_matches_build_dag_in_a_real_process():
    p = subprocess.run([sys.executable, "-m", "explorer", "levels", "mlp_skip", "--json"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc == as_json(build_dag("mlp_skip"))
    assert {"id", "level", "op", "shape", "params", "macs"} <= set(doc["nodes"][0])
    assert all(isinstance(a, list) and len(a) == 2 for a in doc["arcs"])
    level = {n["id"]: n["level"] for n in doc["nodes"]}
    assert all(level[s] < level[d] for s, d in doc["arcs"])


@pytest.mark.parametrize("argv", [("resnet_tiny", "--granularity", "block", "--depth", "1"),
                                  ("densenet_tiny", "--granularity", "op", "--seed", "3")])
def test_json_granularities(capsys, argv):
    code, out, _ = run_cli(capsys, *argv, "--json")
    assert code == 0
    doc = json.loads(out)
    gran = argv[argv.index("--granularity") + 1]
    depth = int(argv[argv.index("--depth") + 1]) if "--depth" in argv else None
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
    assert doc == as_json(build_dag(argv[0], gran, depth, seed))
    assert doc["granularity"] == gran


@pytest.mark.parametrize("cls", ["LongSkipMLP", "ConcatPoolCNN", "BranchyNet", "DeepNarrowConvNet"])
def test_user_file_model(capsys, cls):
    code, out, _ = run_cli(capsys, f"{USER}:{cls}", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["nodes"][0]["op"] == "input" and doc["nodes"][-1]["id"] == "output"
    assert doc == as_json(build_dag(f"{USER}:{cls}"))


def test_table_lists_every_node_and_the_summary(capsys):
    code, out, _ = run_cli(capsys, "mlp_skip")
    dag = build_dag("mlp_skip")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].split() == ["level", "id", "op", "shape", "params"]
    assert len(lines) == len(dag.nodes) + 2
    assert lines[-1].startswith(f"mlp_skip (op): {len(dag.nodes)} nodes, {len(dag.arcs)} arcs, {dag.depth + 1} levels")


def test_unit_granularity_when_available(capsys):
    code, out, _ = run_cli(capsys, "moons_mlp", "--granularity", "unit", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["granularity"] == "unit" and len(doc["nodes"]) > 30


@pytest.mark.parametrize("argv, message", [
    (("mlp", "--depth", "2"), "only applies to granularity 'block'"),
    (("no_such_model",), "unknown model"),
    (("tests/none.py:Foo",), "does not exist"),
])
def test_bad_requests_exit_2_with_one_line(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_default_granularity_threshold():
    assert default_granularity(50) == "op" and default_granularity(1000) == "block"
    assert default_granularity(build_dag("resnet_tiny")) == "op"


def test_build_dag_facade_caches_and_takes_loaded_models():
    from explorer import models
    from explorer.graph.build import GraphError

    a = build_dag("mlp")
    assert build_dag("mlp") is a and build_dag("mlp", seed=1) is not a
    lm = models.load("resnet_tiny")
    b = build_dag(lm, "block", depth=1)
    assert b.granularity == "block" and "block1" in b.order()
    assert build_dag(lm).meta["tracer"] == "fx"
    with pytest.raises(GraphError, match="granularity 'pixel' is not one of"):
        build_dag("mlp", "pixel")
    with pytest.raises(GraphError, match=">= 1"):
        build_dag("mlp", "block", depth=0)
