"""Exact linear regions of piecewise-linear DAG-DNNs on a plane (docs/science.md §6).

Modules, one concept each (import them directly; this package imports nothing):

- `polygon`    — `Polygons`: batches of convex polygons; `split` cuts each along its own line;
- `plane`      — `Plane`: the 2-D input box, or the plane through three anchor inputs;
- `plan`       — what bends at each level of a unit-level lifting (kinks, max-pool windows);
- `partition`  — `partition(lift, plane) -> Partition`: regions, codes, affine maps, boundaries;
- `decision`   — the decision boundary per region and the cells of one predicted class;
- `probe`      — activation codes at a batch of inputs (the lifting run on a batch);
- `distance`   — partition distance between checkpoints, the early-bird draw;
- `redundancy` — spline pruning: units whose (w, b) hyperplanes nearly coincide;
- `contour`    — zero contours on a grid (marching squares) for smooth nets;
- `view`       — what a figure shows: the exact view, or the labelled grid approximation;
- `encoding`   — a view as a compact JSON frame, and back.
"""
