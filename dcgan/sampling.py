"""Use a generator: load it from any saved format, draw digits from it, lay them out in a grid,
write them as a PNG or an .npz."""

from pathlib import Path

import numpy as np

from dcgan import files
from dcgan.files import IMAGE_FORMATS, NUM_CLASSES
from dcgan.models import is_conditional


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
        path: a `.h5` or `.keras` file (loaded in Keras's safe mode), or a SavedModel folder
            (which runs whatever graph it holds: load only folders you trust).
    Returns:
        A model mapping latents (n, latent_dim), or [latents, digits (n,) int] for a
        conditional generator, to images (n, 28, 28, 1) in [-1, 1].
    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: `path` does not load, or is not a generator (a discriminator, say).
    """
    import keras

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"model {path} not found: pass --model a generator .h5, .keras or SavedModel folder"
        )
    try:
        if path.is_dir():
            model = SavedModelGenerator(path)
        else:
            model = keras.models.load_model(path, compile=False)
    except Exception as e:
        raise ValueError(
            f"{path} is not a loadable Keras model or SavedModel "
            f"({type(e).__name__}): pass --model a generator saved by dcgan.train"
        ) from None
    try:
        in_shape, out_shape = model.input_shape, tuple(model.output_shape)
        if is_conditional(model):  # [latents, digits]
            in_shape = in_shape[0] if tuple(in_shape[1]) == (None,) else ()
        in_shape = tuple(in_shape)
    except (AttributeError, ValueError, TypeError):  # a model with no fixed input, or several
        in_shape, out_shape = (), ()
    if (
        len(in_shape) != 2
        or not isinstance(in_shape[1], int)
        or tuple(out_shape[1:]) != (28, 28, 1)
    ):
        raise ValueError(
            f"{path} maps {model.input_shape} -> {out_shape}, not latents (and a digit) "
            "-> 28x28x1 images; is it a discriminator? pass the generator instead"
        )
    return model


def latent_dim(generator):
    shape = generator.input_shape
    return (shape[0] if is_conditional(generator) else shape)[-1]


def check_digits(generator, digits, n):
    """The digits a generator is asked for, as int32 (n,): None means 0-9 in turn for a
    conditional generator (every digit equally often) and nothing for another one."""
    if not is_conditional(generator):
        if digits is not None:
            raise ValueError(
                "this generator does not take a digit: pass a conditional one "
                "(trained with --conditional) or drop the digit"
            )
        return None
    if digits is None:
        return np.arange(n, dtype=np.int32) % NUM_CLASSES
    d = np.broadcast_to(np.asarray(digits), (n,))
    if not np.issubdtype(d.dtype, np.integer) or d.min() < 0 or d.max() >= NUM_CLASSES:
        raise ValueError(
            f"digits must be whole numbers 0-{NUM_CLASSES - 1}, got {np.unique(d)[:5]}"
        )
    return d.astype(np.int32)


def latents(n, latent_dim, seed=None, kind="truncated"):
    """n latent vectors, the same for the same seed (drawn as in training)."""
    from dcgan import noise

    if seed is None:
        seed = int(np.random.default_rng().integers(2**31))
    return noise.latent((n, latent_dim), noise.make_seed(seed), kind)


def to_uint8(images):
    """[-1, 1] floats (n, 28, 28[, 1]) -> uint8 (n, 28, 28)."""
    x = np.asarray(images, np.float32)
    if x.ndim == 4:
        x = x[..., 0]
    return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def generate(generator, n, seed=None, batch_size=1000, z=None, digits=None):
    """Draws digits from a generator.

    Args:
        generator: from `load_generator` (or a training net).
        n: how many digits.
        seed: the same seed gives the same digits (default: a random one).
        batch_size: digits per call of the generator.
        z: latents (n, latent_dim) to use instead of drawing them.
        digits: for a conditional generator, the digit(s) to draw: one int for all, or n ints
            (default: 0-9 in turn).
    Returns:
        uint8 array (n, 28, 28), 0 = black.
    Raises:
        ValueError: n < 1, digits outside 0-9, or a digit for an unconditional generator.
    """
    if n <= 0:
        raise ValueError(f"asked for {n} images; ask for at least 1")
    digits = check_digits(generator, digits, n)
    z = np.asarray(latents(n, latent_dim(generator), seed) if z is None else z, np.float32)
    batches = [
        z[i : i + batch_size]
        if digits is None
        else [z[i : i + batch_size], digits[i : i + batch_size]]
        for i in range(0, n, batch_size)
    ]
    return to_uint8(np.concatenate([np.asarray(generator(b, training=False)) for b in batches]))


def digit_rows(generator, per_row, seed=None):
    """uint8 (10, per_row, 28, 28) from a conditional generator: row d holds the digit d, and
    column j uses the same latent vector in every row, so a column keeps one style."""
    z = np.asarray(latents(per_row, latent_dim(generator), seed), np.float32)
    digits = np.repeat(np.arange(NUM_CLASSES, dtype=np.int32), per_row)
    images = generate(
        generator, NUM_CLASSES * per_row, z=np.tile(z, (NUM_CLASSES, 1)), digits=digits
    )
    return images.reshape(NUM_CLASSES, per_row, 28, 28)


def interpolate(generator, rows, steps, seed=None, digit=None):
    """`rows` walks of `steps` digits each, uint8 (rows, steps, 28, 28).

    Each row goes in a straight line through latent space from one random latent vector to
    another, both ends included; the same seed gives the same walks. A conditional generator
    draws `digit` in every row (default: row r draws the digit r mod 10).
    """
    if rows <= 0 or steps < 2:
        raise ValueError(
            f"asked for {rows} rows of {steps} steps; ask for at least 1 row of 2 steps"
        )
    z = np.asarray(latents(2 * rows, latent_dim(generator), seed), np.float32)
    start, end = z[:rows, None, :], z[rows:, None, :]
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
    path = ((1.0 - t) * start + t * end).reshape(rows * steps, -1)
    digits = None
    if is_conditional(generator):
        digits = np.repeat(
            np.arange(rows) % NUM_CLASSES if digit is None else np.full(rows, digit), steps
        )
    return generate(generator, rows * steps, z=path, digits=digits).reshape(rows, steps, 28, 28)


def grid(images, cols=None, pad=2):
    """uint8 (n, h, w) -> one uint8 image, `cols` per row (default: as square as fits)."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad), np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = img
    return out


def save_grid(images, path, cols=None, scale=3):
    """Writes digits as one PNG grid, atomically.

    Args:
        images: uint8 (n, 28, 28), as `generate` returns.
        path: the .png to write.
        cols: digits per row (default: as square as fits).
        scale: each pixel becomes scale x scale, for viewing.
    Returns:
        `path`.
    Raises:
        OSError: `path` cannot be written (nothing is left behind).
    """
    import matplotlib.image

    g = grid(images, cols)
    g = np.kron(g, np.ones((scale, scale), np.uint8)) if scale > 1 else g
    with files.atomic_path(path) as tmp:
        matplotlib.image.imsave(str(tmp), g, cmap="gray", vmin=0, vmax=255, format="png")
    return path


def save_images(images, path, seed=None, cols=None, digits=None):
    """Writes digits to `path`: a .png grid (`save_grid`), or an .npz holding `images` (and
    `seed` and the `digits` asked for, when given), atomically. Returns `path`."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_FORMATS:
        raise ValueError(
            f"{path}: unknown extension {path.suffix or '(none)'!r}; "
            "use .png for a grid or .npz for the arrays"
        )
    if path.suffix.lower() == ".png":
        return save_grid(images.reshape(-1, *images.shape[-2:]), path, cols=cols)
    extra = {} if digits is None else {"digits": np.asarray(digits, np.uint8)}
    if seed is not None:
        extra["seed"] = np.int64(seed)
    with files.atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, images=images, **extra)
    return path
