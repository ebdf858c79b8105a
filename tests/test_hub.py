"""The shipped models' folders are Hugging Face Hub folders: one model each, with its card as
README.md and Keras's unzipped .keras (what keras.saving.load_model reads from a folder) equal to
the .keras beside it; the run's settings are in run.json, where Keras's config.json cannot clash
with them, and are still read from a run's config.json. `python -m dcgan.hub` makes such a
folder from an .h5 (tests/test_load_anywhere.py loads the shipped ones with plain Keras)."""

import json
import re
import zipfile

import keras
import numpy as np
import pytest

from dcgan import datasets, files, hub, sampling
from dcgan.cli import run_cli

from conftest import IN_SDIST, REPO, SDIST_SKIP, SHIPPED_FOLDERS

SHIPPED = REPO / "saved_models"


def test_each_folder_holds_one_model_and_its_card():
    assert sorted(p.name for p in SHIPPED.iterdir() if p.is_dir()) == sorted(SHIPPED_FOLDERS)
    index = (SHIPPED / "README.md").read_text()
    for folder, model in SHIPPED_FOLDERS.items():
        here = SHIPPED / folder
        assert (here / "README.md").read_text().startswith("---\n"), folder  # the card's header
        models = {p.name for p in here.glob("*.h5")} - {"model.weights.h5"}
        assert models == {model}, (folder, models)
        assert not list(here.glob("*.md"))[1:], f"{folder}: one card, README.md"
        assert f"`{folder}/`" in index, f"saved_models/README.md does not list {folder}/"
    for name in files._SHIPPED:  # what the tools load by default
        assert files.shipped(name).parent.name in SHIPPED_FOLDERS, name


@pytest.mark.parametrize("folder", SHIPPED_FOLDERS)
def test_folder_is_the_unzipped_keras_file_beside_it(folder):
    if IN_SDIST:
        pytest.skip(SDIST_SKIP)
    here = SHIPPED / folder
    assert files.is_keras_folder(here), f"{folder}: Keras would not load it as a model folder"
    keras_file = here / SHIPPED_FOLDERS[folder].replace(".h5", ".keras")
    with zipfile.ZipFile(keras_file) as zf:
        assert sorted(zf.namelist()) == sorted(files.KERAS_FOLDER_FILES)
        for name in files.KERAS_FOLDER_FILES:
            assert (here / name).read_bytes() == zf.read(name), (
                f"{folder}/{name} is not {keras_file.name}'s: python -m dcgan.hub "
                f"saved_models/{folder}/{SHIPPED_FOLDERS[folder]}"
            )


def test_run_settings_are_run_json_then_a_runs_config_json_never_keras(tmp_path):
    model = tmp_path / "generator.h5"
    assert datasets.run_config(model) is None
    keras_config = {"module": "keras", "class_name": "Functional", "config": {}}
    (tmp_path / "config.json").write_text(json.dumps(keras_config))
    assert datasets.run_config(model) is None  # a Keras model's, not a run's
    assert datasets.run_config(tmp_path) is None  # the folder itself
    (tmp_path / "run.json").write_text(json.dumps({"data": "fashion_mnist"}))
    assert datasets.run_config_file(model) == tmp_path / "run.json"
    assert datasets.run_config_file(tmp_path) == tmp_path / "run.json"
    (tmp_path / "run.json").unlink()
    (tmp_path / "config.json").write_text(json.dumps({"data": "fashion_mnist"}))  # a run's
    assert datasets.run_config_file(model) == tmp_path / "config.json"
    assert datasets.class_names(datasets.run_config(model)) == datasets.CLASS_NAMES["fashion_mnist"]


def test_shipped_fashion_generator_names_its_classes_as_a_file_and_as_a_folder():
    if IN_SDIST:
        pytest.skip(SDIST_SKIP)
    for path in (files.shipped("fashion_generator"), SHIPPED / "fashion"):
        g = sampling.load_generator(path)
        assert sampling.class_names(g)[7] == "Sneaker", path


def tiny(path, seed):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    model.get_layer("d").set_weights(
        [np.random.default_rng(seed).standard_normal(w.shape) for w in model.get_weights()]
    )
    model.save(path)
    return model


def test_a_keras_folder_may_come_from_the_environment(tmp_path, monkeypatch):
    """Loaded in Keras's safe mode, unlike a SavedModel (test_files.py): no graph runs."""
    good, run = tmp_path / "good", tmp_path / "run"
    good.mkdir(), run.mkdir()
    tiny(good / "net.h5", seed=0)
    hub.make_hub_folder(good / "net.h5", log=lambda _: None)
    monkeypatch.setenv(files.ENV["generator"], str(good))
    assert files.resolve("generator") == (good, "$DCGAN_GENERATOR")
    (run / "config.json").write_text('{"epochs": 2}')  # a run's folder is not a model
    (run / "model.weights.h5").write_bytes(b"")
    monkeypatch.setenv(files.ENV["generator"], str(run))
    with pytest.raises(ValueError, match="points at the folder"):
        files.resolve("generator")


def test_make_hub_folder_writes_a_folder_keras_loads(tmp_path):
    model = tiny(tmp_path / "net.h5", seed=0)
    (tmp_path / "run.json").write_text("{}")
    digests = hub.make_hub_folder(tmp_path / "net.h5", log=lambda _: None)
    assert sorted(digests) == ["model.weights.h5", "net.h5", "net.keras"]
    assert files.is_keras_folder(tmp_path)
    x = np.ones((2, 3), "float32")
    for source in (tmp_path, tmp_path / "net.keras"):
        np.testing.assert_array_equal(keras.saving.load_model(source)(x), model(x))
    assert digests["net.h5"] == hub.sha256(tmp_path / "net.h5")
    # Again: the .keras there is kept (a shipped one keeps its sha256), the folder rewritten.
    (tmp_path / "model.weights.h5").unlink()
    assert hub.make_hub_folder(tmp_path / "net.h5", log=lambda _: None) == digests


def test_make_hub_folder_refuses_a_stale_keras_file(tmp_path):
    tiny(tmp_path / "net.h5", seed=0)
    tiny(tmp_path / "net.keras", seed=1)  # other weights: an old .keras beside a new .h5
    with pytest.raises(ValueError, match=r"net\.keras computes other numbers than .*net\.h5"):
        hub.make_hub_folder(tmp_path / "net.h5", log=lambda _: None)
    assert not (tmp_path / "model.weights.h5").exists()  # nothing unpacked from it


@pytest.mark.parametrize(
    "setup, argv, message",
    [
        (None, ["{tmp}/net.keras"], "is not an .h5 model file"),
        (None, ["{tmp}/missing.h5"], "is not an .h5 model file"),
        ('{"epochs": 2}', ["{tmp}/net.h5"], "config.json is not a Keras model's .* rename it run"),
    ],
    ids=["not-h5", "missing", "run-config"],
)
def test_hub_cli_refuses_in_one_line_before_writing(tmp_path, capsys, setup, argv, message):
    tiny(tmp_path / "net.h5", seed=0)
    if setup is not None:
        (tmp_path / "config.json").write_text(setup)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(SystemExit) as stop:
        run_cli(hub.main, [a.format(tmp=tmp_path) for a in argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
