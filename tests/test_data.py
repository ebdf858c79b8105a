"""Every data source a user can name ends as uint8 digits and a [-1, 1] pipeline."""

import gzip

import numpy as np
import pytest

from dcgan import data


def write_idx(path, array, gz):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    (gzip.open if gz else open)(path, "wb").write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def digits():
    x, y, _ = data.load("sample")
    return x[:50], y[:50]


def test_sample_ships_with_package():
    x, y, desc = data.load("sample")
    assert x.shape == (4000, 28, 28) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [400] * 10
    xt, yt, _ = data.load("sample", "test")
    assert xt.shape == (1000, 28, 28)


def test_npz_path_and_env_var(tmp_path, monkeypatch, digits):
    x, y = digits
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_test=x[:5], y_test=y[:5])
    got, labels, _ = data.load(str(tmp_path / "d.npz"))
    assert np.array_equal(got, x) and np.array_equal(labels, y)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "d.npz"))
    assert data.load(None, "test")[0].shape == (5, 28, 28)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder(tmp_path, digits, gz):
    x, y = digits
    ext = ".gz" if gz else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{ext}", x, gz)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{ext}", y, gz)
    got, labels, _ = data.load(str(tmp_path))
    assert np.array_equal(got, x) and np.array_equal(labels, y)


URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


@pytest.mark.parametrize(
    "error, reason",
    [
        (f"URL fetch failure on {URL}: None -- [Errno -2] Name or service not known",
         "([Errno -2] Name or service not known)"),
        (f"URL fetch failure on {URL}: 403 -- Forbidden", "(Forbidden)"),
        ("no network", "(no network)"),
        ("", "(Exception)"),
        ("word " * 100, "word word ...)"),
    ],
)  # fmt: skip
def test_falls_back_to_sample_once_when_mnist_unreachable(error, reason, monkeypatch, capsys):
    """Offline, a command tries Keras's download once (so Keras's "Downloading data from"
    line shows once), says why in one whole line, once, and reads the sample every time."""
    import keras

    tries = []

    def offline():
        tries.append(print(f"Downloading data from {URL}"))
        raise Exception(error)

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    said = []
    for split in ("train", "test", "test", "train"):  # as evaluate loads them
        x, _, desc = data.load(None, split, log=said.append)
        assert len(x) == (4000 if split == "train" else 1000) and "sample" in desc
    assert len(tries) == 1 and capsys.readouterr().out.count("Downloading data from") == 1
    assert len(said) == 1 and "sample" in said[0] and "\n" not in said[0]
    assert f"{reason}; using the bundled sample of 4,000 digits" in said[0], said[0]


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_mnist_asked_for_by_name_is_never_replaced_by_the_sample(
    how, monkeypatch, tmp_path, capsys
):
    import keras

    from dcgan import train
    from dcgan.cli import run_cli

    def offline():
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    argv = ["--data", "mnist"]
    if how == "environment":
        monkeypatch.setenv(data.ENV_VAR, "mnist")
        argv = []
    with pytest.raises(FileNotFoundError, match="asks for it by name"):
        data.load(*argv[1:])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        run_cli(train.main, [*argv, "--epochs", "1", "--quiet"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "MNIST could not be downloaded" in err and "--data sample" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: None, "not found"),
        (lambda p: p.write_bytes(b"not a zip at all"), "cannot read"),
        (lambda p: np.savez(p, x_train=np.zeros((5, 32, 32), np.uint8)), "shape"),
        (lambda p: np.savez(p, images=np.zeros((5, 28, 28), np.uint8)), "no 'x_train'"),
        (lambda p: np.savez(p, x_train=np.zeros((0, 28, 28), np.uint8)), "no images"),
    ],
)
def test_bad_files_say_what_to_do(tmp_path, make, words):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises((ValueError, OSError), match=words) as e:
        data.load(str(path))
    assert "--data" in str(e.value)
