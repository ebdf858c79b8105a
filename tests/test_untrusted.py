"""Models from outside run no code of theirs: Keras files load in safe mode, and a SavedModel
(which runs whatever graph it holds) only when named explicitly."""

import keras
import pytest

from dcgan import generate
from dcgan.errors import run_cli


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
