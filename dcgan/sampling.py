"""Use a generator: load it from any saved format, draw images from it (`dcgan.images` writes
them).

A generator draws square images of side 28, 32 or 64 with 1 or 3 channels (`--image-size`,
`--channels`); as uint8 a greyscale image is (side, side) and a colour one (side, side, 3)
(`image_shape`), and every function here takes either."""

import functools
from pathlib import Path
import sys

import keras
import numpy as np

from dcgan import datasets, files, noise, trust
from dcgan.images import collect, image_dims
from dcgan.models import is_conditional, latent_dim, num_classes
from dcgan.settings import CHANNELS, IMAGE_SIZES

BATCH = 1000  # images per call of the generator


class SavedModelGenerator:
    """A generator exported as a SavedModel, with the bits of the Keras API that `generate` uses."""

    def __init__(self, path):
        import tensorflow as tf

        self._loaded = tf.saved_model.load(str(path))
        self._fn = self._loaded.signatures["serving_default"]
        # Signature functions take keyword arguments only (named after the exported inputs); a
        # conditional generator's second input is the integer one.
        specs = sorted(
            self._fn.structured_input_signature[1].items(), key=lambda kv: kv[1].dtype.is_integer
        )
        self._inputs = [(name, spec.dtype) for name, spec in specs]
        shapes = [tuple(spec.shape) for _, spec in specs]
        self.input_shape = shapes if len(shapes) > 1 else shapes[0]
        self.output_shape = (None, *list(self._fn.structured_outputs.values())[0].shape[1:])

    def __call__(self, inputs, training=False):
        import tensorflow as tf

        inputs = inputs if len(self._inputs) > 1 else [inputs]
        # numpy arrays too, not only tensors
        kwargs = {
            name: tf.convert_to_tensor(x, dtype) for (name, dtype), x in zip(self._inputs, inputs)
        }
        return list(self._fn(**kwargs).values())[0]

    def predict(self, z, verbose=0):
        return np.asarray(self(z))


def load_generator(path):
    """Loads a generator saved by `dcgan.train` (or any Keras model of the same shapes).

    Args:
        path: a `.h5` or `.keras` file or a Keras model folder (`files.is_keras_folder`: a
            shipped model's, a Hugging Face Hub download), loaded in Keras's safe mode; or a
            SavedModel folder (which runs whatever graph it holds: load only folders you trust).
    Returns:
        A model mapping latents (n, latent_dim), or [latents, classes (n,) int] for a
        conditional generator, to images (n, s, s, c) in [-1, 1]: s 28, 32 or 64, c 1 or 3.
    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: `path` does not load, or is not a generator (a discriminator, say).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"model {path} not found: pass --model a generator .h5, .keras or SavedModel folder"
        )
    fix, what = "pass --model a generator saved by dcgan.train", "Keras model or SavedModel"
    try:
        if path.is_dir() and not files.is_keras_folder(path):
            model = SavedModelGenerator(path)
        else:  # a Keras file, or a Keras model folder (a shipped one, a Hub download)
            model = trust.load_keras_model(path, fix, what)
    except Exception as e:
        if isinstance(e, ValueError) and str(e).startswith(str(path)):  # trust's own one line
            raise
        raise trust.unloadable(path, e, fix, what) from None
    try:
        in_shape, out_shape = model.input_shape, tuple(model.output_shape)
        if is_conditional(model):  # [latents, classes]
            in_shape = in_shape[0] if tuple(in_shape[1]) == (None,) else ()
        in_shape = tuple(in_shape)
    except (AttributeError, ValueError, TypeError):  # a model with no fixed input, or several
        in_shape, out_shape = (), ()
    if len(in_shape) != 2 or not isinstance(in_shape[1], int) or not _drawable(out_shape):
        sides = ", ".join(f"{s}x{s}" for s in IMAGE_SIZES)
        raise ValueError(
            f"{path} maps {model.input_shape} -> {out_shape}, not latents (and a digit) "
            f"-> {sides} images of {' or '.join(map(str, CHANNELS))} channels; is it a "
            "discriminator? pass the generator instead"
        )
    if in_shape[1] > trust.MAX_INPUT_VALUES:  # a SavedModel's, unchecked before it loaded
        raise ValueError(
            f"{path} takes {in_shape[1]:,} latents, more than the {trust.MAX_INPUT_VALUES:,} "
            "a digit's generator takes: pass a generator saved by dcgan.train"
        )
    model._dcgan_source = str(path)  # named by the errors about what it draws
    if is_conditional(model):
        # its classes' names, as the run's settings beside it say them: never guessed
        names = datasets.class_names(datasets.run_config(path))
        model._dcgan_class_names = names if names and len(names) == num_classes(model) else None
    # A few images now, so that a generator whose weights went bad fails before any work.
    z = np.zeros((2, in_shape[1]), np.float32)
    probe = [z, np.arange(2)] if is_conditional(model) else z
    check_finite(model, model(probe, training=False))
    return model


def _drawable(out_shape):
    """Whether a model's output shape is a batch of images a generator here draws."""
    shape = tuple(out_shape)[1:]
    return len(shape) == 3 and shape[0] == shape[1] in IMAGE_SIZES and shape[2] in CHANNELS


def image_shape(generator):
    """The shape of one uint8 image `generator` draws (`to_uint8`): (side, side) greyscale,
    (side, side, 3) colour."""
    side, _, channels = tuple(generator.output_shape)[1:]
    return (side, side) if channels == 1 else (side, side, channels)


def check_finite(generator, images):
    """`images` as float32 numpy; ValueError naming the generator when any value is NaN or
    infinite (drawn as black, such digits would pass for output)."""
    x = np.asarray(images, np.float32)
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        name = getattr(generator, "_dcgan_source", None) or getattr(generator, "name", "")
        raise ValueError(
            f"the generator {name} drew {bad:,} NaN or infinite pixel values, not digits (its "
            "weights went bad, or it is not a trained generator): pass --model another one"
        )
    return x


def class_names(generator):
    """The names of a conditional generator's classes, from the settings of the run it was
    loaded from (`load_generator`: its folder's subfolders, or its dataset's), or None where
    those do not say (then its classes are known by number only)."""
    return getattr(generator, "_dcgan_class_names", None)


def class_label(generator, c):
    """Class `c` in words: "7" for a digit or a class with no known name, "7 (Sneaker)"."""
    names = class_names(generator)
    return str(c) if not names or names[c] == str(c) else f"{c} ({names[c]})"


def class_index(generator, cls):
    """The index of class `cls` of a conditional generator: a whole number below its number
    of classes, or one of its class names (`class_names`), in any case; a name wins over a
    number (a folder of classes named 10, 2, ... numbers them in their sorted order).
    ValueError naming the classes it has."""
    k = num_classes(generator)
    if isinstance(cls, (int, np.integer)) and not isinstance(cls, bool):
        text = str(int(cls))
    else:
        text = str(cls).strip()
    names = class_names(generator) or ()
    for same in (lambda a: a, str.casefold):
        hits = [i for i, name in enumerate(names) if same(name) == same(text)]
        if hits:
            return hits[0]
    if text.isascii() and text.isdigit() and int(text) < k:
        return int(text)
    if names and any(name != str(i) for i, name in enumerate(names)):
        more = f", ... ({k:,} in all)" if k > MAX_NAMES_SHOWN else ""
        known = (
            f"its classes are {', '.join(names[:MAX_NAMES_SHOWN])}{more}, or 0-{k - 1} by number"
        )
    elif names:  # digits
        known = f"its classes are 0-{k - 1}"
    else:
        known = (
            f"its classes are 0-{k - 1} (what they are is unknown: no run settings, "
            "run.json or config.json, beside it name them), so ask for one by number"
        )
    where = getattr(generator, "_dcgan_source", None) or "this generator"
    raise ValueError(f"{text!r} is not a class of {where}: {known}")


# Class names an error lists before "...": a folder run may have a thousand.
MAX_NAMES_SHOWN = 20


def check_classes(generator, classes, n):
    """The classes a generator is asked for, as int32 (n,): by number or name (`class_index`),
    one for all or n of them; None means each class in turn for a conditional generator (every
    class equally often) and nothing for another one."""
    if not is_conditional(generator):
        if classes is not None:
            raise ValueError(
                "this generator does not take a digit: pass a conditional one "
                "(trained with --conditional) or drop the digit"
            )
        return None
    if classes is None:
        return np.arange(n, dtype=np.int32) % num_classes(generator)
    if isinstance(classes, str) or (
        isinstance(classes, (list, tuple)) and any(isinstance(d, str) for d in classes)
    ):  # by name
        one = isinstance(classes, str)
        classes = [class_index(generator, d) for d in ([classes] if one else classes)]
        classes = classes[0] if one else classes
    d = np.broadcast_to(np.asarray(classes), (n,))
    k = num_classes(generator)
    if not np.issubdtype(d.dtype, np.integer) or d.min() < 0 or d.max() >= k:
        raise ValueError(f"digits must be whole numbers 0-{k - 1}, got {np.unique(d)[:5]}")
    return d.astype(np.int32)


def latents(n, latent_dim, seed=None, kind="truncated"):
    """n latent vectors, the same for the same seed (drawn as in training)."""
    if seed is None:
        seed = noise.random_seed()
    return noise.latent((n, latent_dim), noise.make_seed(seed), kind)


@functools.cache
def can_draw_rows_alone():
    """Can `noise.truncated_rows` draw rows on their own here? Checked once, against a full
    draw."""
    want = np.asarray(latents(5, 3, seed=11))[1:4]
    return np.array_equal(noise.truncated_rows(3, 11, 1, 4), want)


@functools.lru_cache(maxsize=1)
def full_draw(n, latent_dim, seed):
    """`latents(n, latent_dim, seed)` as float32 numpy, kept for the next slice of it."""
    return np.asarray(latents(n, latent_dim, seed), np.float32)


def latent_rows(n, latent_dim, seed, start, stop):
    """Rows start..stop of `latents(n, latent_dim, seed)`, float32, drawn without the others
    where TensorFlow can (`noise.truncated_rows`), else sliced from one full draw."""
    if can_draw_rows_alone():
        return noise.truncated_rows(latent_dim, seed, start, stop)
    return full_draw(n, latent_dim, seed)[start:stop]


def with_progress(batches, total):
    """`batches` as they come, counted on Keras's progress bar on a terminal; to a log file or a
    pipe, the batches alone (the bar's carriage returns and colours would be noise there).
    `total` is the number of images the batches hold."""
    if not sys.stdout.isatty():
        yield from batches
        return

    bar, done = keras.utils.Progbar(total, unit_name="digit"), 0
    for b in batches:
        done += int(np.prod(np.shape(b)[: -image_dims(np.shape(b))]))
        bar.update(done)
        yield b


def to_uint8(images):
    """[-1, 1] floats (n, s, s[, 1]) -> uint8 (n, s, s); colour (n, s, s, 3) -> uint8 (n, s, s,
    3)."""
    x = np.asarray(images, np.float32)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def generate_batches(generator, n, seed=None, batch_size=None, z=None, classes=None):
    """The images of `generate(...)`, `batch_size` at a time: an iterator of uint8
    (<= batch_size, *image_shape(generator)). Only one batch and its latents are in memory at
    once, so a million images can be written or scored in the memory of one thousand. Same
    arguments and errors as `generate` (raised at once, not at the first batch)."""
    if n <= 0:
        raise ValueError(f"asked for {n} images; ask for at least 1")
    batch_size = batch_size or BATCH
    classes = check_classes(generator, classes, n)
    dim = latent_dim(generator)
    if seed is None and z is None:
        seed = noise.random_seed()

    def batches():
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            zb = (
                latent_rows(n, dim, seed, start, stop)
                if z is None
                else np.asarray(z[start:stop], np.float32)
            )
            inputs = zb if classes is None else [zb, classes[start:stop]]
            yield to_uint8(check_finite(generator, generator(inputs, training=False)))

    return batches()


def generate(generator, n, seed=None, batch_size=None, z=None, classes=None):
    """Draws images from a generator.

    Args:
        generator: from `load_generator` (or a training net).
        n: how many images.
        seed: the same seed gives the same images (default: a random one); the first k of n
            images are the k images drawn with the same seed.
        batch_size: images per call of the generator (default: BATCH).
        z: latents (n, latent_dim) to use instead of drawing them.
        classes: for a conditional generator, the class(es) to draw: one for all, or n, each
            by number or by its run's class name ("Sneaker", a folder's subfolder name; see
            `class_index`) (default: each class in turn).
    Returns:
        uint8 array (n, 28, 28), 0 = black; (n, s, s) or (n, s, s, 3) for a generator of
        other images (`image_shape`). For many images, `generate_batches` gives them a batch
        at a time and `images.write_npz` writes them as they come.
    Raises:
        ValueError: n < 1, classes outside 0-9, or a class for an unconditional generator.
    """
    batches = generate_batches(generator, n, seed, batch_size, z, classes)
    return collect(batches, (n, *image_shape(generator)))


def class_row_batches(generator, per_row, seed=None, batch_size=None, classes=None):
    """`class_rows` a batch at a time: the images of row 0, then row 1, ..., each row in
    batches of at most `batch_size`, uint8 (<= batch_size, *image_shape(generator))."""
    if per_row <= 0:
        raise ValueError(f"asked for rows of {per_row} digits; ask for at least 1")
    classes = range(num_classes(generator)) if classes is None else classes
    classes = [int(c) for c in check_classes(generator, list(classes), len(classes))]
    batch_size = batch_size or BATCH
    dim = latent_dim(generator)
    seed = noise.random_seed() if seed is None else seed

    def batches():
        for class_id in classes:
            for start in range(0, per_row, batch_size):
                stop = min(per_row, start + batch_size)
                z = latent_rows(per_row, dim, seed, start, stop)
                yield from generate_batches(generator, stop - start, z=z, classes=class_id)

    return batches()


def class_rows(generator, per_row, seed=None, classes=None):
    """uint8 (classes, per_row, *image) from a conditional generator: row i holds the i-th of
    `classes` (by number or name; default: all of them, row d the class d), and column j uses
    the same latent vector in every row, so a column keeps one style."""
    count = num_classes(generator) if classes is None else len(classes)
    shape = (count, per_row, *image_shape(generator))
    return collect(class_row_batches(generator, per_row, seed, classes=classes), shape)


def spread_classes(generator, most):
    """At most `most` of a conditional generator's classes, spread evenly from the first to the
    last: all of them when it has no more (a sample grid's rows)."""
    k = num_classes(generator)
    return list(range(k)) if k <= most else sorted(set(np.linspace(0, k - 1, most).astype(int)))


def interpolate_batches(generator, rows, steps, seed=None, class_id=None, batch_size=None):
    """`interpolate` a few rows at a time: an iterator of uint8 (k * steps, *image_shape), whole
    walks of about `batch_size` images, in order."""
    if rows <= 0 or steps < 2:
        raise ValueError(
            f"asked for {rows} rows of {steps} steps; ask for at least 1 row of 2 steps"
        )
    dim = latent_dim(generator)
    seed = noise.random_seed() if seed is None else seed
    conditional = is_conditional(generator)
    if conditional and class_id is not None:
        class_id = int(check_classes(generator, class_id, 1)[0])  # now, not at the first batch
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
    batch_size = batch_size or BATCH
    per_batch = max(1, batch_size // steps)

    def batches():
        for r0 in range(0, rows, per_batch):
            r1 = min(rows, r0 + per_batch)
            start = latent_rows(2 * rows, dim, seed, r0, r1)[:, None, :]
            end = latent_rows(2 * rows, dim, seed, rows + r0, rows + r1)[:, None, :]
            path = ((1.0 - t) * start + t * end).reshape((r1 - r0) * steps, -1)
            classes = None
            if conditional:
                row_classes = (
                    np.arange(r0, r1) % num_classes(generator)
                    if class_id is None
                    else [class_id] * (r1 - r0)
                )
                classes = np.repeat(np.asarray(row_classes), steps)
            yield from generate_batches(
                generator, len(path), z=path, classes=classes, batch_size=batch_size
            )

    return batches()


def interpolate(generator, rows, steps, seed=None, class_id=None):
    """`rows` walks of `steps` images each, uint8 (rows, steps, 28, 28) (per image,
    `image_shape`).

    Each row goes in a straight line through latent space from one random latent vector to
    another, both ends included; the same seed gives the same walks. A conditional generator
    draws `class_id` in every row (default: row r draws the class r mod its class count).
    """
    shape = (rows, steps, *image_shape(generator))
    return collect(interpolate_batches(generator, rows, steps, seed, class_id), shape)
