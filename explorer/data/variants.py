"""Dataset variants named in one string, for transfer experiments (docs/science.md §7, §8):
`BASE@key=value,key=value`.

- `seed=N`  — MNIST-1D generated with another seed (new templates' draws, shifts and noise);
- `noise=X` — MNIST-1D with its correlated and i.i.d. noise scaled by X;
- `perm=N`  — any dataset with its labels permuted by a fixed permutation drawn from seed N
  (the same inputs, another task).

    >>> parse("mnist1d@seed=3,noise=2")
    ('mnist1d', {'seed': 3.0, 'noise': 2.0})
    >>> parse("digits")
    ('digits', {})
    >>> permute_labels(np.array([0, 1, 2, 2]), 3, seed=0).tolist()
    [2, 0, 1, 1]
"""

from __future__ import annotations

import numpy as np

from explorer.data.user_files import DataError

KEYS = {"seed": "MNIST-1D generation seed", "noise": "MNIST-1D noise scale factor", "perm": "label permutation seed"}
MNIST1D_ONLY = ("seed", "noise")


def parse(name: str) -> tuple[str, dict[str, float]]:
    """(base name, options) of `BASE@key=value,...`; a name without `@` has no options."""
    base, at, rest = name.partition("@")
    if not at:
        return name, {}
    opts: dict[str, float] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or key not in KEYS:
            raise DataError(f"dataset variant {item!r} in {name!r} is not key=value with key one of "
                            f"{', '.join(KEYS)} (e.g. mnist1d@seed=1 or digits@perm=2)")
        try:
            opts[key] = float(value)
        except ValueError as e:
            raise DataError(f"dataset variant {name!r}: {key}={value!r} is not a number") from e
    bad = [k for k in opts if k in MNIST1D_ONLY and base != "mnist1d"]
    if bad:
        raise DataError(f"dataset variant {name!r}: {', '.join(bad)} applies to mnist1d only; use perm=N for {base}")
    if "noise" in opts and opts["noise"] < 0:
        raise DataError(f"dataset variant {name!r}: noise must be >= 0")
    return base, opts


def permute_labels(y: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """`y` relabelled by one permutation of the classes drawn from `seed`."""
    perm = np.random.default_rng(int(seed)).permutation(int(n_classes))
    return perm[np.asarray(y)]
