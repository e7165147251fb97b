"""DAG-DNN Explorer: networks as directed acyclic graphs, their lifting decomposition, pruning and retraining.

The package is plain Python (no Streamlit). One package per concept; the data flows one way:

    models -> graph -> lifting -> pruning -> training -> lottery -> propagation -> figures
    (model)   (DAG)    (T_l)      (mask)     (job, metrics) (verdict) (spectra)     (plotly)

- `paths`    — every place on disk (the data folder);
- `models`   — the zoo, torchvision classifiers, user files; `data` — offline datasets;
- `graph`    — the DAG-DNN and its tracers (op, unit, block, ONNX);
- `lifting`  — the unit lower-triangular transition matrices, verified against the model;
- `pruning`  — selections, validity, criteria, masks, compaction, export, the prune pipeline;
- `training` — run configs, the loop and its callbacks, the run store, jobs (worker, Ray);
- `lottery`  — roles (dense, ticket, controls), rewinding, comparison groups and verdicts;
- `propagation` — the signal-propagation lab: Jacobian spectra per init, pruning at init, isometry;
- `figures`  — plotly figures, the pyvis view, plotly event parsing;
- `cli`      — `python -m explorer COMMAND`.
"""

__version__ = "0.2.0"
