"""`dcgan.trust`: models from outside run no code of theirs (Keras files load in safe mode, and
a SavedModel, which runs whatever graph it holds, only when named explicitly: test_files.py),
and a small file that would cost gigabytes is refused before it loads, by every loader."""

import keras
import pytest

from dcgan import generate, trust
from dcgan.cli import run_cli


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_model_with_python_code_inside_is_refused(tmp_path, capsys, monkeypatch, suffix):
    """A Lambda layer carries Python code (marshalled bytecode in .h5): loading it would run it."""
    shout = keras.layers.Lambda(lambda x: x * 0 + 1)  # stands for any code an attacker ships
    model = keras.Sequential(
        [keras.Input((100,)), keras.layers.Dense(784), shout, keras.layers.Reshape((28, 28, 1))]
    )
    path = tmp_path / f"lambda{suffix}"
    model.save(path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(SystemExit) as e:
        run_cli(generate.main, ["--model", str(path), "-n", "4", "--out", "x.png"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "not a loadable" in err and not list(work.iterdir())


# Small files that would cost gigabytes or minutes are refused from what they declare, before
# anything is inflated, built or run.


def _upsampler(path):
    """10 kB: 100 latents -> 2800x2800 (7.8 million values per digit) -> 28x28x1."""
    keras.Sequential(
        [
            keras.Input((100,)),
            keras.layers.Dense(49),
            keras.layers.Reshape((7, 7, 1)),
            keras.layers.UpSampling2D(400),
            keras.layers.AveragePooling2D(100),
        ]
    ).save(path)


def _wide_input(path):
    """80 kB with a 15.7-million-wide input."""
    keras.Sequential(
        [
            keras.Input((28 * 28 * 20000,)),
            keras.layers.Reshape((28, 28, 20000)),
            keras.layers.Conv2D(1, 1),
        ]
    ).save(path)


def _h5_claiming_gigabytes(path):
    """A few kB of HDF5 whose one compressed dataset declares 800 MB."""
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset(
            "w", shape=(200_000_000,), dtype="f4", chunks=(1_000_000,), compression="gzip"
        )


def _zip_bomb(path):
    """A .keras (zip) of 2.6 MB whose member inflates to 600 MB."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("config.json", "{}")
        with zf.open("model.weights.h5", "w", force_zip64=True) as f:
            block = bytes(1 << 24)
            for _ in range(36):
                f.write(block)


BOMBS = {
    "upsampler.keras": (_upsampler, "outputs (None, 2800, 2800, 1)"),
    "upsampler.h5": (_upsampler, "outputs (None, 2800, 2800, 1)"),
    "wide_input.keras": (_wide_input, "takes inputs of shape (15680000,)"),
    "claims.h5": (_h5_claiming_gigabytes, "declares weights of 0.8 GB"),
    "bomb.keras": (_zip_bomb, "inflates to 0.6 GB"),
}


@pytest.mark.parametrize("name", BOMBS)
@pytest.mark.parametrize("flag", ["--model", "--classifier"])
def test_a_model_that_would_cost_gigabytes_is_refused_before_it_loads(
    name, flag, tmp_path, capsys, monkeypatch
):
    import time

    make, words = BOMBS[name]
    path = tmp_path / name
    make(path)
    assert path.stat().st_size < 5_000_000  # a few MB at most
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = ["--model", str(path), "-n", "4", "--out", "x.png"]
    main = generate.main
    if flag == "--classifier":
        from dcgan import evaluate

        main = evaluate.main
        argv = ["--images", str(tmp_path / "d.npz"), "--classifier", str(path), "--data", "sample"]
        import numpy as np

        np.savez(tmp_path / "d.npz", images=np.zeros((10, 28, 28), np.uint8))
    start = time.monotonic()
    with pytest.raises(SystemExit) as e:
        run_cli(main, argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert words in err and str(path) in err, err
    assert time.monotonic() - start < 20 and not list(work.iterdir())


def test_a_file_that_does_not_load_is_one_line_saying_what_to_pass(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not a model")
    with pytest.raises(ValueError) as e:
        trust.load_keras_model(path, "pass --classifier another one")
    assert str(e.value).startswith(f"{path} is not a loadable Keras model (")
    assert str(e.value).endswith("): pass --classifier another one")
