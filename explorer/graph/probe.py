"""The graph's stage of the user-code sandbox (`explorer.models.sandbox`): a user model is traced in
the child process, under its time and memory limits, before the app traces it in its own.

    >>> from explorer import models
    >>> sandbox_stage(models.load("mlp"))
    {}
"""

from __future__ import annotations

from typing import Any


def sandbox_stage(lm: Any) -> dict[str, Any]:
    """Trace `lm` (a LoadedModel); {} when it traces, else {"trace_error": why}. A model that does not
    trace can still be trained: the graph pages say why it does not."""
    from explorer.graph.trace import trace

    try:
        trace(lm.model, lm.example_input, lm.info.name)
    except ValueError as e:
        return {"trace_error": str(e)[:500]}
    return {}
