"""DAG-DNN Explorer: networks as directed acyclic graphs, their lifting decomposition, pruning and retraining.

The package is plain Python (no Streamlit). One package per concept; the data flows one way,
up the layers of `LAYERS`: a package imports only packages of its own layer or below, and
packages of one layer never import each other in a circle (`tests/test_house.py` checks both,
lazy imports included).

    jobs -> models -> graph -> lifting -> pruning -> training -> labs -> figures -> links, lessons -> cli
    (work)  (model)   (DAG)    (T_l)      (mask)     (runs)      (lottery, propagation, regions, playground)

- `paths`    — every place on disk (the data folder); `config` — the `Spec` base of every config;
- `jobs`     — every background task, one way: the job store, kinds that register themselves, the worker,
               backends (local, inline, Ray); it imports no package above it;
- `runtime`  — where work computes (device) and on how many threads; `data` — offline datasets;
- `server`   — the class server: its settings, members' signed identities, the roster;
- `concurrency` — sessions as threads of one process: the lock over torch's global state, compute-once
  caches, progress reports;
- `models`   — the zoo, torchvision classifiers, user files, the model key;
- `graph`    — the DAG-DNN and its tracers (op, unit, block, ONNX);
- `lifting`  — the unit lower-triangular transition matrices, verified against the model;
- `pruning`  — selections, validity, criteria, masks, compaction, export, the prune pipeline;
- `training` — run configs, the roles a run starts as, the loop, runs as jobs (`train`, `train.batch`);
- `lottery`, `propagation`, `regions`, `playground` — the labs;
- `overlays` — per-node metrics drawn on the DAG (params, MACs, latency, criterion scores, path mass);
- `figures`  — plotly and SVG figures, the pyvis view, plotly event parsing;
- `links`, `lessons` — shareable links and the guided lessons;
- `sidebyside` — two graphs compared: models A/B, dense/pruned, IMP rounds; their lifting diff;
- `cli`      — `python -m explorer COMMAND` (installed: `dag-explorer COMMAND`); `notebook` — `explorer.show`,
  `explorer.compare` for Jupyter.
"""

__version__ = "0.2.0"

# The layers, lowest first (the one statement of the order; README "Layout of the code" cites it).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("paths", "config", "runtime", "data", "concurrency", "server"),
    ("jobs",),
    ("models",),
    ("graph",),
    ("lifting",),
    ("pruning",),
    ("training",),
    ("lottery", "propagation", "regions", "playground"),
    ("overlays",),
    ("figures",),
    ("links", "lessons"),
    ("sidebyside",),
    ("cli", "notebook"),
)


def show(model_or_spec, granularity=None, metric="level", **kw):  # noqa: ANN001, ANN201 - see explorer.notebook
    """The interactive DAG inline in Jupyter: `explorer.notebook.show` (imported on first call: `import explorer`
    stays light, no torch)."""
    from explorer.notebook import show as _show

    return _show(model_or_spec, granularity, metric, **kw)


def compare(a=None, b=None, **kw):  # noqa: ANN001, ANN201 - see explorer.notebook
    """Two graphs side by side with their lifting diff, inline in Jupyter: `explorer.notebook.compare`."""
    from explorer.notebook import compare as _compare

    return _compare(a, b, **kw)
