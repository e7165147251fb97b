"""The graph's stage of the user-code sandbox (`explorer.models.sandbox`): a user model is traced in
the child process, under its time and memory limits, before the app traces it in its own.

    >>> from explorer import models
    >>> sandbox_stage(models.load("mlp"))
    {}
"""

from __future__ import annotations

from typing import Any

SPEC_ENV = "EXPLORER_SANDBOX_SPEC"  # set by the sandbox child: the user file spec it runs


def sandbox_stage(lm: Any) -> dict[str, Any]:
    """Trace `lm` (a LoadedModel); {} when it traces, else {"trace_error": why}. A model that does not
    trace can still be trained: the graph pages say why it does not. In the sandbox child
    (`$EXPLORER_SANDBOX_SPEC` names the user file) the op graph is saved to the trace cache
    (`explorer.graph.trace_cache`), so the parent reads it instead of tracing the model again."""
    import os

    from explorer.graph.trace import trace

    try:
        dag = trace(lm.model, lm.example_input, lm.info.name)
    except ValueError as e:
        return {"trace_error": str(e)[:500]}
    spec = os.environ.get(SPEC_ENV)
    if spec:
        from explorer.graph import trace_cache
        from explorer.models.user_file import file_digest

        saved = trace_cache.save(dag, spec, file_digest(spec))
        return {"graph_cached": saved is not None}
    return {}
