"""The lottery-ticket experiments (docs/science.md §4, §7).

- `roles`   — the registry of run roles (dense, ticket, rewind, reinit, random) and how each starts;
- `rewind`  — loading survivors from a saved state, mask re-applied;
- `group`   — the configs of one comparison group (dense + ticket + controls over seeds);
- `verdict` — iterations to target, summaries over seeds, the weak-LTH verdict in words.
"""
