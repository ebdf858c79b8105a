"""The small classifier every score reads images with: built, trained, saved, loaded, chosen
for the data (`for_data`: MNIST's for digits, Fashion-MNIST's for clothes), and its features
(the penultimate layer, for FID and precision/recall) and probabilities.

Inception-based FID/IS are the wrong tool for 28x28 greyscale digits (ImageNet features of
upscaled digits barely tell a 4 from a 9), so the scores in `dcgan.metrics` use this convnet.
"""

import collections
import os
from pathlib import Path

import keras
from keras import layers
import numpy as np

from dcgan import data, datasets, files, trust
from dcgan.data import check_images
from dcgan.files import ENV, NUM_CLASSES

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


# Passed as --classifier, asks for the scores that need no classifier.
NONE = "none"
# Whether a classifier reads a data set is told by how sure it is of the data's own images: the
# mean top-class probability of PROBE of them. Measured 2026-12-04 (500 images, 10 draws from
# each split): the shipped MNIST classifier reads MNIST at 0.982-0.995, Fashion-MNIST at
# 0.56-0.60 and random pixels at 0.75; the Fashion-MNIST one reads Fashion-MNIST at
# 0.875-0.913 but digits at 0.80-0.86 too, so only MNIST's tells the two apart (it is asked
# first). A file's name tells nothing: clothes saved as clothes.npz are still clothes.
PROBE = 500
FITS = {datasets.MNIST: 0.9, datasets.FASHION: 0.8}
# Another classifier (--classifier, $DCGAN_CLASSIFIER) must be at least as sure of the data as
# the least sure shipped one is of its own.
MIN_CONFIDENCE = 0.8


# (path, where it came from in words, dataset of the images or None); a path of None means no
# classifier, and `where` then says why.
Choice = collections.namedtuple("Choice", "path where kind", defaults=(None,))


def confidence(classifier, images):
    """Mean top-class probability of `classifier` on (at most PROBE of, evenly spread) `images`."""
    images = check_images(images)
    pick = np.linspace(0, len(images) - 1, min(PROBE, len(images))).astype(int)
    return float(features_and_probs(classifier, images[pick])[1].max(1).mean())


_SHIPPED = {}


def _shipped(kind):
    """The shipped classifier of `kind`, loaded once."""
    if kind not in _SHIPPED:
        _SHIPPED[kind] = load_classifier(files.shipped(datasets.CLASSIFIERS[kind]))
    return _SHIPPED[kind]


def identify(images):
    """(MNIST, FASHION or None, {dataset: the confidence of its shipped classifier}): what
    28x28 greyscale `images` are, told by the shipped classifiers (see FITS)."""
    read = {}
    for kind in (datasets.MNIST, datasets.FASHION):
        read[kind] = confidence(_shipped(kind), images)
        if read[kind] >= FITS[kind]:
            return kind, read
    return None, read


def _shipped_kind(path):
    """The dataset of a shipped classifier at `path`, None for any other file."""
    for kind, name in datasets.CLASSIFIERS.items():
        if Path(path).expanduser().resolve() == files.shipped(name).resolve():
            return kind
    return None


def for_data(source, given=None, shape=(28, 28, 1), images=None):
    """The classifier that reads `source`'s images, chosen by what they are, never by a name:
    a `Choice` (path, where it came from, the images' dataset), or (None, why, None).

    `images` are real images of `source` (default: its test split, loaded): the shipped
    classifiers tell MNIST's digits from Fashion-MNIST's clothes (`identify`). `given`
    (--classifier) wins: a path, or "none" for no classifier; then images that are not 28x28x1
    have none, nor does a folder of your own images; $DCGAN_CLASSIFIER names one for any data;
    else the dataset's own: MNIST's for digits, Fashion-MNIST's ($DCGAN_FASHION_CLASSIFIER,
    else the shipped one) for clothes, and none (with why) for images neither reads.
    Raises ValueError for a classifier named that does not read the images (say the MNIST one
    given clothes), naming what to pass instead.
    """
    if given and str(given).strip().lower() == NONE:
        return Choice(None, "--classifier none asks for no classifier")
    if tuple(shape) != (28, 28, 1):
        return Choice(None, f"no classifier here reads {'x'.join(map(str, shape))} images")
    named = Path(given).expanduser() if given else None
    if named is None and os.environ.get(ENV["classifier"]):
        named = files.resolve("classifier")[0]
    if named is None and datasets.kind(source) is None:
        return Choice(
            None, f"no classifier here reads {source}: it is neither MNIST nor Fashion-MNIST"
        )
    if images is None:
        images = data.load(source, "test", log=lambda m: None)[0]
    kind, read = identify(images)
    shown = source or "the default data"
    if named is not None:
        flag = "--classifier" if given else f"${ENV['classifier']}"
        own = _shipped_kind(named)
        sure = confidence(load_classifier(named), images)
        floor = FITS[own] if own else MIN_CONFIDENCE
        if (own and kind and own != kind) or sure < floor:
            what = f"{datasets.title(kind)} images" if kind else "images"
            fix = (
                f"drop {flag} for the {datasets.title(kind)} one"
                if kind
                else f"pass --classifier one trained on them ({TRAIN_HINT} --data {shown})"
            )
            raise ValueError(
                f"{flag} {named} does not read {shown}: its mean confidence on "
                f"{min(PROBE, len(images))} "
                f"of its {what} is {sure:.2f}, below the {floor} of a classifier of their own "
                f"data: {fix}, or pass --classifier none"
            )
        return Choice(named, flag, kind)
    if kind is None:
        said = ", ".join(f"{datasets.title(k)}'s {v:.2f} (< {FITS[k]})" for k, v in read.items())
        return Choice(
            None,
            f"no classifier here reads {shown} (mean confidence {said}): pass --classifier "
            f"one trained on them ({TRAIN_HINT} --data {shown}), or --classifier none",
        )
    path, where = files.resolve(datasets.CLASSIFIERS[kind])
    where = where if where != "shipped" else f"the shipped {datasets.title(kind)} classifier"
    return Choice(path, where, kind)


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

    model = trust.load_keras_model(path, TRAIN_HINT)
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
