"""The signal-propagation lab (docs/science.md §5): why pruning an untrained network works, seen
through the singular values of its Jacobians at initialisation.

- `spectrum`  — input–output Jacobians at K inputs (`torch.func`: vmap over jacrev/jacfwd), their
  singular values and stats (mean, std, min, max, condition number, quantiles, histogram);
- `layers`    — per-layer maps `a -> phi(B(W a))` by autograd, for any model torch.fx traces;
- `lifted`    — per-level maps from the lifting, the level-l block of `D_l(x) T_l(x)` (unit level);
- `at_init`   — pruning at init (SNIP supervised / unsupervised, random, magnitude), kept fractions;
- `isometry`  — approximate isometry: SGD on `Σ_l ‖(C⊙W)ᵀ(C⊙W) − I‖_F`, pruned entries held at 0;
- `lab`       — `LabConfig` and `run_lab`: the lab document per init scheme and stage;
- `depth`     — the depth sweep of generated deep MLPs;
- `grid`      — the trainability grid init × {dense, pruned, pruned + isometry} as run configs;
- `jobs`      — the lab's background jobs (spectra, depth sweep, grid exports).

Init schemes live upstream, in `explorer.models.init_schemes`, where the run roles use them too.
"""
