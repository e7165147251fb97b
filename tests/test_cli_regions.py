"""`python -m explorer regions`: the JSON document is the real partition (`Partition.to_json()` of the
same model), for a zoo model, a user's file and a plane through three samples; misuse exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from explorer import models
from explorer.cli import main
from explorer.regions.partition import partition_of
from explorer.regions.plane import Plane
from explorer.regions.polygon import Polygons

ROOT = Path(__file__).resolve().parents[1]
KEYS = ["regions", "polygons", "codes", "decision_boundary", "per_level"]

USER = '''
import torch
from torch import nn

class TwoD(nn.Module):
    input_shape = (2,)

    def __init__(self):
        super().__init__()
        self.a, self.b, self.skip, self.out = nn.Linear(2, 6), nn.Linear(6, 6), nn.Linear(2, 6), nn.Linear(6, 2)

    def forward(self, x):
        h = torch.relu(self.a(x))
        return self.out(torch.relu(self.b(h) + self.skip(x)))
'''


def run_cli(capsys, *argv):
    code = main(["regions", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_is_the_partition_in_a_real_process():
    p = subprocess.run([sys.executable, "-m", "explorer", "regions", "moons_mlp", "--box", "-2", "3", "-1.5", "2",
                        "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert list(doc) == KEYS
    lm = models.load("moons_mlp", 0)
    P = partition_of(lm.model.eval(), Plane.rect(-2, 3, -1.5, 2))
    assert doc == json.loads(json.dumps(P.to_json()))
    assert doc["regions"] == len(doc["polygons"]) == len(doc["codes"]) == doc["per_level"][-1]
    polys = Polygons.from_list([np.array(q) for q in doc["polygons"]])
    assert abs(polys.areas().sum() - 5 * 3.5) < 1e-4
    assert len(set(doc["codes"])) == doc["regions"] and {len(c) for c in doc["codes"]} == {32}


def test_user_file_and_its_codes(capsys, tmp_path):
    f = tmp_path / "twod.py"
    f.write_text(USER)
    code, out, err = run_cli(capsys, f"{f}:TwoD", "--json")
    assert code == 0, err
    doc = json.loads(out)
    lm = models.load(f"{f}:TwoD", 0)
    net = lm.model.eval().double().requires_grad_(False)
    for poly, c in zip(doc["polygons"][:20], doc["codes"][:20]):
        x = torch.tensor(np.mean(poly, axis=0))[None]  # the mean of a convex polygon's vertices lies inside
        h = torch.relu(net.a(x))
        pre = torch.cat([net.a(x), net.b(h) + net.skip(x)], 1)[0]
        assert "".join("1" if v > 0 else "0" for v in pre) == c
    for (a, b) in doc["decision_boundary"][:10]:
        mid = torch.from_numpy((np.array(a) + np.array(b))[None] / 2)
        out2 = net(mid)[0]
        assert abs(float(out2[1] - out2[0])) < 1e-4


def test_plane_through_three_samples(capsys):
    code, out, err = run_cli(capsys, "mlp_skip", "--plane", "0,1,2", "--dataset", "mnist1d", "--box", "0", "1", "0",
                             "1", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["regions"] == len(doc["polygons"]) > 10
    polys = Polygons.from_list([np.array(q) for q in doc["polygons"]])
    assert abs(polys.areas().sum() - 1.0) < 1e-4
    code, out, _ = run_cli(capsys, "mlp_skip", "--plane", "0,1,2", "--dataset", "mnist1d", "--box", "0", "1", "0", "1")
    assert code == 0 and f"{doc['regions']} linear regions" in out


def test_misuse_exits_2_with_one_line(capsys):
    code, _, err = run_cli(capsys, "mlp_skip")
    assert code == 2 and "--plane" in err
    code, _, err = run_cli(capsys, "mlp_skip", "--plane", "0,1")
    assert code == 2 and "three" in err
    code, _, err = run_cli(capsys, "moons_mlp", "--box", "1", "0", "0", "1")
    assert code == 2 and "empty" in err
