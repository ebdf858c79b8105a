"""Which dataset a source is, the words for its images and classes, and where a model's run
settings are read from (class names and the run's data come from there: test_fashion.py)."""

import json

import pytest

from dcgan import datasets
from dcgan.datasets import FASHION, MNIST


@pytest.mark.parametrize(
    "source, expected",
    [
        ("mnist", MNIST),
        ("sample", MNIST),
        ("bundled MNIST sample", MNIST),
        ("fashion_mnist", FASHION),
        ("fashion_mnist (/usr/share/datasets/fashion-mnist)", FASHION),
        ("/data/mnist.npz", MNIST),
        ("/data/Fashion-train.NPZ", FASHION),
        ("  fashion_mnist ", FASHION),
    ],
)
def test_named_sources_and_data_files(source, expected):
    assert datasets.kind(source) == expected


def test_the_default_is_dcgan_data_else_mnist(monkeypatch):
    monkeypatch.delenv("DCGAN_DATA", raising=False)
    assert datasets.kind(None) == MNIST
    monkeypatch.setenv("DCGAN_DATA", "fashion_mnist")
    assert datasets.kind(None) == FASHION


def test_a_folder_is_idx_only_when_it_holds_idx_files_and_nothing_else(tmp_path):
    idx = tmp_path / "fashion"
    idx.mkdir()
    (idx / "train-images-idx3-ubyte.gz").write_bytes(b"")
    assert datasets.is_idx_folder(idx) and datasets.kind(idx) == FASHION

    pictures = tmp_path / "pictures"
    (pictures / "cats").mkdir(parents=True)
    (pictures / "train-images-idx3-ubyte").write_bytes(b"")  # a stray IDX file beside classes
    assert not datasets.is_idx_folder(pictures) and datasets.kind(pictures) is None

    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.PNG").write_bytes(b"")
    (flat / "t10k-images-idx3-ubyte").write_bytes(b"")
    assert not datasets.is_idx_folder(flat)
    assert not datasets.is_idx_folder(tmp_path / "missing")
    assert not datasets.is_idx_folder(idx / "train-images-idx3-ubyte.gz")  # a file


def test_words_for_each_dataset():
    assert datasets.title(FASHION) == "Fashion-MNIST" and datasets.title(None) == "your own images"
    assert datasets.noun(MNIST, 1) == "digit" and datasets.noun(FASHION) == "images"
    assert datasets.class_name(MNIST, 7) == "7"
    assert datasets.class_name(FASHION, 7) == "7 (Sneaker)"
    assert datasets.class_name(None, 2) == "2"


def write(path, obj):
    path.write_text(json.dumps(obj) if not isinstance(obj, str) else obj)
    return path


def test_run_settings_are_run_json_then_config_json_never_kerass_own(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    model = folder / "generator.h5"
    model.write_bytes(b"")
    assert datasets.run_config_file(model) is None and datasets.run_config(model) is None

    write(folder / "config.json", {"data": "mnist", "seed": 1})  # a run folder's
    assert datasets.run_config(model)["seed"] == 1

    write(folder / "run.json", {"data": "fashion_mnist", "seed": 2})  # a model folder's
    assert datasets.run_config_file(model) == folder / "run.json"
    assert datasets.run_config(folder)["seed"] == 2  # the folder itself, as Keras loads it

    # A Keras model's config.json (an unzipped .keras) is not a run's, nor is a broken one.
    hub = tmp_path / "hub"
    hub.mkdir()
    write(hub / "config.json", {"class_name": "Sequential", "config": {}})
    assert datasets.run_config(hub) is None
    write(hub / "config.json", "{not json")
    assert datasets.run_config(hub) is None
    write(hub / "config.json", [1, 2])
    assert datasets.run_config(hub) is None


def test_an_oversized_settings_file_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "MAX_CONFIG_BYTES", 100)
    write(tmp_path / "config.json", {"data": "mnist", "pad": "x" * 200})
    assert datasets.run_config(tmp_path) is None
