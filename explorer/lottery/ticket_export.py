"""A round's ticket in the Prune export format (`explorer.pruning.export`), so it opens where
pruned networks open: the Train page (as a `pruned_dir`), `load_pruned`, and — for models
whose unit-level graph is small — the Prune page, whose *file* tab re-applies the export's
`selection.json` (the unit-level arcs the mask empties) on the graph.

The weights written are the ticket's starting point: the seed's initialisation with the mask
(a ticket is a mask *and* an init), or the given state (a rewound ticket's).

    >>> import tempfile, torch
    >>> from explorer import models
    >>> from explorer.pruning.export import load_pruned
    >>> m = models.load("moons_mlp").model
    >>> mask = Mask({"fc2.weight": (torch.arange(256).reshape(16, 16) % 2).float()})
    >>> d = export_ticket("moons_mlp", 0, mask, tempfile.mkdtemp(), {"round": 1})
    >>> p = load_pruned(d)
    >>> p.mask.sparsity, len(p.selection.arcs), p.selection.granularity
    (0.5, 128, 'unit')
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from explorer.pruning.mask import Mask

UNIT_ARCS_MAX = 20_000  # above this many unit-level arcs the selection is left at op level (empty)


def unit_selection(dag: Any, mask: Mask, model: torch.nn.Module, x: torch.Tensor) -> Any:
    """The unit-level arcs `mask` empties (a Linear weight, or a whole conv kernel), as a `Selection`."""
    from explorer.pruning.coupling import find_layers
    from explorer.pruning.selection import Selection, fingerprint

    kinds = {l.weight: l.kind for l in find_layers(model, x)}
    arcs = []
    for a in dag.arcs:
        param, index = a.meta.get("param"), a.meta.get("index")
        if param not in mask or index is None or len(index) != 2:
            continue
        o, i = int(index[0]), int(index[1])
        m = mask[param]
        if m.dim() < 2:
            continue
        kernel = m[i, o] if kinds.get(param) == "convT" else m[o, i]
        if not bool(kernel.any()):
            arcs.append(a.id)
    return Selection(dag.granularity, (), tuple(arcs), dag.name, fingerprint(dag), "lottery ticket")


def export_ticket(spec: str, seed: int, mask: Mask, out: str | Path, meta: Mapping[str, Any],
                  state: Mapping[str, torch.Tensor] | None = None) -> Path:
    """Write the ticket (`spec` at `seed`'s init, or `state`, with `mask`) to directory `out`."""
    from explorer import models
    from explorer.graph import build_dag
    from explorer.training.rewind import rewind
    from explorer.pruning.apply import from_mask
    from explorer.pruning.export import export
    from explorer.pruning.selection import Selection

    lm = models.load(spec, seed)
    if state is not None:
        rewind(lm.model, None, state, "the ticket's rewind state")
    n_weights = sum(p.numel() for n, p in lm.model.named_parameters() if p.dim() >= 2)
    if n_weights <= UNIT_ARCS_MAX:
        dag = build_dag(lm, granularity="unit")
        sel = unit_selection(dag, mask, lm.model, lm.example_input)
    else:
        dag = build_dag(lm, granularity="op")
        sel = Selection.empty(dag)
    pruned = from_mask(lm.model, dag, mask, lm.example_input, selection=sel)
    return export(pruned, out, spec=spec, seed=seed, x=lm.example_input, dense=lm.model, onnx=False,
                  extra={"mask_only": True, "lottery": dict(meta),
                         "weights": "the ticket's starting point (init or rewind state) with the mask"})


def ticket_zip(spec: str, seed: int, mask_folder: str | Path, out: str | Path, meta: Mapping[str, Any]) -> bytes:
    """The export of the mask in `mask_folder` as zip bytes (a download button's data); cached in `out`."""
    from explorer.pruning.export import zip_dir

    out = Path(out)
    if not (out / "spec.json").is_file():
        export_ticket(spec, seed, Mask.load(Path(mask_folder) / "mask.safetensors"), out, meta)
    return zip_dir(out)
