"""The user's own dataset files: `.csv` (last column = label) or `.npz` (arrays `x`, `y`),
validated so that every problem is named with its file, row and fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class DataError(ValueError):
    """A dataset that cannot be used; the message names the file, row or shape and the fix."""


MAX_VALUES = 200_000_000  # numbers in a user dataset (inputs): 800 MB as float32
MAX_FEATURES = 100_000  # columns of a CSV; beyond this a CSV is the wrong format (use .npz)
MAX_BYTES = 1 << 30  # a dataset file


def validate(x: np.ndarray, y: np.ndarray, src: str) -> tuple[np.ndarray, np.ndarray]:
    if x.dtype.kind == "c" or y.dtype.kind == "c":
        raise DataError(f"{src}: complex numbers are not inputs a network here takes; give real numbers "
                        "(e.g. split real and imaginary parts into two features)")
    if x.dtype.kind in "OSUV":
        raise DataError(f"{src}: inputs hold {x.dtype} values, not numbers; give a numeric array")
    if x.ndim < 2:
        raise DataError(f"{src}: inputs must be (n_samples, features...); got shape {x.shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{src}: labels must be one per sample (shape ({len(x)},)); got shape {y.shape}")
    if len(y) < 2:
        raise DataError(f"{src}: needs at least 2 samples to split into train and test; got {len(y)}")
    try:
        x = x.astype(np.float32)
    except (TypeError, ValueError) as e:
        raise DataError(f"{src}: inputs must be numbers ({e}); remove text columns") from e
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{src}: row {i} has a NaN or infinite input ({int(bad.sum())} such rows); "
                        "drop or impute those rows")
    yf = y.astype(np.float64) if y.dtype.kind in "fiub" else None
    if yf is None:
        raise DataError(f"{src}: labels must be integers 0..K-1; got dtype {y.dtype}")
    if not np.isfinite(yf).all():
        i = int(np.flatnonzero(~np.isfinite(yf))[0])
        raise DataError(f"{src}: row {i} has a NaN label; every label must be an integer 0..K-1")
    if (yf != np.round(yf)).any() or (yf < 0).any():
        i = int(np.flatnonzero((yf != np.round(yf)) | (yf < 0))[0])
        raise DataError(f"{src}: row {i} has label {y[i]}, but labels must be integers 0..K-1; "
                        "map your classes to 0..K-1")
    return x, yf.astype(np.int64)


def _npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype, int]]:
    """{array name: (shape, dtype, stored bytes)} of an .npz, read from the headers alone (no data)."""
    import zipfile

    out = {}
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with z.open(info) as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(f)
            out[info.filename[:-4]] = (tuple(shape), dtype, info.file_size)
    return out


def read_user_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataError(f"dataset file {path} does not exist; give a built-in dataset name or a .csv/.npz path")
    if path.stat().st_size > MAX_BYTES:
        raise DataError(f"{path}: {path.stat().st_size / 2**30:.1f} GB is more than a dataset may be here "
                        f"({MAX_BYTES / 2**30:.0f} GB); subsample it")
    if path.suffix.lower() == ".npz":
        try:
            heads = _npz_headers(path)
        except Exception as e:  # noqa: BLE001 - zipfile and numpy raise many types for a bad file
            raise DataError(f"{path}: not a readable .npz ({type(e).__name__}: {e}); save it with numpy.savez") from e
        if "x" not in heads or "y" not in heads:
            raise DataError(f"{path}: an .npz dataset needs arrays named 'x' (inputs) and 'y' (labels); "
                            f"found {sorted(heads)}")
        for k, (shape, dtype, stored) in heads.items():
            n = int(np.prod(shape, dtype=np.float64))
            if n > MAX_VALUES:
                raise DataError(f"{path}: array {k!r} declares shape {shape} ({n:,} values), more than "
                                f"{MAX_VALUES:,}; subsample the dataset")
            if dtype.hasobject:
                raise DataError(f"{path}: array {k!r} holds Python objects; save numeric arrays (never pickles)")
            if n * dtype.itemsize > stored + 4096:
                raise DataError(f"{path}: array {k!r} declares {n:,} values but the file holds far fewer bytes "
                                "(truncated or damaged); save it again")
        try:
            z = np.load(path, allow_pickle=False)
            x, y = np.asarray(z["x"]), np.asarray(z["y"])
        except Exception as e:  # noqa: BLE001
            raise DataError(f"{path}: not a readable .npz ({type(e).__name__}: {e}); save it with numpy.savez") from e
        return validate(x, y, str(path))
    if path.suffix.lower() == ".csv":
        import pandas as pd

        with open(path, "rb") as f:
            head = f.readline(MAX_FEATURES * 64)
        if head.count(b",") + 1 > MAX_FEATURES:
            raise DataError(f"{path}: more than {MAX_FEATURES:,} columns in its first line; a CSV of so many "
                            "features is the wrong format here — save x and y with numpy.savez as an .npz")
        try:
            df = pd.read_csv(path, header=None)
            if not all(_is_num(v) for v in df.iloc[0]):  # first row is a header
                df = pd.read_csv(path)
        except Exception as e:
            raise DataError(f"{path}: not a readable CSV ({e})") from e
        if df.shape[1] < 2:
            raise DataError(f"{path}: a CSV dataset needs feature columns and a last label column; found "
                            f"{df.shape[1]} column")
        for j, col in enumerate(df.columns):
            num = pd.to_numeric(df[col], errors="coerce")
            bad = num.isna() & df[col].notna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(f"{path}: row {i} column {j} holds {df[col].iloc[i]!r}, not a number; "
                                "every cell must be numeric (labels as 0..K-1)")
        arr = df.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        return validate(arr[:, :-1], arr[:, -1], str(path))
    raise DataError(f"dataset {path}: unknown file type {path.suffix!r}; use .csv (last column = label) or .npz (x, y)")


def _is_num(v: object) -> bool:
    try:
        float(v)  # type: ignore[arg-type]
        return True
    except (TypeError, ValueError):
        return False
