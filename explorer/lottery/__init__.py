"""The lottery-ticket lab (docs/science.md §4, §6, §7). The roles a run plays (dense, ticket, rewind,
reinit, random, saved) and rewinding belong to training (`explorer.training.roles`, `.rewind`).

- `group`        — the configs of one comparison group (dense + ticket + controls over seeds);
- `verdict`      — iterations to target, summaries over seeds, the weak-LTH verdict in words;
- `experiment`   — the lab's experiment configs (frozen dataclasses with help per field, hashed);
- `magnitude`    — IMP and one-shot magnitude masks (layerwise or global, output layer at its own rate);
- `rounds`       — what IMP and the sweep share: round configs, masks on disk, entries, resumable state;
- `imp`          — iterative magnitude pruning with rewinding, as a job;
- `sweep`        — the one-shot sweep (the MNIST-1D notebook's experiment), as one batched job;
- `flow`         — the IMP flow: per-layer density across rounds and its convergence;
- `transfer`     — a ticket of task A trained on task B, against B's own ticket and a random mask;
- `stability`    — the error barrier on the line between two copies of one rewind point;
- `earlybird`    — the early-bird detector callback (mask FIFO, spline codes);
- `earlybird_job`— the early-bird experiment: search, cut, retrain, compute fraction;
- `report`       — the documents as tables (mean ± std per round and role), CSV;
- `snapshot`     — a running job's document rebuilt from its frames, for the page.
"""
