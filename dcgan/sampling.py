"""Use a generator: load it from any saved format, draw digits from it, lay them out in a grid."""
from pathlib import Path

import numpy as np

from dcgan.errors import UsageError


class SavedModelGenerator:
    """A generator exported as a SavedModel, with the bits of the Keras API that `generate` uses."""

    def __init__(self, path):
        import tensorflow as tf
        self._loaded = tf.saved_model.load(str(path))
        self._fn = self._loaded.signatures["serving_default"]
        # Signature functions take keyword arguments only (named after the exported input).
        (self._input_name, spec), = self._fn.structured_input_signature[1].items()
        self._dtype = spec.dtype
        self.input_shape = tuple(spec.shape)
        self.output_shape = (None, *list(self._fn.structured_outputs.values())[0].shape[1:])

    def __call__(self, z, training=False):
        import tensorflow as tf
        z = tf.convert_to_tensor(z, self._dtype)  # numpy arrays too, not only tensors
        return list(self._fn(**{self._input_name: z}).values())[0]

    def predict(self, z, verbose=0):
        return np.asarray(self(z))


def load_generator(path):
    """A generator from `.h5`, `.keras` or a SavedModel folder, with the shapes checked."""
    import keras
    path = Path(path)
    if not path.exists():
        raise UsageError(f"model {path} not found: pass --model a generator .h5, .keras or "
                         "SavedModel folder")
    try:
        if path.is_dir():
            model = SavedModelGenerator(path)
        else:
            model = keras.models.load_model(path, compile=False)
    except Exception as e:
        raise UsageError(f"{path} is not a loadable Keras model or SavedModel "
                         f"({type(e).__name__}): pass --model a generator saved by dcgan.train") from None
    try:
        in_shape, out_shape = tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError):  # a model with no fixed input, or several
        in_shape, out_shape = (), ()
    if (len(in_shape) != 2 or not isinstance(in_shape[1], int)
            or tuple(out_shape[1:]) != (28, 28, 1)):
        raise UsageError(f"{path} maps {in_shape} -> {out_shape}, not latents -> 28x28x1 images; "
                         "is it a discriminator? pass the generator instead")
    return model


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


def generate(generator, n, seed=None, batch_size=1000, z=None):
    """n digits as uint8 (n, 28, 28). The same seed gives the same digits."""
    if n <= 0:
        raise UsageError(f"asked for {n} images; ask for at least 1")
    if z is None:
        z = latents(n, generator.input_shape[-1], seed)
    out = [np.asarray(generator(z[i:i + batch_size], training=False))
           for i in range(0, n, batch_size)]
    return to_uint8(np.concatenate(out))


def interpolate(generator, rows, steps, seed=None):
    """`rows` walks of `steps` digits each, uint8 (rows, steps, 28, 28).

    Each row goes in a straight line through latent space from one random latent vector to
    another, both ends included; the same seed gives the same walks.
    """
    if rows <= 0 or steps < 2:
        raise UsageError(f"asked for {rows} rows of {steps} steps; ask for at least 1 row of 2 steps")
    z = np.asarray(latents(2 * rows, generator.input_shape[-1], seed), np.float32)
    start, end = z[:rows, None, :], z[rows:, None, :]
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
    path = ((1.0 - t) * start + t * end).reshape(rows * steps, -1)
    return generate(generator, rows * steps, z=path).reshape(rows, steps, 28, 28)


def grid(images, cols=None, pad=2):
    """uint8 (n, h, w) -> one uint8 image, `cols` per row (default: as square as fits)."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad), np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = img
    return out


def save_grid(images, path, cols=None, scale=3):
    """Writes uint8 (n, 28, 28) digits as one PNG grid, scaled up `scale` times for viewing."""
    import matplotlib.image
    g = grid(images, cols)
    g = np.kron(g, np.ones((scale, scale), np.uint8)) if scale > 1 else g
    matplotlib.image.imsave(str(path), g, cmap="gray", vmin=0, vmax=255)
    return path
