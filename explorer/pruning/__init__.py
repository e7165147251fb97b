"""Pruning through the lifting structure (docs/science.md §3).

Modules, one concept each (import them directly; this package imports nothing):

- `selection`  — `Selection`: the nodes and arcs a user or a criterion picked.
- `operations` — helpers that *propose* selections from the graph (a residual branch,
  the skip arcs, a range of levels).
- `validity`   — `check(dag, selection) -> Verdict`, before anything changes.
- `apply`      — `apply(model, dag, selection) -> PrunedModel` (mask and/or graph rewrite),
  `rewind`.
- `rewrite`    — op-level torch.fx rewrites: removed inputs become zeros.
- `export`     — the pruned-model directory (safetensors + JSON + ONNX) and `load_pruned`.
- `criteria`, `compact`, `latency` — scores that propose selections, physical
  compaction, and the dense/masked/compacted comparison.
"""
