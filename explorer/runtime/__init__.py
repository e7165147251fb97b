"""Where work computes: `device` — the device (cuda, then mps, else cpu) and the CPU threads each
role of process gets. Below every other package, so that pruning's latency, training and the CLI
all read the same choice."""
