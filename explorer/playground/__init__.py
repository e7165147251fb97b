"""The Playground (TensorFlow Playground's lesson, with exact regions, skip arcs and pruning).

Modules, one concept each (import them directly; this package imports nothing):

- `config`   — `PlaygroundConfig`: data, features, network, training, the prune chain;
- `features` — the input features (x1, x2, x1^2, ...) and the plane they put the network on;
- `net`      — `PlaygroundNet`: layers x neurons with skip arcs between any two layers;
- `data`     — circle, xor, gauss, spiral, moons or your CSV, with noise and a train/test split;
- `frame`    — one frame: metrics, the exact regions (compact), the weights;
- `job`      — the `playground` job the worker runs: trains and emits frames, pauses, resumes;
- `control`  — play / pause / step / reset / prune as job submissions;
- `timeline` — the frames of a run and of the runs it continues.
"""
