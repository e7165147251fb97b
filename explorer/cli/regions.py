"""`python -m explorer regions MODEL`: the exact linear regions of a piecewise-linear model on a plane.

For a model with two inputs the plane is the input itself, over `--box XMIN XMAX YMIN YMAX`
(default: the model's own 2-D dataset with a margin, else [-3, 3]²). For any other input,
`--plane IDX0,IDX1,IDX2 --dataset D` takes the plane through three training samples of D (at
(0, 0), (1, 0), (0, 1); `--box` then bounds (u, v)). With `--json` it prints

    {"regions": N, "polygons": [[[x, y], ...], ...], "codes": [...],
     "decision_boundary": [[[x0, y0], [x1, y1]], ...], "per_level": [...]}

— `Partition.to_json()` of `explorer.regions.partition`: each region's polygon (counter-clockwise),
its activation code (one digit per unit in level order: ReLU 0 off / 1 on), the decision boundary
as one segment per region it crosses, and the region count after each level.
"""

from __future__ import annotations

import argparse
import json

HELP = "the exact linear regions of a piecewise-linear model on a 2-D input or a plane of three samples"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="zoo name (e.g. moons_mlp), torchvision name, or path/to/file.py:ClassName")
    p.add_argument("--box", type=float, nargs=4, metavar=("XMIN", "XMAX", "YMIN", "YMAX"), default=None,
                   help="the box of the plane (input coordinates for a 2-input model; (u, v) for --plane)")
    p.add_argument("--plane", default=None, metavar="IDX0,IDX1,IDX2",
                   help="three training-sample indices of --dataset: the plane through them")
    p.add_argument("--dataset", default=None, help="dataset of the --plane anchors (default: the model's own)")
    p.add_argument("--seed", type=int, default=0, help="seed of the model's random init")
    p.add_argument("--max-regions", type=int, default=200_000, help="stop with an error past this many regions")
    p.add_argument("--json", action="store_true", help="print the partition document")


def _anchors(args: argparse.Namespace, info) -> list:  # noqa: ANN001 - a ZooInfo
    from explorer.cli import CliError
    from explorer.data import load_dataset

    name = args.dataset or info.dataset
    if not name:
        raise CliError("--plane needs --dataset: the dataset whose samples span the plane")
    try:
        idx = [int(t) for t in args.plane.split(",")]
    except ValueError:
        raise CliError(f"--plane {args.plane!r} must be three sample indices, e.g. 0,1,2") from None
    if len(idx) != 3:
        raise CliError(f"--plane {args.plane!r} must name exactly three samples, e.g. 0,1,2")
    d = load_dataset(name).reshaped(tuple(info.input_shape))
    bad = [i for i in idx if not 0 <= i < len(d.y_train)]
    if bad:
        raise CliError(f"--plane index {bad[0]} is out of range: {name} has {len(d.y_train)} training samples")
    return [d.x_train[i].double().numpy() for i in idx]


def _default_box(info) -> tuple[float, float, float, float]:  # noqa: ANN001
    from explorer.data import load_dataset

    if info.dataset:
        try:
            d = load_dataset(info.dataset)
        except ValueError:
            d = None
        if d is not None and d.input_shape == (2,):
            lo, hi = d.x_train.min(0).values.double(), d.x_train.max(0).values.double()
            m = 0.15 * (hi - lo)
            return (float(lo[0] - m[0]), float(hi[0] + m[0]), float(lo[1] - m[1]), float(hi[1] + m[1]))
    return (-3.0, 3.0, -3.0, 3.0)


def run(args: argparse.Namespace) -> int:
    import torch

    from explorer import models
    from explorer.cli import CliError
    from explorer.regions.partition import partition_of
    from explorer.regions.plane import Plane

    from explorer.cli.options import model

    lm = models.load(model(args.model, "regions"), args.seed)
    model = lm.model.eval()
    shape = tuple(lm.info.input_shape)
    if args.plane:
        a, b, c = _anchors(args, lm.info)
        plane = Plane.through(a, b, c)
        if args.box:
            plane = Plane(plane.origin, plane.basis, tuple(args.box), plane.shape, plane.labels)
    else:
        if shape != (2,):
            raise CliError(f"{args.model} takes inputs of shape {shape}, not two numbers: give a plane through "
                           "three samples with --plane IDX0,IDX1,IDX2 (and --dataset)")
        plane = Plane.rect(*(args.box or _default_box(lm.info)))
    x = torch.zeros(1, *shape, dtype=next(model.parameters()).dtype)
    P = partition_of(model, plane, x, max_regions=args.max_regions)
    if args.json:
        print(json.dumps(P.to_json()))
    else:
        box = ", ".join(f"{v:g}" for v in plane.box)
        print(f"{args.model}: {len(P)} linear regions on [{box}] ({'plane of 3 samples' if args.plane else 'input'}); "
              f"after each level {list(P.per_level)}; {len(P.units)} units draw boundaries; decision boundary "
              f"{len(P.decision)} segments")
    return 0
