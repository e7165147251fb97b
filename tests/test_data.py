"""Datasets: shapes, fixed split, shared order, and user files rejected with file/row/fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.data import Batches, DataError, load_dataset


@pytest.mark.parametrize("name,shape,k", [("moons", (2,), 2), ("circles", (2,), 2), ("spirals", (2,), 2),
                                          ("xor", (2,), 2), ("digits", (1, 8, 8), 10)])
def test_builtin_shapes_and_split(name, shape, k):
    d = load_dataset(name)
    assert d.input_shape == shape and d.n_classes == k
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert set(d.y_train.tolist()) == set(range(k))
    assert torch.equal(load_dataset(name).x_test, d.x_test)  # split fixed
    n = len(d.y_train) + len(d.y_test)
    assert abs(len(d.y_test) / n - 0.2) < 0.01


def test_xor_labels_are_xor():
    d = load_dataset("xor")
    x, y = d.x_train, d.y_train
    assert torch.equal(y, ((x[:, 0] > 0) ^ (x[:, 1] > 0)).long())


def test_mnist1d_generated_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    d = load_dataset("mnist1d")
    assert (len(d.y_train), len(d.y_test), d.input_shape, d.n_classes) == (4000, 1000, (40,), 10)
    assert (tmp_path / "datasets" / "mnist1d.npz").exists()
    assert torch.equal(load_dataset("mnist1d").x_train, d.x_train)


def test_batches_order_depends_only_on_data_seed():
    d = load_dataset("moons")
    take = lambda seed, n=20: [y for _, y in zip(range(n), Batches(d.x_train, d.y_train, 64, seed))]  # noqa: E731
    a, b, c = take(0), take(0), take(1)
    assert all(torch.equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(torch.equal(x[1], y[1]) for x, y in zip(a, c))
    # one epoch visits each example at most once
    epoch = [x for _, x in zip(range(len(d.y_train) // 64), iter(Batches(torch.arange(800.0)[:, None], d.y_train, 64, 0)))]
    seen = torch.cat([x[0].flatten() for x in epoch])
    assert len(seen.unique()) == len(seen)


def test_reshape_for_model():
    d = load_dataset("digits").reshaped((64,))
    assert d.input_shape == (64,)
    with pytest.raises(DataError, match=r"expects \(40,\)"):
        load_dataset("digits").reshaped((40,))


def test_user_csv_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3)), rng.integers(0, 3, 50)
    p = tmp_path / "ok.csv"
    np.savetxt(p, np.column_stack([x, y]), delimiter=",")
    d = load_dataset(str(p))
    assert d.input_shape == (3,) and d.n_classes == 3 and len(d.y_train) + len(d.y_test) == 50
    h = tmp_path / "hdr.csv"
    h.write_text("a,b,label\n" + "\n".join(f"{i},{i * 2},{i % 2}" for i in range(10)))
    assert load_dataset(str(h)).input_shape == (2,)
    z = tmp_path / "ok.npz"
    np.savez(z, x=rng.normal(size=(20, 1, 4, 4)), y=np.arange(20) % 4)
    assert load_dataset(str(z)).input_shape == (1, 4, 4)


@pytest.mark.parametrize("content,match", [
    ("1,2,0\n3,nan,1\n5,6,0\n", r"row 1 has a NaN"),
    ("1,2,0\n3,4,1.5\n5,6,0\n", r"row 1 has label 1.5"),
    ("1,2,0\n3,4,-1\n5,6,0\n", r"row 1 has label -1"),
    ("1,2,0\n3,x,1\n5,6,0\n", r"row 1 column 1 holds 'x'"),
    ("1\n2\n", r"needs feature columns"),
])
def test_bad_csv_names_file_row_and_fix(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(DataError, match=match) as e:
        load_dataset(str(p))
    assert "bad.csv" in str(e.value)


def test_bad_npz_and_paths(tmp_path):
    z = tmp_path / "b.npz"
    np.savez(z, x=np.zeros((5, 2)), y=np.zeros(4))
    with pytest.raises(DataError, match="one per sample"):
        load_dataset(str(z))
    np.savez(z, inputs=np.zeros((5, 2)))
    with pytest.raises(DataError, match="named 'x'"):
        load_dataset(str(z))
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(str(tmp_path / "nope.csv"))
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("imagenet")
