"""Where the digits come from: Keras's loader, a `.npz`, an IDX folder or the bundled sample.

Everything ends as uint8 arrays (n, 28, 28); `make_dataset` turns them into a `tf.data` pipeline
of float images in [-1, 1].
"""

import gzip
import os
from pathlib import Path
import zipfile

import numpy as np

from dcgan.files import ENV, NUM_CLASSES

ENV_VAR = ENV["data"]
SAMPLE_PATH = Path(__file__).with_name("mnist_sample.npz")
# Where Debian's dataset-fashion-mnist package puts its IDX files.
FASHION_DIRS = ("/usr/share/datasets/fashion-mnist",)
FIX = (
    "pass --data a Keras-format .npz (x_train, y_train, x_test, y_test) or a folder of "
    "MNIST IDX files"
)


def load(source=None, split="train", log=print):
    """Returns (images uint8 (n, 28, 28), labels uint8 (n,), description).

    source: None (then $DCGAN_DATA, then Keras's MNIST, then the bundled sample), "mnist",
    "fashion_mnist", "sample", a `.npz` path or a folder of IDX files.
    Raises FileNotFoundError (no such data) or ValueError (data that is not MNIST-shaped).
    """
    from_env = not source and bool(os.environ.get(ENV_VAR))
    source = source or os.environ.get(ENV_VAR) or "mnist"
    if source == "sample":
        return (*_read_npz(SAMPLE_PATH, split), "bundled MNIST sample")
    if source in ("mnist", "fashion_mnist"):
        import keras

        try:
            (xtr, ytr), (xte, yte) = getattr(keras.datasets, source).load_data()
            return (xtr, ytr, source) if split == "train" else (xte, yte, source)
        except Exception as e:  # no network, a broken cache: both mean "not here"
            reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        if source == "fashion_mnist":
            for d in FASHION_DIRS:
                if Path(d).is_dir():
                    return (*_read_idx_dir(Path(d), split), f"fashion_mnist ({d})")
            raise FileNotFoundError(
                f"Fashion-MNIST could not be downloaded ({reason}); "
                "install dataset-fashion-mnist or pass --data a folder of its IDX files"
            )
        log(
            f"MNIST could not be downloaded ({reason}); using the bundled sample of 4,000 digits "
            f"(set --data or ${ENV_VAR} to a local mnist.npz for the full set)"
        )
        return (*_read_npz(SAMPLE_PATH, split), "bundled MNIST sample")
    path = Path(source).expanduser()
    if path.is_dir():
        return (*_read_idx_dir(path, split), str(path))
    if not path.exists():
        where = f" (from ${ENV_VAR})" if from_env else ""
        raise FileNotFoundError(
            f"data {source!r}{where} not found: {FIX}, or use mnist, fashion_mnist or sample"
        )
    return (*_read_npz(path, split), str(path))


def _check(x, y, where):
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"{where} holds images of shape {x.shape}, expected (n, 28, 28): {FIX}")
    if len(x) == 0:
        raise ValueError(f"{where} holds no images: {FIX}")
    if y is not None and len(y) != len(x):
        raise ValueError(f"{where} has {len(x)} images but {len(y)} labels: {FIX}")
    if x.dtype != np.uint8:
        if not np.issubdtype(x.dtype, np.number) or x.min() < 0 or x.max() > 255:
            raise ValueError(f"{where} pixels must be numbers in 0..255: {FIX}")
        x = np.round(x * 255 if x.max() <= 1 else x).astype(np.uint8)
    y = np.zeros(len(x), np.uint8) if y is None else np.asarray(y).astype(np.int64).ravel()
    return x, y


def _read_npz(path, split):
    key = f"x_{split}"
    try:
        with np.load(path, allow_pickle=False) as f:
            names = f.files
            x = f[key] if key in names else None
            y = f[f"y_{split}"] if f"y_{split}" in names else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"cannot read {path} as .npz ({type(e).__name__}): {FIX}") from None
    if x is None:
        raise ValueError(f"{path} has no {key!r} array (has {', '.join(names) or 'none'}): {FIX}")
    return _check(x, y, str(path))


def load_images(path):
    """(uint8 (n, 28, 28), digits (n,) or None) from the 'images' (and 'digits') arrays of a
    .npz such as `dcgan.generate --out x.npz` writes. Raises FileNotFoundError or ValueError."""
    from dcgan.metrics import check_images

    path = Path(path)
    fix = "pass --images a .npz holding uint8 (n, 28, 28) digits under the key 'images'"
    if not path.is_file():
        raise FileNotFoundError(f"images {path} not found: {fix}")
    try:
        with np.load(path, allow_pickle=False) as f:
            names = f.files
            x = f["images"] if "images" in names else None
            digits = f["digits"] if "digits" in names else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError) as e:
        raise ValueError(f"cannot read {path} as .npz ({type(e).__name__}): {fix}") from None
    if x is None:
        raise ValueError(f"{path} has no 'images' array (has {', '.join(names) or 'none'}): {fix}")
    x = check_images(
        x.reshape(-1, *x.shape[-2:]) if x.ndim == 4 and x.shape[-1] != 1 else x,
        where=f"images in {path}",
    )
    if digits is not None:
        digits = np.asarray(digits).ravel()
        if (
            len(digits) != len(x)
            or not np.issubdtype(digits.dtype, np.integer)
            or digits.min() < 0
            or digits.max() >= NUM_CLASSES
        ):
            raise ValueError(f"{path}: 'digits' must hold one digit 0-9 per image: {fix}")
    return x, digits


def read_idx(path):
    """Parses one IDX file (raw or .gz) into a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"cannot read IDX file {path} ({type(e).__name__}): {FIX}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file: {FIX}")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = raw[4 + 4 * ndim :]
    if len(body) != int(np.prod(dims)):
        raise ValueError(
            f"{path} is truncated: header says {dims}, file has {len(body)} bytes; "
            f"download it again, or {FIX}"
        )
    return np.frombuffer(body, np.uint8).reshape(dims)


def _read_idx_dir(folder, split):
    prefix = "train" if split == "train" else "t10k"
    found = {}
    for kind, idx in (("images", "idx3"), ("labels", "idx1")):
        names = [f"{prefix}-{kind}-{idx}-ubyte", f"{prefix}-{kind}.{idx}-ubyte"]
        hits = [
            folder / (n + ext)
            for n in names
            for ext in ("", ".gz")
            if (folder / (n + ext)).exists()
        ]
        if not hits:
            raise ValueError(f"{folder} has no {names[0]}[.gz]: {FIX}")
        found[kind] = read_idx(hits[0])
    return _check(found["images"], found["labels"], str(folder))


def to_float(images):
    """uint8 (or any 0..255 numbers) -> float32 in [-1, 1], with a channel axis."""
    import tensorflow as tf

    x = tf.cast(images, tf.float32)
    if x.shape.rank == 3:
        x = x[..., None]
    return (x - 127.5) / 127.5


def make_dataset(images, batch_size, seed=None, repeat=False, digits=None):
    """Shuffled, batched (remainder dropped), prefetched float batches from uint8 images;
    (images, int32 digits) batches when `digits` are given (a conditional GAN's data).

    The uint8 array stays in memory (47 MB for MNIST) and is scaled per batch, which is cheaper
    than holding or scaling float copies.
    """
    import tensorflow as tf

    if digits is None:
        ds, scale = tf.data.Dataset.from_tensor_slices(images), to_float
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, np.asarray(digits, np.int32)))
        scale = lambda x, y: (to_float(x), y)
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    opts = tf.data.Options()
    opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(opts)
