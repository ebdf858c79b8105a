"""The classifier every score reads images with: chosen by what the images are (never by a
name), loaded only when it is one, and read for its features and probabilities."""

import keras
import numpy as np
import pytest

from dcgan import classifier as classifiers
from dcgan import data, datasets, files


@pytest.fixture(scope="module")
def digits():
    return data.load("sample", "test", log=lambda m: None)[0]


def test_the_shipped_classifiers_tell_digits_from_noise(digits):
    kind, read = classifiers.identify(digits)
    assert kind == datasets.MNIST and read[datasets.MNIST] >= classifiers.FITS[datasets.MNIST]
    noise = np.random.default_rng(0).integers(0, 256, (200, 28, 28), dtype=np.uint8)
    kind, read = classifiers.identify(noise)
    assert kind is None and set(read) == {datasets.MNIST, datasets.FASHION}


def test_digits_get_the_mnist_classifier_whatever_the_file_is_called(digits):
    choice = classifiers.for_data("/somewhere/clothes.npz", images=digits)
    assert choice.kind == datasets.MNIST
    assert choice.path.resolve() == files.shipped("classifier").resolve()


def test_images_no_classifier_reads_get_none_and_why(digits, tmp_path):
    assert classifiers.for_data("mnist", "None").path is None
    choice = classifiers.for_data("mnist", shape=(32, 32, 3))
    assert choice.path is None and "32x32x3" in choice.where
    noise = np.random.default_rng(1).integers(0, 256, (200, 28, 28), dtype=np.uint8)
    choice = classifiers.for_data("x.npz", images=noise)
    assert choice.path is None and "--classifier none" in choice.where
    pictures = tmp_path / "pictures"
    (pictures / "cats").mkdir(parents=True)
    choice = classifiers.for_data(str(pictures))
    assert choice.path is None and "neither MNIST nor Fashion-MNIST" in choice.where


def test_a_classifier_of_other_data_is_refused_with_the_one_to_use(digits):
    fashion = files.shipped("fashion_classifier")
    with pytest.raises(ValueError, match="does not read .*drop --classifier for the MNIST one"):
        classifiers.for_data("mnist", str(fashion), images=digits)


def test_a_missing_or_wrong_classifier_file_says_how_to_get_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found: train one with"):
        classifiers.load_classifier(tmp_path / "none.h5")
    wide = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    wide.save(tmp_path / "three.keras")
    with pytest.raises(ValueError, match="not 28x28x1 digits -> 10 classes"):
        classifiers.load_classifier(tmp_path / "three.keras")
    (tmp_path / "junk.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(ValueError):
        classifiers.load_classifier(tmp_path / "junk.h5")


def test_features_are_the_named_layer_and_batches_read_as_one_array(digits):
    model = classifiers.load_classifier()
    feats, probs = classifiers.features_and_probs(model, digits[:300])
    assert feats.shape == (300, model.get_layer(classifiers.FEATURES_LAYER).units)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    batched = classifiers.features_and_probs(model, iter([digits[:100], digits[100:300]]))
    np.testing.assert_allclose(batched[0], feats, rtol=1e-5, atol=1e-5)
    assert (
        probs.argmax(1) == data.load("sample", "test", log=lambda m: None)[1][:300]
    ).mean() > 0.9


def test_a_classifier_without_a_features_layer_reads_its_last_dense_input():
    plain = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(16),
            keras.layers.Dense(10),
        ]
    )
    feats, _ = classifiers.features_and_probs(plain, np.zeros((4, 28, 28), np.uint8))
    assert feats.shape == (4, 16)


def test_only_28x28_greyscale_is_scorable():
    classifiers.check_scorable((28, 28, 1), "G", "fix")
    with pytest.raises(ValueError, match="G draws 32x32x3 images.*: pass another"):
        classifiers.check_scorable((32, 32, 3), "G", "pass another")
