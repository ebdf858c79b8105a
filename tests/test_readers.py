"""The readers of `.npz` and IDX files (`dcgan.readers`) refuse a lying header before they
allocate or inflate anything, end every refusal with the caller's advice, and need neither
TensorFlow nor Keras."""

import subprocess
import sys
import zipfile

import numpy as np
import pytest

from dcgan import readers

from conftest import npy_bytes, write_idx

FIX = "pass something else"


def test_importable_without_tensorflow_or_keras():
    blocked = "import sys; sys.modules.update(tensorflow=None, keras=None); import dcgan.readers"
    subprocess.run([sys.executable, "-c", blocked], check=True)


@pytest.mark.parametrize("gz", [False, True])
def test_arrays_read_back_as_written(tmp_path, gz):
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    np.savez(tmp_path / "d.npz", x=np.asfortranarray(x), y=np.array([3, 7]))
    arrays, names = readers.read_npz(tmp_path / "d.npz", ("x", "y", "z"), FIX)
    np.testing.assert_array_equal(arrays["x"], x)
    assert arrays["y"].tolist() == [3, 7] and arrays["z"] is None and names == ["x", "y"]
    idx = tmp_path / ("x.idx.gz" if gz else "x.idx")
    write_idx(idx, x.shape, x.tobytes(), gz)
    np.testing.assert_array_equal(readers.read_idx(idx, FIX), x)


def test_tera_header_is_refused_before_anything_is_allocated(tmp_path, monkeypatch):
    """A header's claim is checked against the cap before the body is read or allocated."""
    with zipfile.ZipFile(tmp_path / "tera.npz", "w") as z:
        z.writestr("x.npy", npy_bytes((10**12, 28, 28), body=bytes(100)))
    write_idx(tmp_path / "tera.idx", (10**6, 10**6, 28), bytes(784))
    allocated = []
    real_empty = np.empty
    monkeypatch.setattr(
        np, "empty", lambda *a, **k: allocated.append(a) or real_empty(*a, **k), raising=True
    )
    with pytest.raises(ValueError, match=f"784.0 TB.*{FIX}$"):
        readers.read_npz(tmp_path / "tera.npz", ("x",), FIX)
    with pytest.raises(ValueError, match=f"28.0 TB.*{FIX}$"):
        readers.read_idx(tmp_path / "tera.idx", FIX)
    assert not allocated


def test_a_claim_under_the_cap_but_past_the_member_is_refused_from_the_header(tmp_path):
    """1 GB claimed, 100 bytes held: refused from the zip directory's size, nothing read."""
    path = tmp_path / "claims.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x_train.npy", npy_bytes((1_000_000, 28, 28), body=bytes(100)))
    with pytest.raises(ValueError, match=r"truncated: .* but the member holds 100 bytes"):
        readers.read_npz(path, ("x_train",), FIX)


def test_truncated_idx(tmp_path):
    x = np.zeros((50, 28, 28), np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", x.shape, x.tobytes()[:-100])
    with pytest.raises(ValueError, match=f"truncated.*{FIX}$"):
        readers.read_idx(tmp_path / "train-images-idx3-ubyte", FIX)
