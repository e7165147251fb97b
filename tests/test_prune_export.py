"""Export/import round trip: the directory holds only JSON, safetensors and ONNX; loading it
rebuilds the same pruned model (saved weights) or the seed's init with the same mask."""

import json
import zipfile
import io
from pathlib import Path

import pytest
import torch

from explorer import models
from explorer.graph.build import build_dag
from explorer.pruning import operations as ops
from explorer.pruning.apply import apply, compacted
from explorer.pruning.export import ExportError, export, load_pruned, zip_dir
from explorer.pruning.selection import Selection


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    lm = models.load("resnet_tiny", 0)
    dag = build_dag("resnet_tiny", "op", seed=0)
    head = ops.merge_heads(dag)[0]
    sel = max(ops.branches_of(dag, head), key=lambda b: len(b.nodes))
    p = apply(lm.model, dag, sel, lm.example_input)
    with torch.no_grad():  # pretend it trained: the saved weights differ from the init
        for prm in p.model.parameters():
            prm.add_(0.01)
    p.reapply_mask()
    d = export(p, tmp_path_factory.mktemp("exp") / "resnet_branch", spec="resnet_tiny", seed=0, x=lm.example_input)
    return lm, p, d


def test_directory_layout_and_spec(exported):
    lm, p, d = exported
    names = sorted(f.name for f in d.iterdir())
    assert names == ["mask.safetensors", "model.onnx", "selection.json", "spec.json", "weights.safetensors"]
    spec = json.loads((d / "spec.json").read_text())
    assert spec["format"] == "explorer-pruned/1" and spec["model"] == "resnet_tiny"
    assert spec["granularity"] == "op" and spec["seed"] == 0
    assert spec["selection"]["nodes"] == list(p.selection.nodes)
    assert spec["rewrites"] and all("->" in r for r in spec["rewrites"])
    assert spec["counts"]["pruned"]["nonzero"] < spec["counts"]["dense"]["nonzero"]
    assert spec["onnx"]["ok"] and spec["onnx"]["form"] == "compacted"
    assert spec["onnx"]["params"] < spec["counts"]["dense"]["params"]


def test_onnx_runs_and_matches_masked(exported):
    import onnxruntime as ort

    lm, p, d = exported
    sess = ort.InferenceSession(str(d / "model.onnx"), providers=["CPUExecutionProvider"])
    x = torch.randn(4, *lm.example_input.shape[1:])
    (y,) = sess.run(None, {"x": x.numpy()})
    with torch.no_grad():
        ref = p.model.eval()(x)
    assert abs(torch.as_tensor(y) - ref).max() < 1e-4


def test_round_trip_saved_weights(exported):
    lm, p, d = exported
    q = load_pruned(d)
    assert q.mask == p.mask and q.selection == p.selection
    for k, v in p.model.state_dict().items():
        assert torch.equal(q.model.state_dict()[k], v)
    x = torch.randn(3, *lm.example_input.shape[1:])
    with torch.no_grad():
        assert torch.equal(q.model.eval()(x), p.model.eval()(x))


def test_round_trip_at_a_seed_is_that_seeds_init_with_the_mask(exported):
    lm, p, d = exported
    for seed in (0, 1):
        q = load_pruned(d, seed=seed)
        init = models.load("resnet_tiny", seed).model.state_dict()
        for k, v in q.model.state_dict().items():
            m = q.mask.get(k)
            assert torch.equal(v, init[k] * m if m is not None else init[k]), k
        assert q.mask == p.mask


def test_a_rebuild_is_reused_but_each_load_is_its_own(exported, tmp_path):
    """load_pruned rebuilds an export once per content in a process (a worker loads one export for a ticket
    and its controls over several seeds): each load is its own model and mask, a load changed in place
    leaves the next one as the export says, and an export written again in the same folder is rebuilt."""
    import shutil

    from explorer.pruning import export as ex

    lm, p, d = exported
    here = tmp_path / "copy"
    shutil.copytree(d, here)
    ex._rebuilt.cache_clear()
    a, b = load_pruned(here, seed=1), load_pruned(here, seed=1)
    assert a.model is not b.model and a.dag is b.dag  # one rebuild, two models
    assert all(a.mask[k] is not b.mask[k] for k in a.mask)
    with torch.no_grad():
        for prm in a.model.parameters():
            prm.add_(1.0)
    for k, t in a.mask.items():
        t.zero_()
    c = load_pruned(here, seed=1)
    assert c.mask == p.mask
    init = models.load("resnet_tiny", 1).model.state_dict()
    for k, v in c.model.state_dict().items():
        m = c.mask.get(k)
        assert torch.equal(v, init[k] * m if m is not None else init[k]), k
    q = load_pruned(here)  # the saved weights, from the same rebuild
    assert all(torch.equal(q.model.state_dict()[k], v) for k, v in p.model.state_dict().items())
    (here / "selection.json").write_text((here / "selection.json").read_text() + " ")  # written again
    assert load_pruned(here, seed=1).dag is not a.dag


def test_zip_holds_the_files(exported):
    _, _, d = exported
    z = zipfile.ZipFile(io.BytesIO(zip_dir(d)))
    assert sorted(n.split("/")[-1] for n in z.namelist()) == sorted(f.name for f in d.iterdir())


def test_refuses_non_pruned_dirs_and_pickles(tmp_path, exported):
    with pytest.raises(ExportError, match="no spec.json"):
        load_pruned(tmp_path)
    (tmp_path / "spec.json").write_text(json.dumps({"format": "pickle"}))
    with pytest.raises(ExportError, match="format"):
        load_pruned(tmp_path)
    _, _, d = exported
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in d.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    (bad / "weights.safetensors").write_bytes(b"\x80\x04not a safetensors file")
    with pytest.raises(ExportError, match="safetensors"):
        load_pruned(bad)


def test_saved_selection_reapplies_only_to_its_model(exported):
    _, p, d = exported
    sel = Selection.from_json((d / "selection.json").read_text())
    assert sel == p.selection
    other = build_dag("densenet_tiny", "op")
    with pytest.raises(ValueError, match="made on model 'resnet_tiny'"):
        sel.check_against(other)


def test_unit_level_compacted_equals_masked():
    lm = models.load("mlp", 0)
    dag = build_dag("mlp", "unit", seed=0)
    sel = ops.units_of(dag, "hidden.0").without([f"hidden.0[{i}]" for i in range(60)])
    p = apply(lm.model, dag, sel, lm.example_input)
    c = compacted(p, lm.example_input)
    assert sum(q.numel() for q in c.parameters()) < sum(q.numel() for q in p.model.parameters())
    x = torch.randn(5, 40)
    with torch.no_grad():
        assert (c(x) - p.model(x)).abs().max() < 1e-5


# ---- one format: the mask form a lab writes, its completion, and folders written before it -----------------

BEFORE = Path(__file__).resolve().parent / "data" / "before_issue18"


def test_folders_written_before_the_mask_form_still_load():
    """A ticket export, a Prune export and a lottery round's bare mask folder, written by the code at d14cec5,
    load to the same networks (outputs recorded then) and describe themselves as they did."""
    from explorer.pruning.export import describe

    want = json.loads((BEFORE / "expected.json").read_text())
    x = torch.linspace(-2, 2, 10).reshape(5, 2)
    for name in ("ticket", "prune_units"):
        p = load_pruned(BEFORE / name)
        with torch.no_grad():
            y = p.model.eval()(x)
        assert torch.allclose(y, torch.tensor(want[name]["y"]), atol=1e-6), name
        assert (p.mask.sparsity, len(p.selection.arcs), len(p.selection.nodes)) == \
            (want[name]["sparsity"], want[name]["arcs"], want[name]["nodes"])
    r = describe(BEFORE / "lottery_round")
    assert (r.model, r.full) == (want["lottery_round"]["model"], want["lottery_round"]["full"])


def test_completing_a_round_gives_the_ticket_export_of_before(tmp_path):
    """The lottery round's mask, completed through this module, is the ticket `export_ticket` wrote before:
    the same removed arcs (the one mask-to-arc mapping) and the same network at the seed's init."""
    from explorer.pruning.export import complete, read_spec

    d = complete(BEFORE / "lottery_round", tmp_path / "t", seed=0)
    old, new = load_pruned(BEFORE / "ticket"), load_pruned(d)
    assert set(new.selection.arcs) == set(old.selection.arcs) and len(new.selection.arcs) == 86
    x = torch.linspace(-2, 2, 10).reshape(5, 2)
    with torch.no_grad():
        assert torch.equal(new.model.eval()(x), old.model.eval()(x))
    assert read_spec(d)["lottery"]["round"] == 1 and read_spec(d)["mask_only"] is True


def test_a_proposal_on_a_transposed_conv_selects_the_arcs_its_mask_empties():
    """A ConvTranspose1d stores its weight (in, out, k) and the unit graph indexes its arcs so. The mask-to-arc
    mapping once swapped them for ConvTranspose (IndexError when in != out channels, the transposed arcs when
    equal); checked against the weight entries themselves, arc by arc, and against the export's completion."""
    from torch import nn

    from explorer.models.spec import LoadedModel, ZooInfo
    from explorer.pruning.coupling import emptied_arcs
    from explorer.pruning.criteria import propose

    torch.manual_seed(0)
    for c_in, c_out in ((3, 2), (3, 3)):
        net = nn.Sequential(nn.ConvTranspose1d(c_in, c_out, 2, stride=2), nn.ReLU(), nn.Flatten(),
                            nn.Linear(4 * c_out, 2))
        lm = LoadedModel(net.eval(), torch.zeros(1, c_in, 2), ZooInfo("t", (c_in, 2), "t"))
        dag = build_dag(lm, granularity="unit")
        p = propose(lm, "magnitude", 0.5, target="weights", dag=dag)
        w = p.mask["0.weight"]  # (in, out, k)
        want = {f"x[{i}]->0[{o}]" for i in range(c_in) for o in range(c_out) if not w[i, o].any()}
        got = {a for a in p.selection.arcs if a.startswith("x[")}
        assert want and got == want
        assert set(emptied_arcs(dag, p.mask)) == set(p.selection.arcs)


def test_a_user_files_mask_names_its_hashed_copy(tmp_path, monkeypatch):
    """A lab's mask of your own file records the content-hashed copy and its hash, so a run from it loads
    (before: "... was pruned from net.py, which is missing from the models folder")."""
    from explorer.pruning.export import describe, read_spec, write_mask

    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "data"))
    src = tmp_path / "net.py"
    src.write_text("import torch\nclass Net(torch.nn.Module):\n    input_shape = (2,)\n"
                   "    def __init__(self):\n        super().__init__()\n        self.fc = torch.nn.Linear(2, 2)\n"
                   "    def forward(self, x):\n        return self.fc(x)\n")
    from explorer.pruning.mask import Mask

    d = write_mask(tmp_path / "m", Mask({"fc.weight": torch.tensor([[1.0, 0.0], [1.0, 1.0]])}), spec=f"{src}:Net")
    ref = describe(d)
    assert ref.model.startswith(str(tmp_path / "data")) and ref.model.endswith(":Net")
    assert len(read_spec(d)["model_sha256"]) == 64


def test_onnx_exports_in_several_sessions_at_once_all_succeed(exported, tmp_path):
    """Sessions of one server export at once (a class pressing *Prune* together): the TorchScript exporter's
    global flag made some fail ("GLOBALS.in_onnx_export must be False", 8 of 30 in a class's burst); every
    one must succeed and match the masked model."""
    import threading

    from explorer.pruning.export import export_onnx

    lm, p, _ = exported
    start, out = threading.Barrier(4), {}

    def one(k: int) -> None:
        start.wait()
        out[k] = export_onnx(p, tmp_path / f"m{k}.onnx", lm.example_input)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [out[k]["ok"] for k in range(4)] == [True] * 4, [out[k].get("error") for k in range(4)]
