"""The pruned-model directory: safetensors + JSON + ONNX, never a pickle. This module is the only
writer and reader of one.

    DIR/spec.json           format "explorer-pruned/1": model spec (and the hash of a user file),
                            granularity, seed, selection, op-level rewrites, sparsity, counts, ONNX check
    DIR/selection.json      the selection alone (re-applicable to the same model)
    DIR/mask.safetensors    `Mask.save`
    DIR/weights.safetensors the pruned model's state dict
    DIR/model.onnx          the compacted model (`compact.compact`), checked with onnxruntime

`export` writes all of it. `write_mask` writes the mask form — spec.json (`"mask_only": true`,
no graph) and mask.safetensors — that a lab writes every round and a run trains as its
`pruned_dir`; `complete` turns it into the full form (weights, the unit-level arcs the mask
empties as the selection) that opens on the Prune page. `load_pruned(DIR)` rebuilds the model
from the spec (`models.load` + the selection's rewrites + the mask) and loads the saved weights;
`load_pruned(DIR, seed=s)` leaves the model at seed `s`'s initialisation instead (a lottery
ticket uses the dense init, a re-init control another seed). `zip_dir(DIR)` gives the bytes for
a download button. Folders written before the mask form existed (a bare spec.json naming the
model) are still read.

    >>> import tempfile, torch
    >>> mask = Mask({"fc2.weight": (torch.arange(256).reshape(16, 16) % 2).float()})
    >>> d = write_mask(tempfile.mkdtemp(), mask, spec="moons_mlp", seed=0, extra={"lottery": {"round": 1}})
    >>> ref = describe(d)
    >>> ref.model, ref.full, read_spec(d)["mask_only"]
    ('moons_mlp', False, True)
    >>> p = load_pruned(complete(d, tempfile.mkdtemp()))
    >>> p.mask.sparsity, len(p.selection.arcs), p.selection.granularity, read_spec(d)["lottery"]
    (0.5, 128, 'unit', {'round': 1})
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer.concurrency.once import once_per_key
from explorer.models.state import load_state
from explorer.pruning.mask import Mask, MaskError
from explorer.pruning.apply import PrunedModel, apply, compacted, from_mask
from explorer.pruning.cost import cost, dense_macs
from explorer.pruning.selection import Selection

FORMAT = "explorer-pruned/1"
FILES = ("spec.json", "selection.json", "mask.safetensors", "weights.safetensors")
UNIT_ARCS_MAX = 20_000  # `complete`: above this many unit-level arcs the selection is left at op level (empty)


class ExportError(ValueError):
    """A directory that is not a pruned model, or a model that cannot be exported; says which file and why."""


def export(
    pruned: PrunedModel,
    out: str | Path,
    *,
    spec: str,
    seed: int,
    x: torch.Tensor,
    dense: nn.Module | None = None,
    onnx: bool = True,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write `pruned` to directory `out` (created); returns its path. `spec`/`seed` name the
    dense model as `explorer.models.models.load` takes them; `dense` (for the counts) defaults to
    `models.load(spec, seed).model`."""
    from safetensors.torch import save_file

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {out} is a file; give a directory to export the pruned model into (it is created)")
    out.mkdir(parents=True, exist_ok=True)
    spec, code = _named(spec)
    if dense is None:
        from explorer import models

        dense = models.load(spec, seed).model
    pruned.mask.save(out / "mask.safetensors")
    state = {k: v.detach().cpu().contiguous().clone() for k, v in pruned.model.state_dict().items()}
    save_file(state, str(out / "weights.safetensors"), metadata={"format": FORMAT, "model": spec})
    sel = pruned.selection
    (out / "selection.json").write_text(sel.dumps())
    total = dense_macs(pruned.dense_dag, dense, x)  # a unit-level (masked) copy has the dense architecture
    c_dense, c_pruned = cost(dense, x, total), cost(pruned.model, x, total if pruned.granularity == "unit" else None)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "model": spec,
        "granularity": pruned.granularity,
        "seed": int(seed),
        "selection": sel.to_json(),
        "rewrites": list(pruned.rewrites),
        "removed": {"nodes": list(pruned.verdict.removed_nodes), "arcs": list(pruned.verdict.removed_arcs)},
        "sparsity": {"mask": pruned.mask.sparsity, "weights": pruned.weight_sparsity()},
        "counts": {"dense": c_dense.as_dict(), "pruned": c_pruned.as_dict()},
        "input_shape": list(x.shape[1:]),
        **code,
        **(extra or {}),
    }
    if onnx:
        doc["onnx"] = export_onnx(pruned, out / "model.onnx", x)
    (out / "spec.json").write_text(json.dumps(doc, indent=1, default=float))
    return out


def _named(spec: str) -> tuple[str, dict[str, Any]]:
    """(the spec an export records, the facts that pin it): your own file is named by a content-hashed copy
    in the models folder, with its hash, so the export never runs other code."""
    if ".py:" not in spec.split("@")[0]:
        return spec, {}
    from explorer.models.user_store import adopt, digest

    spec = adopt(spec)
    return spec, {"model_sha256": digest(Path(spec.split("@")[0].rpartition(":")[0]))}


def write_mask(out: str | Path, mask: Mask, *, spec: str, seed: int = 0, extra: dict[str, Any] | None = None) -> str:
    """The mask form of an export in `out`: mask.safetensors and a spec.json naming the model (no weights,
    no graph: what a lab writes every round, and a run trains as its `pruned_dir`). Returns `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec, code = _named(spec)
    mask.save(out / "mask.safetensors")
    doc = {"format": FORMAT, "model": spec, "seed": int(seed), "mask_only": True,
           "sparsity": {"mask": mask.sparsity}, **code, **(extra or {})}
    (out / "spec.json").write_text(json.dumps(doc, indent=1))
    return str(out)


def complete(folder: str | Path, out: str | Path, *, seed: int | None = None,
             state: Mapping[str, torch.Tensor] | None = None, extra: dict[str, Any] | None = None) -> Path:
    """The full form of the mask in `folder` (`write_mask`'s, or a full export's) written to `out`: the
    model at the init of `seed` (default: the recorded one) or at `state` (e.g. a rewind point) with the
    mask, and as the selection the unit-level arcs the mask empties (a Linear weight, a whole conv kernel;
    op level with no selection past `UNIT_ARCS_MAX` weights). A lottery ticket opens so on the Prune page
    and the Train page. `out` that already holds a full export is returned as it is."""
    from explorer import models
    from explorer.graph import build_dag
    from explorer.models.state import load_state

    out = Path(out)
    if (out / "mask.safetensors").is_file() and describe(out).full:
        return out
    ref = describe(folder)
    if ref.model is None:
        raise ExportError(f"{folder} holds a mask but names no model; export it again with its model")
    doc = json.loads((Path(folder) / "spec.json").read_text())
    seed = int(doc.get("seed", 0) if seed is None else seed)
    mask = Mask.load(ref.mask_file)
    lm = models.load(ref.model, seed)
    if state is not None:
        load_state(lm.model, state, "the state to start the ticket from", error=ExportError)
    n_weights = sum(p.numel() for p in lm.model.parameters() if p.dim() >= 2)
    if n_weights <= UNIT_ARCS_MAX:
        from explorer.pruning.coupling import emptied_arcs
        from explorer.pruning.selection import fingerprint

        dag = build_dag(lm, granularity="unit")
        arcs = emptied_arcs(dag, mask)
        sel = Selection(dag.granularity, (), tuple(arcs), dag.name, fingerprint(dag), "lottery ticket")
    else:
        dag = build_dag(lm, granularity="op")
        sel = Selection.empty(dag)
    pruned = from_mask(lm.model, dag, mask, lm.example_input, selection=sel)
    kept = {k: v for k, v in doc.items() if k not in ("format", "model", "seed", "mask_only", "sparsity",
                                                        "model_sha256")}
    return export(pruned, out, spec=ref.model, seed=seed, x=lm.example_input, dense=lm.model, onnx=False,
                  extra={**kept, **(extra or {}), "mask_only": True,
                         "weights": "the ticket's starting point (init or rewind state) with the mask"})


def export_onnx(pruned: PrunedModel, path: Path, x: torch.Tensor) -> dict[str, Any]:
    """Compact, export to ONNX and run it in onnxruntime; returns what happened (never raises:
    a model the exporter cannot handle is recorded as such in spec.json)."""
    try:
        model = compacted(pruned, x)
        form = "compacted"
    except Exception as e:  # noqa: BLE001 - fall back to the masked form, and say so
        model, form = pruned.model, f"masked (compaction failed: {type(e).__name__}: {str(e)[:200]})"
    model = model.eval()
    from explorer.concurrency import exclusive

    try:  # the TorchScript exporter keeps global state (`GLOBALS.in_onnx_export`): one export at a time
        with exclusive(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "form": form, "error": f"{type(e).__name__}: {str(e)[:300]}"}
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        y = sess.run(None, {"x": x.detach().numpy()})[0]
        with torch.no_grad():
            ref = pruned.model.eval()(x).detach().numpy()
        diff = float(abs(y - ref).max())
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "form": form, "error": f"onnxruntime: {type(e).__name__}: {str(e)[:300]}"}
    return {"ok": diff < 1e-4, "form": form, "max_abs_diff_vs_masked": diff,
            "params": int(sum(p.numel() for p in model.parameters()))}


def read_spec(path: str | Path) -> dict[str, Any]:
    """spec.json of a pruned-model directory, checked for its format."""
    d = Path(path)
    f = d / "spec.json"
    if not f.is_file():
        raise ExportError(f"{d} is not a pruned-model directory: it has no spec.json (export one with "
                          "`python -m explorer prune ... --out DIR` or the Prune page)")
    try:
        doc = json.loads(f.read_text())
    except json.JSONDecodeError as e:
        raise ExportError(f"{f} is not valid JSON: {e}") from e
    if doc.get("format") != FORMAT:
        raise ExportError(f"{f} has format {doc.get('format')!r}, expected {FORMAT!r}")
    return doc


@dataclass(frozen=True)
class ExportRef:
    """What a mask source is, without building anything: a full export (`full`), a directory with
    a bare mask (and maybe a spec naming the model), or a bare mask file."""

    path: Path
    mask_file: Path
    model: str | None  # the model spec recorded beside the mask, if any
    full: bool  # a complete "explorer-pruned/1" export (selection and rewrites re-applicable)
    rewrites: tuple[str, ...] = ()  # op-level arcs whose source the rewrite replaced by zeros
    structural: bool = False  # pruned by a selection of nodes/arcs (not a criterion's weight mask)
    granularity: str = ""


def describe(path: str | Path) -> ExportRef:
    """Read what `path` holds as a mask source: a pruned-model directory (this module's format), a
    directory with `mask.safetensors` (+ optional spec.json naming the model), or a mask file."""
    p = Path(path)
    if p.is_file():
        return ExportRef(p, p, None, False)
    if not p.is_dir():
        raise ExportError(f"{p} does not exist; export a pruned network from the Prune page "
                          "(or `python -m explorer prune ... --out DIR`) or give a mask.safetensors file")
    if not (p / "mask.safetensors").is_file():
        raise ExportError(f"{p} has no mask.safetensors; it must be a directory exported by the Prune page")
    if not (p / "spec.json").is_file():
        return ExportRef(p, p / "mask.safetensors", None, False)
    try:
        doc = json.loads((p / "spec.json").read_text())
    except json.JSONDecodeError as e:
        raise ExportError(f"{p / 'spec.json'} is not valid JSON ({e.msg} at line {e.lineno}); export again") from e
    if not isinstance(doc, dict):
        raise ExportError(f"{p / 'spec.json'} must hold a JSON object; export again")
    full = doc.get("format") == FORMAT and (p / "selection.json").is_file()
    model = model_spec(doc, p) if doc.get("model") else None
    sel = doc.get("selection") if isinstance(doc.get("selection"), dict) else {}
    structural = full and not doc.get("mask_only") and bool(sel.get("nodes") or sel.get("arcs"))
    return ExportRef(p, p / "mask.safetensors", str(model) if model else None, full,
                     tuple(doc.get("rewrites") or ()) if full else (), structural, str(doc.get("granularity", "")))


def load_pruned(path: str | Path, seed: int | None = None) -> PrunedModel:
    """Rebuild the pruned model of directory `path`: the dense model from its spec, the
    selection re-applied, the saved mask applied; then the saved weights (seed None) or the
    init of `seed`. Only safetensors and JSON are read.

    The rebuild at the export's own seed (graph, selection, rewrites) is done once per export's content
    in this process (`_rebuilt`: a worker training a ticket and its controls over several seeds asks
    for it once per run); each call gets its own copy of the model and mask, and shares the graphs,
    selection and verdict, which are read-only."""
    from safetensors.torch import load_file

    from explorer import models

    d = Path(path)
    doc = read_spec(d)
    for name in ("mask.safetensors", "selection.json") + (("weights.safetensors",) if seed is None else ()):
        if not (d / name).is_file():
            raise ExportError(f"{d} lacks {name}; export the pruned model again")
    spec = model_spec(doc, d)
    try:
        s0 = int(doc["seed"])
    except (KeyError, TypeError, ValueError) as e:
        raise ExportError(f"{d / 'spec.json'} has no integer seed; export the pruned model again") from e
    import copy

    made = _rebuilt(str(d.resolve()), _content_digest(d), spec, s0)
    pruned = PrunedModel(copy.deepcopy(made.model), Mask({k: v.clone() for k, v in made.mask.items()}),
                         made.selection, made.verdict, made.graph, made.dense_dag, made.rewrites)
    if seed is not None and seed != s0:
        load_state(pruned.model, models.load(spec, int(seed)).model.state_dict(), f"{spec} at seed {seed}",
                   error=ExportError)
        pruned.reapply_mask()
    if seed is None:
        try:
            state = load_file(str(d / "weights.safetensors"))
        except Exception as e:  # noqa: BLE001 - safetensors raises its own types on a bad header
            raise ExportError(f"{d / 'weights.safetensors'} is not a readable safetensors file: {e}") from e
        load_state(pruned.model, state, f"{d / 'weights.safetensors'}", error=ExportError)
        pruned.reapply_mask()
    return pruned


def _content_digest(d: Path) -> str:
    """SHA-256 of what a rebuild reads from the export (spec, selection, mask): an export written again
    in the same folder is rebuilt again."""
    import hashlib

    h = hashlib.sha256()
    for name in ("spec.json", "selection.json", "mask.safetensors"):
        h.update((d / name).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def selection_graph(spec: str, seed: int, granularity: str):  # noqa: ANN201 - a Dag
    """The graph a selection on `spec` at `seed` was made on. The unit level comes from the process's graph
    cache (`build_dag(spec, "unit", seed=seed)`: the model as built at that seed, as a fresh `models.load`
    gives it); the other levels are traced from a fresh model, as they always were (a user file's op graph
    would otherwise come from the trace cache)."""
    from explorer import models
    from explorer.graph import build_dag

    if granularity == "unit":
        return build_dag(spec, granularity="unit", seed=int(seed))
    return build_dag(models.load(spec, int(seed)), granularity=granularity)


@once_per_key(maxsize=8)
def _rebuilt(folder: str, digest: str, spec: str, s0: int) -> PrunedModel:
    """The pruned model of export `folder` (content `digest`) at its own seed `s0`: the dense model, its
    graph (the graph the selection was made on: a unit graph leaves out weights that are exactly 0, so
    another seed's graph can differ), the selection re-applied and the saved mask. Shared: never
    modify it; `load_pruned` copies the model and mask."""
    from explorer import models

    d = Path(folder)
    doc = read_spec(d)
    lm = models.load(spec, s0)
    dag = selection_graph(spec, s0, doc["granularity"])
    sel = Selection.from_json((d / "selection.json").read_text())
    sel.check_against(dag, model=sel.model or dag.name)
    try:
        mask = Mask.load(d / "mask.safetensors")
    except MaskError as e:
        raise ExportError(str(e)) from e
    if sel.is_empty() or doc.get("mask_only"):
        return from_mask(lm.model, dag, mask, lm.example_input, selection=sel)
    pruned = apply(lm.model, dag, sel, lm.example_input)
    mask.check(pruned.model)
    pruned.mask = pruned.mask & mask
    pruned.reapply_mask()
    return pruned


def model_spec(doc: dict[str, Any], where: Path) -> str:
    """The model an export was pruned from, refusing anything that would run code from elsewhere: a
    zoo or torchvision name, or a file in the models folder whose content matches the recorded hash."""
    spec = doc.get("model")
    if not isinstance(spec, str) or not spec:
        raise ExportError(f"{where / 'spec.json'} names no model; export the pruned model again")
    if ".py:" in spec.split("@")[0]:
        from explorer.models.spec import ModelSpecError
        from explorer.models.user_store import check_allowed, digest

        try:
            check_allowed(spec)
        except ModelSpecError as e:
            raise ExportError(f"{where} was pruned from the model code {spec!r}, and an export never runs code by "
                              f"itself: {e}") from None
        file = Path(spec.split("@")[0].rpartition(":")[0])
        if not file.is_file() or digest(file) != doc.get("model_sha256"):
            raise ExportError(f"{where} was pruned from {file.name}, which is missing from the models folder or differs "
                              "from the code the export was made with; put that exact file there and load it "
                              "once on the Architecture page")
    return spec


def read_selection(path: str | Path) -> Selection:
    """The selection an export was pruned with."""
    f = Path(path) / "selection.json"
    if not f.is_file():
        raise ExportError(f"{path} has no selection.json; export the pruned model again")
    return Selection.from_json(f.read_text())


def zip_dir(path: str | Path) -> bytes:
    """The directory's files in a zip (for `st.download_button`)."""
    d = Path(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(d.iterdir()):
            if f.is_file():
                z.write(f, arcname=f"{d.name}/{f.name}")
    return buf.getvalue()
