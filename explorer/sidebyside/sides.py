"""The two sides of a comparison, from what a user has: two model specs, a Prune export (dense vs pruned),
or two rounds of an IMP experiment (the lessons' shipped results keep every round's mask).

A `Side` is a graph with what drawing and diffing it needs: its label, the model (None for structure
only), the arcs and nodes a pruning removed relative to the other side, and per-node kept fractions of a
mask. `Comparison` pairs two sides with their node `Match`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.graph.dag import Dag
from explorer.graph.match import Match, match_nodes

KINDS = ("models", "pruned", "rounds")
ROUND_EXPERIMENTS = ("lottery.imp", "lottery.sweep")


class CompareError(ValueError):
    """A comparison that cannot be built; the message says what is missing and how to get it."""


@dataclass(frozen=True)
class Side:
    label: str
    dag: Dag
    model: Any = None  # nn.Module, or None (structure only)
    spec: str = ""
    removed_arcs: tuple[str, ...] = ()  # arcs of the dense graph this side prunes (unit/op ids)
    removed_nodes: tuple[str, ...] = ()
    kept: dict[str, float] = field(default_factory=dict)  # node id -> kept fraction of its weights (a mask)
    mask: Any = None


@dataclass(frozen=True)
class Comparison:
    kind: str
    a: Side
    b: Side
    match: Match
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"{self.a.label} vs {self.b.label}"


def side_overlay(side: Side, name: str) -> Any:
    """The overlay `name` on one side: any of `explorer.overlays.METRICS`, or "kept" — the fraction of each
    weighted node's weights the side's mask keeps (1 without a mask; nodes without weights are left out)."""
    from explorer.overlays import Overlay, overlay

    if name == "kept":
        return Overlay("kept", "fraction", {n.id: side.kept.get(n.id, 1.0) for n in side.dag.nodes if n.params},
                       range=(0.0, 1.0))
    return overlay(name, side.dag, side.model)


def _pair(kind: str, a: Side, b: Side, *notes: str) -> Comparison:
    return Comparison(kind, a, b, match_nodes(a.dag, b.dag), tuple(notes))


def of_models(spec_a: str, spec_b: str, granularity: str = "op", seed: int = 0) -> Comparison:
    """Model A vs model B at one granularity (nodes matched by module path and op)."""
    from explorer import models
    from explorer.graph.build import build_dag

    sides = []
    for spec in (spec_a, spec_b):
        dag = build_dag(spec, granularity, seed=seed)
        model = None if spec.lower().endswith(".onnx") else models.load_cached(spec, seed).model
        sides.append(Side(spec, dag, model, spec))
    return _pair("models", *sides)


def masked_arcs(dag: Dag, mask: Any) -> list[str]:
    """Unit-level arcs whose weights the mask zeroes entirely (an arc carries `meta["param"]`, `["index"]`)."""
    out = []
    for a in dag.arcs:
        p = a.meta.get("param")
        if p and p in mask:
            idx = tuple(i if isinstance(i, int) else list(i) for i in a.meta["index"])
            if not bool(mask[p][idx].bool().any()):
                out.append(a.id)
    return out


def kept_fractions(dag: Dag, mask: Any) -> dict[str, float]:
    """Per node (op/block: a layer's module; unit: a unit's row) the fraction of its weights the mask keeps."""
    out = {}
    for n in dag.nodes:
        if dag.granularity == "unit":
            w, row = n.meta.get("weight"), n.meta.get("row")
            if w in mask and row is not None:
                out[n.id] = float(mask[w][row].float().mean())
            continue
        names = [k for k in mask if n.module and n.params and k.rpartition(".")[0] == n.module]
        if names:
            tot = sum(mask[k].numel() for k in names)
            out[n.id] = sum(float(mask[k].sum()) for k in names) / tot
    return out


def of_export(path: str | Path) -> Comparison:
    """Dense vs pruned from a Prune export folder (`explorer.pruning.export`): the dense graph and model,
    and the pruned graph, its selection and mask."""
    from explorer import models
    from explorer.pruning.export import describe, load_pruned, read_spec

    ref = describe(path)
    if not ref.full or not ref.model:
        raise CompareError(f"{path} is not a full Prune export (spec.json + selection.json + mask); export it "
                           "from the Prune page or with `python -m explorer prune ... --out DIR`")
    pruned = load_pruned(path)
    seed = int(read_spec(path).get("seed", 0))
    dense = models.load_cached(ref.model, seed).model
    sel = pruned.selection
    removed = set(sel.arcs) | {a.id for a in pruned.dense_dag.arcs if a.src in sel.nodes or a.dst in sel.nodes}
    if pruned.dense_dag.granularity == "unit":
        removed |= set(masked_arcs(pruned.dense_dag, pruned.mask))
    a = Side("dense", pruned.dense_dag, dense, ref.model)
    b = Side(f"pruned ({Path(path).name})", pruned.dag, pruned.model, ref.model, tuple(sorted(removed)),
             tuple(sel.nodes), kept_fractions(pruned.dense_dag, pruned.mask), pruned.mask)
    return _pair("pruned", a, b, f"{len(removed)} arcs and {len(sel.nodes)} nodes of the dense graph removed")


def shipped_rounds(experiment: str = "lottery.imp") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the shipped job, its rounds [{"round", "sparsity", ...}]) of a lesson experiment."""
    from explorer.lessons import results

    if experiment not in ROUND_EXPERIMENTS:
        raise CompareError(f"no shipped experiment {experiment!r}; choose one of {', '.join(ROUND_EXPERIMENTS)}")
    job = next((j for j in results.read()["jobs"] if j["kind"] == experiment), None)
    if job is None:
        raise CompareError(f"the shipped results hold no {experiment} job; rebuild them with {results.COMMAND}")
    return job, list(job["result"].get("rounds", []))


def round_mask(job: dict[str, Any], r: int, seed: int = 0) -> Any:
    """The mask of round `r` (0: the dense network, None) and seed of a shipped lottery job."""
    from explorer.lessons import results

    if r == 0:
        return None
    tag = "rsweep" if job["kind"] == "lottery.sweep" else "r"
    key = f"s{seed}/{tag}{r}/mask.safetensors"
    if key not in job["files"]:
        have = sorted({k.split("/")[1] for k in job["files"] if k.startswith(f"s{seed}/")})
        raise CompareError(f"round {r}, seed {seed} has no mask in the {job['kind']} results (rounds: {', '.join(have)})")
    return results.unpack_mask(job["files"][key]["mask"])


def of_rounds(i: int, j: int, *, experiment: str = "lottery.imp", seed: int = 0, granularity: str = "op") -> Comparison:
    """IMP round i vs round j (0 = dense) of a shipped lottery experiment: one graph, two masks; each node
    shows the fraction of its weights its round keeps, and round j's removed arcs are those it prunes."""
    from explorer import models
    from explorer.graph.build import build_dag

    job, rounds = shipped_rounds(experiment)
    have = [0] + [e["round"] for e in rounds]
    for r in (i, j):
        if r not in have:
            raise CompareError(f"{experiment} has rounds {have[0]}..{have[-1]}; round {r} does not exist")
    spec = job["config"]["model"]
    dag = build_dag(spec, granularity)
    model = models.load_cached(spec).model
    sparsity = {0: 0.0, **{e["round"]: e["sparsity"] for e in rounds}}
    sides = []
    for r in (i, j):
        mask = round_mask(job, r, seed)
        kept = kept_fractions(dag, mask) if mask is not None else {}
        removed = tuple(masked_arcs(dag, mask)) if mask is not None and granularity == "unit" else ()
        sides.append(Side(f"round {r} ({100 * sparsity[r]:.1f}% pruned)", dag, model, spec, removed, (), kept, mask))
    return _pair("rounds", *sides, f"{experiment} (shipped lesson result), seed {seed}; the weights are the "
                 "rewound init in every round, so T_l differs exactly where the masks do")
