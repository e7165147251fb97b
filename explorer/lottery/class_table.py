"""The class overview's two tables (a teacher's page on a class server): who runs what (each student's
jobs queued, running and done, and what runs now), and each student's pruning side by side — the
model, what they cut (from their export's spec.json), the parameters their ticket kept, and the verdict
of their comparison — one row per comparison group, so a projected table answers "which cut kept the
ticket's advantage?". Read from the store as each student sees it (`JobStore.for_viewer`): a group
counts as a student's when they asked for its runs.

    >>> import tempfile
    >>> from explorer.server.identity import Identity
    >>> from explorer.training.store import RunStore
    >>> s = RunStore(tempfile.mkdtemp())
    >>> activity(s, [Identity("4f1a2b3c4d5e", "Ada")])
    [{'student': 'Ada', 'queued': 0, 'running': 0, 'done': 0, 'failed': 0, 'running now': '', 'next queued': ''}]
    >>> pruning(s, [Identity("4f1a2b3c4d5e", "Ada")])
    []
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from explorer.lottery.rounds import comparison_runs
from explorer.lottery.verdict import compare, facts
from explorer.training.kinds import TRAIN
from explorer.training.store import RunStore

VERDICT_CHARS = 220  # of a verdict in the table (the group's Train page has all of it)


def activity(store: Any, members: Sequence[Any]) -> list[dict[str, Any]]:
    """Per student (not the teacher), in roster order: their root jobs by status, the job running now
    (kind and label) and the id of their next queued job (the page adds its place in the queue)."""
    out = []
    for m in members:
        if getattr(m, "teacher", False):
            continue
        jobs = [j for j in store.list_jobs(owner=m.id) if j.parent is None]
        by = {s: [j for j in jobs if j.status == s] for s in ("queued", "running", "done", "failed")}
        now = by["running"][0] if by["running"] else None
        out.append({"student": m.name, **{s: len(v) for s, v in by.items()},
                    "running now": f"{now.kind} · {now.label or now.id}" if now else "",
                    "next queued": by["queued"][0].id if by["queued"] else ""})
    return out


def cut_of(pruned_dir: str) -> str:
    """What a pruned export removed, in a few words (from its spec.json), or why it cannot be said."""
    from explorer.pruning.export import read_spec

    if not pruned_dir:
        return ""
    try:
        doc = read_spec(pruned_dir)
    except Exception as e:  # noqa: BLE001 - a moved or damaged export: the table says so and goes on
        return f"(export {Path(pruned_dir).name} unreadable: {str(e)[:60]})"
    removed = doc.get("removed", {})
    sp = (doc.get("sparsity") or {}).get("mask")
    return (f"{len(removed.get('nodes', []))} node(s), {len(removed.get('arcs', []))} arc(s) removed"
            + (f"; {sp:.0%} of weights masked" if isinstance(sp, (int, float)) else ""))


def pruning(store: Any, members: Sequence[Any], target_frac: float = 0.99) -> list[dict[str, Any]]:
    """One row per (student, comparison group they asked for): model, cut, kept parameters of the ticket,
    runs done, and the verdict (its first words; every control is named with its size there). Groups
    whose runs were all cancelled are left out."""
    rows = []
    for m in members:
        if getattr(m, "teacher", False):
            continue
        mine = RunStore.view(store).for_viewer(m.id)
        groups = dict.fromkeys(j.group for j in mine.list_jobs(kind=TRAIN, owner=m.id))
        for g in groups:
            runs = comparison_runs(mine, g)
            if all(r.status == "cancelled" for r in runs):
                continue  # given up: nothing to judge
            cmp = compare([facts(r, mine.metrics(r.id)) for r in runs], target_frac)
            ticket = next((r for r in runs if r.config.init in ("ticket", "rewind")), None)
            kept = cmp.row("ticket") or cmp.row("rewind")
            rows.append({
                "student": m.name, "model": runs[0].config.model if runs else "", "group": g,
                "cut": cut_of(ticket.config.pruned_dir) if ticket else "(no ticket: dense only)",
                "kept params": f"{kept.kept_params:,} of {kept.params:,}" if kept and kept.kept_params is not None
                and kept.params else "",
                "runs done": f"{sum(r.status == 'done' for r in runs)}/{len(runs)}",
                "verdict": _short(cmp.verdict),
            })
    return rows


def _short(text: str) -> str:
    text = " ".join(text.replace("**", "").split())
    return text if len(text) <= VERDICT_CHARS else text[:VERDICT_CHARS - 1].rsplit(" ", 1)[0] + " …"
