"""Words for a reader instead of ids, reprs and field names: counts with their plural, arcs as
"src → dst", selections and criterion proposals as sentences.

    >>> plural(1, "arc"), plural(3, "entry", "entries")
    ('1 arc', '3 entries')
    >>> arc_text("block1_bn2->add")
    'block1 bn2 → add'
"""

from __future__ import annotations

from typing import Any


def plural(n: int, word: str, many: str | None = None) -> str:
    """`n word` with the word in the plural unless n == 1 (`many` for irregular plurals)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def node_text(node_id: str) -> str:
    """A node id as words: traced ids join module path parts with "_" (`block1_bn2`)."""
    return node_id.replace("_", " ")


def arc_text(arc_id: str) -> str:
    """`"src->dst"` as "src → dst" (ids as words); anything else unchanged."""
    src, arrow, dst = arc_id.partition("->")
    return f"{node_text(src)} → {node_text(dst)}" if arrow else arc_id


def id_text(item: str) -> str:
    """A node or arc id as words (for `format_func` of widgets listing both)."""
    return arc_text(item) if "->" in item else item


def _listing(items, fmt, limit: int = 4) -> str:
    shown = ", ".join(fmt(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")


def selection_text(sel: Any) -> str:
    """A `Selection` as a sentence.

    >>> from explorer.pruning.selection import Selection
    >>> selection_text(Selection("op", ("relu",), ("conv1->relu",)))
    'remove 1 node (relu) and 1 arc (conv1 → relu)'
    """
    parts = []
    if sel.nodes:
        parts.append(f"{plural(len(sel.nodes), 'node')} ({_listing(list(sel.nodes), str)})")
    if sel.arcs:
        parts.append(f"{plural(len(sel.arcs), 'arc')} ({_listing(list(sel.arcs), arc_text)})")
    return "remove " + " and ".join(parts) if parts else "remove nothing"


def proposal_text(p: Any) -> str:
    """A criterion's `Proposal` as a sentence ("magnitude pruning of units, per layer: 50% of 300 ...")."""
    c = p.config
    scope = "per layer" if c.scope == "layer" else "across the network"
    return (f"{c.criterion} pruning of {c.target}, {scope}: {100 * p.achieved:.0f}% of {p.total:,} {c.target} "
            f"pruned, weight sparsity {100 * p.weight_sparsity:.1f}%")
