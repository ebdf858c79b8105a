"""What the scores read your own images with, where no shipped classifier knows them (a folder
of your own pictures, or `--classifier none`): features that a noise image, a black square or
a blurred picture cannot pass off as real (`dcgan.metrics.own_scores` scores in them).

- `random_net`: a convnet with fixed random weights (a seeded He normal draw, the same on every
  machine), its ReLU maps averaged at each scale (28 -> 14 -> 7; 64 -> ... -> 8), 224-352
  features. Random conv features see contrast, edges and texture at several scales, which pixel
  distances do not (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative
  Models", use random-weight embeddings for data that no pretrained net knows).
- `train_folder_classifier`: where the folder has classes, `dcgan.classifier`'s network trained
  on it for a few seconds, read at its penultimate layer: features that know what each class
  looks like. A classifier alone is blind to what it was never shown (noise lands among the
  real images in its features), so its features are always read beside the random ones.
"""

import math
from pathlib import Path

import keras
import numpy as np

from dcgan import classifier as classifiers
from dcgan import trust
from dcgan.classifier import FEATURES_LAYER

# The random net: the first scale's width (doubling per scale, at most WIDEST), and the side
# the maps are halved down to.
WIDTH, WIDEST, SMALLEST = 32, 128, 8
NET_SEED = 0
# The folder classifier: at most this many of the folder's images, for at least this many
# steps of 64 (~10 s on 2 CPU cores at 28x28).
CLASSIFIER_IMAGES = 10_000
CLASSIFIER_STEPS, CLASSIFIER_BATCH = 150, 64


def image_shape(images):
    """uint8 images (n, side, side[, 3 or 1]) as (images (n, side, side, c), (side, side, c));
    ValueError for anything else."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if (
        x.ndim != 4
        or x.dtype != np.uint8
        or len(x) == 0
        or x.shape[1] != x.shape[2]
        or x.shape[3] not in (1, 3)
    ):
        raise ValueError(
            f"images have shape {x.shape} ({x.dtype}), expected uint8 (n, side, side[, 3])"
        )
    return x, tuple(x.shape[1:])


def random_net(shape):
    """The fixed random feature net for images of `shape` (side, side, channels): uint8-valued
    input, ReLU maps of 3x3 convolutions (stride 1, then 2 until the side is SMALLEST or less),
    each averaged over the image and concatenated."""
    rng = np.random.default_rng(NET_SEED)
    inputs = keras.Input(shape)
    x = keras.layers.Rescaling(1 / 127.5, -1.0, dtype="float32")(inputs)  # as the nets see them
    side, fan_in, width, pooled = shape[0], shape[2], WIDTH, []
    while True:
        stride = 1 if not pooled else 2
        conv = keras.layers.Conv2D(width, 3, stride, "same", activation="relu", dtype="float32")
        x = conv(x)
        # He normal, drawn by numpy: the same net under either backend and any Keras version
        kernel = rng.normal(0.0, math.sqrt(2.0 / (9 * fan_in)), (3, 3, fan_in, width))
        conv.set_weights([kernel.astype("float32"), np.zeros(width, "float32")])
        pooled.append(keras.layers.GlobalAveragePooling2D(dtype="float32")(x))
        side, fan_in = math.ceil(side / stride), width
        if side <= SMALLEST:
            break
        width = min(2 * width, WIDEST)
    return keras.Model(inputs, keras.layers.Concatenate(dtype="float32")(pooled), name="random")


# Image statistics (`statistics`): bin edges of grey levels and of gradient magnitudes (grey
# levels a pixel), the scales gradients are taken at, and the spectrum's radial bands (of the
# Nyquist frequency).
LEVELS = (0, 16, 48, 96, 144, 192, 240, 256)
GRADIENTS = (0, 1, 2, 4, 8, 16, 32, 64, 128, np.inf)
SCALES = (1, 2, 4)
BANDS = (0.0, 0.125, 0.25, 0.5, 1.0, np.inf)


def statistics(x):
    """uint8 (n, side, side, c) -> float64 (n, STATISTICS): per image, the share of grey
    pixels at each level, of gradient magnitudes in each bin at 1, 2 and 4 pixel scales (2x2
    and 4x4 block means), and of the spectrum's energy (bar the mean) in each radial band.
    Blur moves gradient and spectral energy to the low bins, noise to the high ones, and a
    constant image has none: what no-reference blur and noise measures read (Marziliano et
    al. 2002, edge widths; Liu et al. 2008, gradient and spectral features of blur)."""
    grey = x.astype(np.float64).mean(-1)
    n, side = grey.shape[:2]
    out = [_shares(grey, LEVELS)]
    for s in SCALES:
        g = grey[:, : side - side % s, : side - side % s]
        g = g.reshape(n, side // s, s, side // s, s).mean((2, 4))
        magnitude = np.hypot(np.diff(g, axis=1)[:, :, :-1], np.diff(g, axis=2)[:, :-1, :])
        out.append(_shares(magnitude, GRADIENTS))
    power = np.abs(np.fft.fft2(grey - grey.mean((1, 2), keepdims=True))) ** 2
    f = np.fft.fftfreq(side) * 2  # 1 = Nyquist
    radius = np.hypot(f[:, None], f[None, :])
    band = np.digitize(radius, BANDS[1:-1])
    energy = np.stack([power[:, band == b].sum(1) for b in range(len(BANDS) - 1)], 1)
    out.append(energy / np.maximum(energy.sum(1, keepdims=True), 1e-12))
    return np.concatenate(out, 1)


STATISTICS = len(LEVELS) - 1 + len(SCALES) * (len(GRADIENTS) - 1) + len(BANDS) - 1


def _shares(values, edges):
    """The share of each image's `values` in each bin of `edges`, (n, bins)."""
    n = len(values)
    counts = np.stack([np.histogram(v, edges)[0] for v in values.reshape(n, -1)])
    return counts / counts.sum(1, keepdims=True)


class Reader:
    """Reads uint8 images into feature blocks: the random net's, and a folder classifier's
    penultimate layer when there is one. `describe` says what it reads with, in words."""

    def __init__(self, shape, classifier=None, classifier_note=None):
        self.shape = tuple(shape)
        self.nets = [random_net(self.shape)]
        if classifier is not None:
            self.nets.append(
                keras.Model(classifier.inputs[0], classifier.get_layer(FEATURES_LAYER).output)
            )
        self.classifier_note = classifier_note

    @property
    def describe(self):
        dims = [int(net.output_shape[-1]) for net in self.nets]
        parts = [
            f"{dims[0]} features of a fixed random multi-scale convnet",
            f"{STATISTICS} image statistics (grey levels, gradients, spectrum)",
        ]
        if len(dims) > 1:
            parts.append(f"{dims[1]} of {self.classifier_note}")
        return ", ".join(parts[:-1]) + " and " + parts[-1]

    def __call__(self, images, batch_size=500):
        """uint8 (n, side, side[, c]), or an iterator of batches of them -> a list of float64
        feature blocks (n, d), one per net. Only the features are kept."""
        if not hasattr(images, "__next__"):
            images = [images]
        blocks = [[] for _ in range(len(self.nets) + 1)]
        for batch in images:
            x, shape = image_shape(batch)
            if shape != self.shape:
                raise ValueError(
                    f"images are {'x'.join(map(str, shape))}, the real ones they are scored "
                    f"against {'x'.join(map(str, self.shape))}"
                )
            for i in range(0, len(x), batch_size):
                part = x[i : i + batch_size].astype("float32")
                for out, net in zip(blocks, self.nets):
                    out.append(np.asarray(net(part, training=False), np.float64))
            blocks[-1].append(statistics(x))
        return [np.concatenate(b) for b in blocks]


def train_folder_classifier(images, classes, n_classes, seed=0):
    """`dcgan.classifier`'s network for images of this shape and `n_classes` classes, trained on
    (at most CLASSIFIER_IMAGES of) `images` uint8 (n, side, side[, c]) with their `classes`
    for CLASSIFIER_STEPS steps; returns (model, accuracy on the images it trained on)."""
    x, shape = image_shape(images)
    y = np.asarray(classes).astype(np.int64)
    pick = np.random.default_rng(seed).permutation(len(x))[:CLASSIFIER_IMAGES]
    x, y = x[pick].astype("float32"), y[pick]
    keras.utils.set_random_seed(seed)
    model = classifiers.build_classifier(shape=shape, classes=n_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    steps = max(1, math.ceil(len(x) / CLASSIFIER_BATCH))
    model.fit(
        x,
        y,
        batch_size=CLASSIFIER_BATCH,
        epochs=max(1, math.ceil(CLASSIFIER_STEPS / steps)),
        verbose=0,
        shuffle=True,
    )
    probs = model.predict(x, batch_size=500, verbose=0)
    return model, float(np.mean(probs.argmax(1) == y))


def _load_kept(path, shape, classes):
    """A kept classifier, checked as any model file from a run folder is (it may come from
    elsewhere), or None when it does not load or does not fit the folder."""
    try:
        model = trust.load_keras_model(path)
        fits = tuple(model.input_shape[1:]) == shape and model.output_shape[1:] == (len(classes),)
        return model if fits and FEATURES_LAYER in [x.name for x in model.layers] else None
    except Exception:  # noqa: BLE001 (whatever it is, training anew replaces it)
        return None


def folder_classifier(folder, cache_dir=None, seed=0, log=print):
    """The classifier of an `ImageFolder` with two or more classes, trained once and kept as
    `classifier_<folder digest>_<shape>.h5` in `cache_dir` (a run's folder; None: not kept):
    (model, words saying what it is), or (None, None) for a folder without classes."""
    if not folder.classes or len(folder.classes) < 2:
        return None, None
    shape = f"{folder.size}x{folder.size}x{folder.channels}"
    name = f"classifier_{folder.digest}_{shape}.h5"
    what = f"a classifier of its {len(folder.classes)} classes"
    cached = Path(cache_dir) / name if cache_dir is not None else None
    if cached is not None and cached.is_file():
        model = _load_kept(cached, (folder.size, folder.size, folder.channels), folder.classes)
        if model is not None:
            return model, f"{what} ({cached})"
        log(f"warning: {cached} is not the classifier this folder needs: training it again")
    n = min(folder.count, CLASSIFIER_IMAGES)
    log(
        f"training a classifier of the {len(folder.classes)} classes on {n:,} images of "
        f"{folder.source} to score in its features"
    )
    pick = np.random.default_rng(seed).permutation(folder.count)[:n]
    images = folder.sample(n, seed=seed)  # the same pick
    model, accuracy = train_folder_classifier(images, folder.class_ids[pick], len(folder.classes))
    what += f", {accuracy:.0%} right on them"
    if cached is not None:
        try:
            classifiers.save_classifier(model, cached)
            what += f" (kept as {cached})"
        except OSError as e:
            log(
                f"warning: cannot keep the classifier in {cached} ({e.strerror}): it is "
                "trained anew next time"
            )
    return model, what
