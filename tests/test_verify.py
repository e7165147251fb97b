"""verify() and the `verify` CLI, on the zoo and on models the project has never seen (defined here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explorer import models
from explorer.cli import main
from explorer.graph.trace import trace
from explorer.graph.unit import unit_dag
from explorer.lifting.verify import Verification, verify

HERE = Path(__file__).resolve()
UNIT_ZOO = ["mlp", "mlp_skip", "cnn1d", "resnet_tiny", "densenet_tiny", "inception_tiny", "unet_tiny", "moons_mlp"]


# ---- models the library has never seen (also loaded as path/to/file.py:ClassName) ----------


class WideSkipMLP(nn.Module):
    """Tanh/LeakyReLU/Sigmoid MLP with a concatenated skip and a scaled residual."""

    input_shape = (6,)

    def __init__(self):
        super().__init__()
        self.f1, self.f2, self.f3 = nn.Linear(6, 9), nn.Linear(9, 9), nn.Linear(15, 4)
        self.norm = nn.BatchNorm1d(9)

    def forward(self, x):
        h = torch.tanh(self.f1(x))
        g = F.leaky_relu(self.norm(self.f2(h)) + 0.5 * h, 0.2)
        return torch.sigmoid(self.f3(torch.cat([g, x], dim=1))) - 0.5


class PoolCatCNN(nn.Module):
    """Conv net with a residual add, a max-pool branch, a channel concatenation and average pooling."""

    input_shape = (2, 8, 8)

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.branch = nn.Conv2d(4, 3, 1)
        self.pool = nn.MaxPool2d(2)
        self.c3 = nn.Conv2d(7, 5, 3, stride=2, padding=1)
        self.head = nn.Linear(5 * 2 * 2, 3)

    def forward(self, x):
        h = F.relu(self.bn1(self.c1(x)))
        h = F.relu(self.c2(h) + h)  # residual
        b = F.max_pool2d(F.relu(self.branch(h)), 2)  # functional max-pool branch
        p = self.pool(h)  # module max-pool
        y = F.gelu(self.c3(torch.cat([p, b], dim=1)))  # (B, 5, 2, 2)
        return self.head(F.avg_pool2d(y, 1).flatten(1))


class DilatedSeq(nn.Module):
    """1-d sequence net: dilated grouped conv, transposed conv, adaptive pooling, a spatial mean."""

    input_shape = (4, 16)

    def __init__(self):
        super().__init__()
        self.a = nn.Conv1d(4, 8, 3, dilation=2, padding="same", groups=2)
        self.up = nn.ConvTranspose1d(8, 4, 2, stride=2)
        self.b = nn.Conv1d(4, 6, 5, stride=3)

    def forward(self, x):
        h = torch.relu(self.a(x))
        h = torch.relu(self.up(h))  # (B, 4, 32)
        h = F.adaptive_avg_pool1d(torch.relu(self.b(h)), 4)  # (B, 6, 4)
        return h.mean(dim=-1) + F.adaptive_max_pool1d(h, 1).flatten(1)


USER_MODELS = [WideSkipMLP, PoolCatCNN, DilatedSeq]


def _x(model: nn.Module, b: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, *model.input_shape, generator=torch.Generator().manual_seed(seed))


def _fresh(cls):
    torch.manual_seed(0)
    m = cls()
    for mod in m.modules():  # non-trivial BatchNorm statistics, so the fold is really tested
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            with torch.no_grad():
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.3, 0.3)
    return m.eval()


# ---- verify() ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", USER_MODELS, ids=lambda c: c.__name__)
def test_verify_unseen_models_at_unit_and_op_level(cls):
    m = _fresh(cls)
    x = _x(m)
    v = verify(m, unit_dag(m, x[:1], cls.__name__), x, tol=1e-9)
    assert v.ok, str(v)
    assert v.granularity == "unit" and v.jacobian_error is not None and v.jacobian_samples == 3
    assert len(v.per_output) == unit_dag(m, x[:1]).meta["unit_net"].groups["out"].units
    o = verify(m, trace(m, x[:1], cls.__name__), x, tol=1e-9)
    assert o.ok and o.jacobian_error is None, str(o)


@pytest.mark.parametrize("name", UNIT_ZOO)
def test_verify_zoo_unit(name):
    lm = models.load(name)
    x = torch.randn(3, *lm.info.input_shape, generator=torch.Generator().manual_seed(1))
    v = verify(lm.model, unit_dag(lm.model, lm.example_input, name), x)
    assert v.ok and v.forward_error < 1e-10 and v.jacobian_error < 1e-10, str(v)


def test_verify_detects_a_wrong_decomposition():
    m = _fresh(WideSkipMLP)
    x = _x(m)
    dag = unit_dag(m, x[:1])
    with torch.no_grad():
        m.f2.weight[0, 0] += 1.0  # the model changed after the DAG was built
    v = verify(m, dag, x)
    assert not v.ok and v.forward_error > 1e-3
    assert "FAILED" in str(v)
    assert isinstance(v, Verification) and json.loads(v.dumps())["ok"] is False


# ---- the CLI -----------------------------------------------------------------------------------


def test_cli_exit_codes(capsys):
    assert main(["verify", "moons_mlp"]) == 0
    out = capsys.readouterr().out
    assert "forward error" in out and "jacobian error" in out and "OK" in out
    assert main(["verify", "moons_mlp", "--tol", "1e-30"]) == 1  # float rounding exceeds an absurd tolerance
    assert "FAILED" in capsys.readouterr().out
    assert main(["verify", "transformer_tiny"]) == 2  # unit level refuses matmul, names it
    assert "granularity 'op'" in capsys.readouterr().err
    assert main(["verify", "transformer_tiny", "--granularity", "op", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["granularity"] == "op" and doc["jacobian_error"] is None


@pytest.mark.parametrize("cls", ["PoolCatCNN", "WideSkipMLP"])
def test_cli_on_a_user_file(cls, capsys):
    assert main(["verify", f"{HERE}:{cls}", "--json", "--seed", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["forward_error"] < 1e-10 and doc["jacobian_error"] < 1e-10


def test_cli_refuses_onnx_with_a_reason(capsys):
    assert main(["verify", "model.onnx"]) == 2
    assert "structure only" in capsys.readouterr().err


def test_a_zero_output_makes_the_check_hollow_and_says_so():
    """torchvision's ViT zero-initialises its head: composition and forward then agree whatever the
    lifting holds, so the verification must not read as evidence."""
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    nn.init.zeros_(net[2].weight), nn.init.zeros_(net[2].bias)
    x = torch.randn(4, 3)
    v = verify(net, unit_dag(net, x[:1], "zero-head"), x)
    assert v.ok and v.trivial and "identically zero" in str(v) and v.to_json()["trivial"] is True
    gm = trace(net, x[:1])
    assert verify(net, gm, x).trivial
    live = nn.Sequential(nn.Linear(3, 2)).eval()
    assert not verify(live, unit_dag(live, x[:1], "live"), x).trivial


def test_own_precision_checks_an_op_graph_without_a_float64_copy():
    net = WideSkipMLP().eval()
    x = torch.randn(5, 6)
    dag = trace(net, x[:1])
    v = verify(net, dag, x, own_precision=True)
    assert v.ok and v.dtype == "float32" and any("own precision" in n for n in v.notes)
    assert verify(net, dag, x).dtype == "float64"
