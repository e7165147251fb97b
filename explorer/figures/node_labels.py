"""How a node is named and described for a reader: the label the DAG figure writes next to it,
which nodes get a label when space is short, and the facts a hover or the node inspector lists.

`node_label(dag, id)` names a node for a reader: at block level a collapsed module by its class
and output shape ("Bottleneck · 256×56×56", the module path stays in the hover), otherwise its id.

`label_plan(dag, width_px)` decides how labels are placed in a figure about `width_px` wide:

- `"text"`: every node labelled beside its marker, above and below on alternate levels —
  when two levels' worth of width holds the longest label;
- `"angled"`: labels written at an angle from the marker, which needs only a line height
  between neighbouring levels; on long graphs only every few levels get one, and among
  their nodes those that compute something (convolutions, linear maps, joins) rather than
  activations and norms, so the labels that remain name the architecture's landmarks.

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> dag = Dag.build([Node("x", "input"), Node("h", "linear"), Node("y", "relu")],
    ...                 [Arc("x", "h"), Arc("h", "y")], "op")
    >>> label_plan(dag, 900)
    ('text', ['x', 'h', 'y'])
"""

from __future__ import annotations

import math

from explorer.graph.dag import Dag

CHAR_PX = 6.0  # average glyph width of a 10 px label
ANGLED_GAP_PX = 18  # px between two tilted labels' levels: 18·sin 50° ≈ 14 px, one line of 10 px text
LABEL_ANGLE = 50  # degrees below the horizontal
MAX_LABELS = 160  # annotations past this slow the browser more than they help
QUIET_OPS = frozenset({"relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "dropout",
                       "batchnorm1d", "batchnorm2d", "batchnorm3d", "layernorm", "groupnorm", "identity", "flatten",
                       "getitem", "getattr", "size", "view", "reshape", "permute", "transpose", "contiguous"})


def shape_text(shape) -> str:
    """`(256, 56, 56)` as "256×56×56"; unknown as "?"."""
    return "×".join(str(s) for s in shape) if shape else "?"


def node_label(dag: Dag, node_id: str) -> str:
    """The label drawn next to a node (see the module doc).

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> d = Dag.build([Node("x", "input"), Node("layer1.0", "Bottleneck", "layer1.0", (256, 56, 56),
    ...                                          meta={"members": ["a", "b"]})], [Arc("x", "layer1.0")], "block")
    >>> node_label(d, "layer1.0")
    'Bottleneck · 256×56×56'
    """
    n = dag.node(node_id)
    if dag.granularity == "block" and len(n.meta.get("members", [])) > 1:
        return f"{n.op} · {shape_text(n.shape)}"
    return n.id


def label_plan(dag: Dag, width_px: int = 800) -> tuple[str, list[str]]:
    """`(mode, ids)`: "text" or "angled" placement, and the ids to label (see the module doc)."""
    ids = dag.order()
    if not ids:
        return "text", []
    n_levels = dag.depth + 1
    per_level = width_px / max(n_levels, 1)
    longest = max(len(node_label(dag, i)) for i in ids) * CHAR_PX
    if 2 * per_level >= longest and len(ids) <= 120:
        return "text", ids
    gap = max(1, math.ceil(ANGLED_GAP_PX / per_level))
    chosen: list[str] = []
    last = -gap
    for level, members in enumerate(dag.levels()):
        if level - last < gap:
            continue
        loud = [i for i in members if dag.node(i).op.lower() not in QUIET_OPS]
        if not loud and gap > 1:
            continue  # a quiet level (relu, bn): the next level may hold a landmark
        chosen += loud or list(members)
        last = level
    if len(chosen) > MAX_LABELS:
        step = math.ceil(len(chosen) / MAX_LABELS)
        chosen = chosen[::step]
    return "angled", chosen


def _count(v: int) -> str:
    return f"{v:,}"


def node_facts(dag: Dag, node_id: str, brief: bool = False) -> list[tuple[str, str]]:
    """`(field, value)` pairs describing a node, in reading order (hover text and the node inspector);
    `brief` counts the in/out arcs instead of naming them (the hover of a big graph stays small).

    >>> from explorer.graph.dag import Dag, Node, Arc
    >>> d = Dag.build([Node("x", "input", shape=(4,)), Node("fc", "linear", "net.fc", (2,), 10, 8)],
    ...               [Arc("x", "fc", "linear 4→2")], "op")
    >>> dict(node_facts(d, "fc"))["in arcs"]
    '1: from x (linear 4→2)'
    """
    n = dag.node(node_id)
    facts = [("op", n.op)]
    if n.module:
        facts.append(("module", n.module))
    facts += [("output shape", shape_text(n.shape)), ("params", _count(n.params)), ("MACs", _count(n.macs)),
              ("level", str(dag.level[n.id]))]
    members = n.meta.get("members") or []
    if dag.granularity == "block" and len(members) > 1:
        facts.append(("ops inside", f"{len(members)}"))
        if n.meta.get("repeat", 1) > 1:
            facts.append(("identical blocks", f"{n.meta['repeat']} (same ops, shapes and wiring)"))
        if n.meta.get("inner_skips"):
            facts.append(("skip arcs inside", str(n.meta["inner_skips"])))

    def arcs(kind: str, items, other) -> str:
        shown = ", ".join(f"{other(a)} ({a.label})" if a.label else other(a) for a in items[:4])
        more = f", … {len(items) - 4} more" if len(items) > 4 else ""
        return f"{len(items)}: {kind} {shown}{more}" if items else "none"

    if brief:
        facts.append(("in/out arcs", f"{len(dag.in_arcs(n.id))}/{len(dag.out_arcs(n.id))}"))
        return facts
    facts.append(("in arcs", arcs("from", dag.in_arcs(n.id), lambda a: a.src)))
    facts.append(("out arcs", arcs("to", dag.out_arcs(n.id), lambda a: a.dst)))
    return facts
