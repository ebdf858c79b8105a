"""The small classifier every score reads images with: built, trained, saved, loaded, chosen
for the data (`for_data`: MNIST's for digits, Fashion-MNIST's for clothes), and its features
(the penultimate layer, for FID and precision/recall) and probabilities.

Inception-based FID/IS are the wrong tool for 28x28 greyscale digits (ImageNet features of
upscaled digits barely tell a 4 from a 9), so the scores in `dcgan.metrics` use this convnet.
"""

import os
from pathlib import Path

import keras
from keras import layers
import numpy as np

from dcgan import datasets, files
from dcgan.data import check_images
from dcgan.files import ENV, NUM_CLASSES
from dcgan.models import check_cost

FEATURES_LAYER = "features"
TRAIN_HINT = "train one with python -m dcgan.evaluate --train-classifier"


def build_classifier(dropout=0.4, shape=(28, 28, 1), classes=NUM_CLASSES):
    """uint8-valued images (n, 28, 28, 1) in 0..255 -> class probabilities (n, 10).

    LeNet-like, ~185k weights (0.8 MB as .h5). Scaling is inside the model, so callers feed raw
    0..255 pixels; the Dense layer named "features" is the penultimate layer used for FID.
    `shape` and `classes` build the same network for a folder of your own images
    (`dcgan.features`).
    """
    return keras.Sequential(
        [
            keras.Input(shape),
            layers.Rescaling(1.0 / 255.0),
            layers.Conv2D(32, 5, activation="relu"),
            layers.MaxPooling2D(),  # 24 -> 12
            layers.Conv2D(64, 5, activation="relu"),
            layers.MaxPooling2D(),  # 8 -> 4
            layers.Flatten(),
            layers.Dropout(dropout),
            layers.Dense(128, activation="relu", name=FEATURES_LAYER),
            layers.Dropout(dropout),
            layers.Dense(classes, name="logits"),
            layers.Activation("softmax", dtype="float32", name="probs"),
        ],
        name="mnist_classifier",
    )


def _as_input(images):
    """uint8 (n, 28, 28[, 1]) -> float32 (n, 28, 28, 1) in 0..255, shape checked."""
    x = check_images(images)
    return x.astype(np.float32)[..., None]


def train_classifier(
    x_train, y_train, x_test, y_test, epochs=3, batch_size=128, lr=1e-3, seed=0, verbose="auto"
):
    """Trains `build_classifier()` on uint8 digits; returns (classifier, test accuracy)."""
    keras.utils.set_random_seed(seed)
    model = build_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        _as_input(x_train),
        np.asarray(y_train).astype(np.int64),
        batch_size=batch_size,
        epochs=epochs,
        verbose=verbose,
        shuffle=True,
    )
    _, probs = features_and_probs(model, x_test)
    accuracy = float(np.mean(probs.argmax(1) == np.asarray(y_test).astype(np.int64).ravel()))
    return model, accuracy


def save_classifier(model, path):
    """Writes the classifier without optimizer state (small), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic_path(path) as tmp:
        model.save(tmp, include_optimizer=False) if path.suffix == ".h5" else model.save(tmp)
    return path


def classifier_path(path=None):
    """`path`, else $DCGAN_CLASSIFIER, else the shipped classifier."""
    return files.resolve("classifier", path)[0]


# Passed as --classifier, asks for the scores that need no classifier.
NONE = "none"


def for_data(source, given=None, shape=(28, 28, 1)):
    """The classifier that reads `source`'s images: (path, where it came from, in words), or
    (None, why there is none, in words) for images no classifier here reads.

    `given` (--classifier) wins: a path, or "none" for no classifier. Then images that are not
    28x28x1 have none; $DCGAN_CLASSIFIER names one for any data; else the dataset's own (see
    `datasets.kind`): MNIST's ($DCGAN_CLASSIFIER's default) for MNIST and the bundled sample,
    Fashion-MNIST's ($DCGAN_FASHION_CLASSIFIER, else the shipped one) for Fashion-MNIST, and
    none for a folder of your own images.
    """
    if given and str(given).strip().lower() == NONE:
        return None, "--classifier none asks for no classifier"
    if given:
        return Path(given).expanduser(), "--classifier"
    if tuple(shape) != (28, 28, 1):
        return None, f"no classifier here reads {'x'.join(map(str, shape))} images"
    kind = datasets.kind(source)
    if os.environ.get(ENV["classifier"]) or kind == datasets.MNIST:
        path, where = files.resolve("classifier")
    elif kind is None:
        return None, f"no classifier here reads {source}: it is neither MNIST nor Fashion-MNIST"
    else:
        path, where = files.resolve(datasets.CLASSIFIERS[kind])
    return path, where if where != "shipped" else f"the shipped {datasets.title(kind)} classifier"


def load_classifier(path=None):
    """Loads a classifier that the metrics here read images with (`for_data` picks the one).

    Args:
        path: a Keras .h5/.keras classifier (default: $DCGAN_CLASSIFIER, else the shipped MNIST
            one).
    Returns:
        A Keras model: uint8-valued images (n, 28, 28, 1) -> probabilities (n, 10).
    Raises:
        FileNotFoundError: no classifier there.
        ValueError: it does not load, or does not map 28x28x1 digits to 10 classes.
    """
    path, source = files.resolve("classifier", path)
    if not path.exists():
        where = f" (from ${ENV['classifier']})" if source.startswith("$") else ""
        raise FileNotFoundError(
            f"classifier {path}{where} not found: {TRAIN_HINT}, or pass "
            f"--classifier (or set ${ENV['classifier']}) to one"
        )

    files.check_model_file(path)  # what it declares, before anything is inflated
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:
        raise ValueError(
            f"{path} is not a loadable Keras model ({type(e).__name__}): {TRAIN_HINT}"
        ) from None
    check_cost(model, path)  # what running it would cost, before it runs
    if tuple(model.input_shape[1:]) != (28, 28, 1) or tuple(model.output_shape[1:]) != (
        NUM_CLASSES,
    ):
        raise ValueError(
            f"{path} maps {model.input_shape} -> {model.output_shape}, not 28x28x1 "
            f"digits -> 10 classes: pass --classifier an MNIST classifier, or {TRAIN_HINT}"
        )
    return model


def _feature_model(classifier):
    """A keras.Model sharing the classifier's layers, with outputs (penultimate, probs).

    The penultimate layer is the one named "features", else the input of the last Dense layer.
    Built once per classifier and cached on it.
    """
    cached = getattr(classifier, "_dcgan_feature_model", None)
    if cached is not None:
        return cached

    names = [layer.name for layer in classifier.layers]
    if FEATURES_LAYER in names:
        feats = classifier.get_layer(FEATURES_LAYER).output
    else:
        dense = [layer for layer in classifier.layers if isinstance(layer, keras.layers.Dense)]
        if not dense:
            raise ValueError(
                f"classifier {classifier.name} has no Dense layer to take features "
                f"before: {TRAIN_HINT}"
            )
        feats = dense[-1].input
    model = keras.Model(
        classifier.inputs[0], [feats, classifier.outputs[0]], name="features_and_probs"
    )
    classifier._dcgan_feature_model = model
    return model


def features_and_probs(classifier, images_uint8, batch_size=1000):
    """uint8 (n, 28, 28) -> (penultimate features (n, d) float64, softmax probs (n, 10) float64).

    `images_uint8` may also be an iterator of uint8 batches (as `sampling.generate_batches`
    gives them): only the features are kept, never all the images. Pixels become floats one
    batch at a time.
    """
    model = _feature_model(classifier)
    if not hasattr(images_uint8, "__next__"):  # an array (or a list of images), not batches
        images_uint8 = [check_images(images_uint8)]
    feats, probs = [], []
    for batch in images_uint8:
        x = check_images(batch)
        for i in range(0, len(x), batch_size):
            f, p = model(x[i : i + batch_size].astype(np.float32)[..., None], training=False)
            feats.append(np.asarray(f, np.float64))
            probs.append(np.asarray(p, np.float64))
    return np.concatenate(feats), np.concatenate(probs)


# What the classifier reads, (side, side, channels); a generator of another shape has no
# classifier here to be scored with.
CLASSIFIER_SHAPE = (28, 28, 1)


def check_scorable(image_shape, what, fix):
    """ValueError unless images of `image_shape` (side, side, channels) can be scored by the
    MNIST classifier: "{what} draws SxSxC images, ...: {fix}"."""
    shape = tuple(image_shape)
    if shape != CLASSIFIER_SHAPE:
        raise ValueError(
            f"{what} draws {'x'.join(map(str, shape))} images, and the scores read 28x28x1 "
            f"digits with an MNIST classifier: {fix}"
        )
